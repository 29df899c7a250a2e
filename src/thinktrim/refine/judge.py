"""An LLM judge for steps: which mode is each in, and which earlier step does it check?

By default it labels the steps no marker decided (`scope="unmarked"`); with `scope="all"` it labels every step
after the first, and the pairs (markers' mode, judge's mode) of the steps markers had decided are kept in
`last_comparison` for the agreement figures in stats.json. Its instructions are a plain-text file the user may
replace (`judge_prompt.txt` by default); the answer format is fixed by `VERDICT_SCHEMA`.

Called through any OpenAI-compatible endpoint with a JSON answer format. A request that keeps failing, a
reply without a message, or an answer that does not parse leaves the step as the markers left it (progressive
when unmarked: the safe choice, progressive steps are kept) and is counted by reason in `failure_reasons`
(`request failed: HTTP 503`, `malformed reply`, `invalid verdict`).
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from thinktrim.data.trace import Step, StepKind
from thinktrim.lm.openai_http import ServerError, check_server, first_choice, post_chat

JudgeScope = Literal["unmarked", "all"]
JUDGE_SCOPES: tuple[str, ...] = get_args(JudgeScope)


def load_prompt(path: str | Path | None = None) -> str:
    """The judge's instructions: the file at `path`, else the shipped `judge_prompt.txt`."""
    if path is None:
        return resources.files("thinktrim.refine").joinpath("judge_prompt.txt").read_text(encoding="utf-8").strip()
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"--judge-prompt {path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"--judge-prompt {path}: is a folder; expected a text file of instructions") from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise ValueError(f"--judge-prompt {path}: cannot read ({reason})") from None
    if not text:
        raise ValueError(f"--judge-prompt {path}: is empty")
    return text


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str = field(metadata={"help": "OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1"})
    model: str = field(metadata={"help": "Model name sent with each request."})
    api_key: str | None = field(default=None, metadata={"help": "Bearer key (default: $OPENAI_API_KEY)."})
    timeout_s: float = field(default=60.0, metadata={"help": "Seconds per request."})
    retries: int = field(default=3, metadata={"help": "Retries per request (transport errors, 5xx, bad JSON)."})
    concurrency: int = field(default=4, metadata={"help": "Parallel requests."})
    context_steps: int = field(default=3, metadata={"help": "Earlier steps shown to the judge."})
    max_step_chars: int = field(default=1500, metadata={"help": "Longer steps are shown cut to this size."})
    scope: str = field(default="unmarked", metadata={"help": "Steps to label: unmarked (no marker) or all."})
    prompt: str = field(default_factory=load_prompt, metadata={"help": "The judge's instructions."})
    response_format: str = field(
        default="json_object",
        metadata={
            "help": "json_object (with a `schema`, which llama.cpp and vLLM servers enforce) or json_schema "
            "(OpenAI's structured outputs)."
        },
    )

    def __post_init__(self) -> None:
        if not self.base_url:
            raise ValueError("judge base_url: required")
        if self.scope not in JUDGE_SCOPES:
            raise ValueError(f"judge scope: {self.scope!r} is not one of {', '.join(JUDGE_SCOPES)}")
        if self.response_format not in ("json_object", "json_schema"):
            raise ValueError(f"judge response_format: {self.response_format!r} is not json_object or json_schema")
        if self.timeout_s <= 0 or self.retries < 0 or self.concurrency < 1:
            raise ValueError(
                f"judge: timeout_s > 0, retries >= 0, concurrency >= 1 required "
                f"(got {self.timeout_s}, {self.retries}, {self.concurrency})"
            )


VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "mode": {"type": "string", "enum": [k.value for k in StepKind]},
        "checks_step": {"type": ["integer", "null"]},
    },
    "required": ["mode", "checks_step"],
}


def response_format(kind: str) -> dict[str, Any]:
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "step_verdict", "schema": VERDICT_SCHEMA}}
    return {"type": "json_object", "schema": VERDICT_SCHEMA}


def parse_verdict(content: str, index: int) -> tuple[StepKind, int | None] | None:
    """(mode, linked step) from the judge's JSON, or None if it is not a valid verdict for step `index`."""
    try:
        data = json.loads(content.strip().removeprefix("```json").removesuffix("```"))
        kind = StepKind(str(data["mode"]).strip().lower().replace("-", "_").replace(" ", "_"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    link = data.get("checks_step")
    link = link if isinstance(link, int) and 0 <= link < index else None
    return kind, link


class LLMJudge:
    """Revises the kind (and link) of unmarked steps; callable as `judge(thinking, steps) -> steps`."""

    def __init__(self, config: JudgeConfig) -> None:
        import httpx

        self.config = config
        self.client = httpx.Client()
        self.failure_reasons: Counter[str] = Counter()  # steps left unlabelled, by reason, over all chains
        self.last_failures: Counter[str] = Counter()  # the same, in the last chain
        self.calls = 0
        self.last_comparison: list[tuple[str, str]] = []  # (markers' mode, judge's mode) in the last chain

    @property
    def failures(self) -> int:
        """Steps the judge could not label, over all chains."""
        return sum(self.failure_reasons.values())

    def check_reachable(self) -> None:
        """ValueError naming --judge-url when no server answers there (before any chain is judged)."""
        try:
            check_server(self.client, self.config.base_url, min(self.config.timeout_s, 10.0), self.config.api_key)
        except ServerError as e:
            raise ValueError(f"--judge-url {e}") from None

    def _messages(self, thinking: str, steps: list[Step], i: int) -> list[dict[str, str]]:
        cut = self.config.max_step_chars
        first = max(0, i - self.config.context_steps)
        shown = [f"[step {j}] {thinking[s.start : s.end][:cut].strip()}" for j, s in enumerate(steps[first:i], first)]
        user = "Earlier steps:\n" + "\n".join(shown) + f"\n\nStep to label:\n[step {i}] "
        user += thinking[steps[i].start : steps[i].end][:cut].strip()
        return [{"role": "system", "content": self.config.prompt}, {"role": "user", "content": user}]

    def _ask(self, thinking: str, steps: list[Step], i: int) -> tuple[StepKind, int | None] | str:
        """The verdict on step i, or why there is none."""
        payload: dict[str, Any] = {
            "model": self.config.model,
            "messages": self._messages(thinking, steps, i),
            "temperature": 0.0,
            "max_tokens": 64,
            "response_format": response_format(self.config.response_format),
        }
        failure = "invalid verdict"
        for _ in range(self.config.retries + 1):
            self.calls += 1
            try:
                reply = post_chat(self.client, self.config.base_url, payload, self.config.timeout_s,
                                  self.config.retries, api_key=self.config.api_key)
            except ServerError as e:
                return f"request failed: {e.reason}"
            try:
                content, _ = first_choice(reply, self.config.base_url)
            except ServerError as e:  # a reply without a message: asked again, like an unparsable verdict
                failure = e.reason
                continue
            verdict = parse_verdict(content, i)
            if verdict is not None:
                return verdict
            failure = "invalid verdict"
        return failure

    def __call__(self, thinking: str, steps: list[Step]) -> list[Step]:
        every = self.config.scope == "all"
        todo = [i for i, s in enumerate(steps) if i > 0 and (every or s.marker is None)]
        with ThreadPoolExecutor(self.config.concurrency) as pool:
            verdicts = list(pool.map(lambda i: self._ask(thinking, steps, i), todo))
        out = list(steps)
        self.last_comparison = []
        self.last_failures = Counter()
        for i, verdict in zip(todo, verdicts):
            if isinstance(verdict, str):
                self.last_failures[verdict] += 1
                continue
            kind, link = verdict  # the link is checked against the final kinds by link_to_progressive
            if steps[i].marker is not None:
                self.last_comparison.append((steps[i].kind.value, kind.value))
            out[i] = replace(steps[i], kind=kind, link=link if kind.is_functional else None, marker="judge")
        self.failure_reasons.update(self.last_failures)
        return out
