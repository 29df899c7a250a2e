"""An LLM judge for steps: which kind is each, and which earlier step does it check?

By default it labels the steps no marker decided (`scope="unmarked"`); with `scope="all"` it labels every step
after the first, and the pairs (markers' kind, judge's kind) of the steps markers had decided are kept in
`last_comparison` for the agreement figures in stats.json. Its instructions are a plain-text file the user may
replace (`judge_prompt.txt` by default); the answer format is fixed by `VERDICT_SCHEMA` (`{"kind": ...,
"checks_step": ...}`; a reply that still says `"mode"`, as older prompt files asked, is read the same).

Called through any OpenAI-compatible endpoint with a JSON answer format. A request that keeps failing, a
reply without a message, or an answer that does not parse leaves the step as the markers left it (progressive
when unmarked: the safe choice, progressive steps are kept) and is counted by reason in `failure_reasons`
(`request failed: HTTP 503`, `malformed reply`, `invalid verdict`).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from thinktrim.config import Config
from thinktrim.data.trace import Step, StepKind
from thinktrim.errors import UserError
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
        raise UserError(f"--judge-prompt {path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"--judge-prompt {path}: is a folder; expected a text file of instructions") from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise UserError(f"--judge-prompt {path}: cannot read ({reason})") from None
    if not text:
        raise UserError(f"--judge-prompt {path}: is empty")
    return text


def _check_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {url!r}")


@dataclass(frozen=True)
class JudgeConfig(Config):
    """An LLM judge of step kinds behind an OpenAI-compatible endpoint (refine's `--judge-*` options)."""

    url: str = field(default="", metadata={
        "nonempty": True, "check": _check_url,
        "help": "OpenAI-compatible endpoint of an LLM judge of step kinds, e.g. http://127.0.0.1:8000/v1."})
    model: str = field(default="", metadata={"nonempty": True, "help": "Model name sent to the judge endpoint."})
    scope: JudgeScope = field(default="unmarked", metadata={
        "help": "Steps the judge labels: unmarked (those no marker decided) or all (every step but the first; "
                "stats.json then reports how often judge and markers agree)."})
    prompt: str | None = field(default=None, metadata={
        "path": "file", "help": "Text file with the judge's instructions (default: the shipped judge_prompt.txt); "
                                'it must ask for JSON {"kind": ..., "checks_step": ...}.'})
    timeout: float = field(default=60.0, metadata={
        "above": 0, "below": math.inf, "old": ("timeout_s",), "help": "Seconds per judge request."})
    retries: int = field(default=3, metadata={
        "min": 0, "help": "Retries per judge request (transport errors, 5xx, bad JSON)."})
    concurrency: int = field(default=4, metadata={"min": 1, "help": "Parallel judge requests."})
    context_steps: int = field(default=3, metadata={"min": 0, "help": "Earlier steps shown to the judge."})
    max_step_chars: int = field(default=1500, metadata={
        "min": 1, "help": "Longer steps are shown to the judge cut to this size."})
    response_format: Literal["json_object", "json_schema"] = field(default="json_object", metadata={
        "help": "json_object (with a `schema`, which llama.cpp and vLLM servers enforce) or json_schema "
                "(OpenAI's structured outputs)."})
    api_key: str | None = field(default=None, metadata={
        "cli": False, "secret": True,
        "help": "Bearer key (default: $OPENAI_API_KEY; kept off the command line, where others could read it)."})


VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": [k.value for k in StepKind]},
        "checks_step": {"type": ["integer", "null"]},
    },
    "required": ["kind", "checks_step"],
}


def response_format(kind: str) -> dict[str, Any]:
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "step_verdict", "schema": VERDICT_SCHEMA}}
    return {"type": "json_object", "schema": VERDICT_SCHEMA}


def parse_verdict(content: str, index: int) -> tuple[StepKind, int | None] | None:
    """(kind, linked step) from the judge's JSON, or None if it is not a valid verdict for step `index`.

    The key is `kind`; `mode`, which users' own prompt files from before may still ask for, is read the same."""
    try:
        data = json.loads(content.strip().removeprefix("```json").removesuffix("```"))
        label = data["kind"] if "kind" in data else data["mode"]
        kind = StepKind(str(label).strip().lower().replace("-", "_").replace(" ", "_"))
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
        self.instructions = load_prompt(config.prompt)
        self.client = httpx.Client()
        self.failure_reasons: Counter[str] = Counter()  # steps left unlabelled, by reason, over all chains
        self.last_failures: Counter[str] = Counter()  # the same, in the last chain
        self.calls = 0
        self.last_comparison: list[tuple[str, str]] = []  # (markers' kind, judge's kind) in the last chain

    @property
    def failures(self) -> int:
        """Steps the judge could not label, over all chains."""
        return sum(self.failure_reasons.values())

    def check_reachable(self) -> None:
        """UserError naming --judge-url when no server answers there (before any chain is judged)."""
        try:
            check_server(self.client, self.config.url, min(self.config.timeout, 10.0), self.config.api_key)
        except ServerError as e:
            raise UserError(f"--judge-url {e}") from None

    def _messages(self, thinking: str, steps: list[Step], i: int) -> list[dict[str, str]]:
        cut = self.config.max_step_chars
        first = max(0, i - self.config.context_steps)
        shown = [f"[step {j}] {thinking[s.start : s.end][:cut].strip()}" for j, s in enumerate(steps[first:i], first)]
        user = "Earlier steps:\n" + "\n".join(shown) + f"\n\nStep to label:\n[step {i}] "
        user += thinking[steps[i].start : steps[i].end][:cut].strip()
        return [{"role": "system", "content": self.instructions}, {"role": "user", "content": user}]

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
                reply = post_chat(self.client, self.config.url, payload, self.config.timeout,
                                  self.config.retries, api_key=self.config.api_key)
            except ServerError as e:
                return f"request failed: {e.reason}"
            try:
                content, _ = first_choice(reply, self.config.url)
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
