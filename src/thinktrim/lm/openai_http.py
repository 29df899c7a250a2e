"""One POST to an OpenAI-compatible `/v1/chat/completions`, with a timeout and retries with backoff.

Shared by everything that talks to such a server (the generation backend, the step judge).
"""

from __future__ import annotations

import os
import time
from typing import Any

from thinktrim.errors import UserError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class ServerError(UserError, RuntimeError):
    """The server failed (or kept failing) to answer a request: a user error, the server being theirs to fix.
    `reason` says how in a few words (`HTTP 503`, `ConnectError`, `malformed reply`), for counters."""

    def __init__(self, message: str, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


def chat_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    return (base if base.endswith("/v1") else base + "/v1") + "/chat/completions"


def check_server(client: Any, base_url: str, timeout_s: float = 10.0, api_key: str | None = None) -> None:
    """Fail fast (ServerError) when nothing answers at `base_url` or it refuses the key: GET `/v1/models`.

    Any other answer, even an error status, means a server is there.
    """
    import httpx

    key = api_key or os.environ.get("OPENAI_API_KEY") or "none"
    url = chat_url(base_url).removesuffix("/chat/completions") + "/models"
    try:
        resp = client.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout_s)
    except (httpx.TransportError, httpx.InvalidURL) as e:
        raise ServerError(f"{base_url}: cannot connect ({type(e).__name__}: {e or 'no answer'})",
                          type(e).__name__) from None
    if resp.status_code in (401, 403):
        raise ServerError(f"{base_url}: the server refused the API key (HTTP {resp.status_code}; set OPENAI_API_KEY)",
                          f"HTTP {resp.status_code}")


def post_chat(
    client: Any,
    base_url: str,
    payload: dict[str, Any],
    timeout_s: float = 60.0,
    retries: int = 3,
    backoff_s: float = 1.0,
    api_key: str | None = None,
) -> dict[str, Any]:
    """POST `payload` and return the decoded JSON; retries transport errors and 408/429/5xx responses."""
    import httpx

    key = api_key or os.environ.get("OPENAI_API_KEY") or "none"
    headers = {"Authorization": f"Bearer {key}"}
    url = chat_url(base_url)
    last = reason = ""
    for attempt in range(retries + 1):
        try:
            resp = client.post(url, json=payload, headers=headers, timeout=timeout_s)
            if resp.status_code == 200:
                return resp.json()
            reason = f"HTTP {resp.status_code}"
            last = f"{reason}: {resp.text[:300]}"
            if resp.status_code not in RETRY_STATUS:
                break
        except (httpx.TransportError, ValueError) as e:
            reason, last = type(e).__name__, f"{type(e).__name__}: {e}"
        if attempt < retries:
            time.sleep(backoff_s * 2**attempt)
    raise ServerError(f"{url}: {last} (after {retries + 1} attempt(s))", reason)


def first_choice(reply: Any, url: str) -> tuple[str, dict[str, Any]]:
    """(message content, the choice) of a chat reply's first choice; ServerError (reason `malformed reply`)
    when the reply has no `choices[0].message` with a string or null `content`."""
    try:
        choice = reply["choices"][0]
        content = choice["message"]["content"]
        if content is not None and not isinstance(content, str):
            raise TypeError(f"content is a {type(content).__name__}")
    except (KeyError, IndexError, TypeError):
        raise ServerError(f"{url}: unexpected response (no choices[0].message.content): {str(reply)[:500]}",
                          "malformed reply") from None
    return content or "", choice
