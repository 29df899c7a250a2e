"""`thinktrim refine` as a streaming pipeline: read → annotate → score (resumable) → prune → write.

Scoring results go to `annotations.jsonl` one chain at a time (fsync'ed), so a killed run resumes at the next
unscored chain. Pruning for every ratio and all the outputs are then derived from the annotations, each file
written atomically.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

from thinktrim.config import setting_defaults
from thinktrim.data.annotation import ChainAnnotation, check_annotation_version
from thinktrim.data.formats import SourceRecord, read_records
from thinktrim.data.hf import is_dataset_source, source_fingerprint, source_key
from thinktrim.data.layouts import RecordError
from thinktrim.data.store import JsonlStore, changed_settings, read_json_object, write_json
from thinktrim.data.trace import Step, Trace
from thinktrim.errors import UserError
from thinktrim.lm.scoring.types import AnswerScorer
from thinktrim.refine.annotate import annotate_steps
from thinktrim.refine.answer_mentions import final_value
from thinktrim.refine.classify import MarkerLexicon
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.score import answer_text, apply_scores, scoring_task

ANNOTATIONS = "annotations.jsonl"
REJECTS = "rejects.jsonl"
RUN_FILE = "run.json"
# Settings that change scores: a resumed run must use the same ones. The input is compared by content (its
# fingerprint), not by how its path was spelled.
SCORING_KEYS = (
    "model", "answer_target", "system_prompt", "layout", "whole_response_as_thinking",
    "target_sentences", "max_sentences", "markers", "judge_url", "judge_model", "max_context",
    "weak_markers", "repeated_computation", "split_on_evidence", "end_at_progress", "judge_scope", "judge_prompt",
    "max_chars", "split_on_markers", "judge_context_steps", "judge_max_step_chars", "judge_response_format",
)


class Refiner:
    """Annotates and scores one trace at a time; the scoring model is loaded on first need."""

    def __init__(self, cfg: RefineConfig, scorer: AnswerScorer | None = None) -> None:
        self.cfg = cfg
        self.lexicon = MarkerLexicon.load(cfg.markers)
        self._scorer = scorer
        self._tokenizer: Any = None
        self.judge = None
        if cfg.judge is not None:
            from thinktrim.refine.judge import LLMJudge

            self.judge = LLMJudge(cfg.judge)
            self.judge.check_reachable()

    @property
    def scorer(self) -> AnswerScorer:
        if self._scorer is None:
            from thinktrim.lm.scoring.factory import make_scorer

            self._scorer = make_scorer(
                self.cfg.scorer,
                model=self.cfg.model,
                device=self.cfg.device,
                dtype=self.cfg.precision,
                max_batch_tokens=self.cfg.max_batch_tokens,
                max_context=self.cfg.max_context,
            )
        return self._scorer

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from thinktrim.lm.load import load_tokenizer

            self._tokenizer = getattr(self._scorer, "tokenizer", None) or load_tokenizer(self.cfg.model)
        return self._tokenizer

    def count_tokens(self, trace: Trace, steps: list[Step]) -> list[int]:
        texts = [trace.thinking[s.start : s.end] for s in steps]
        if not texts:
            return []
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def process(self, trace: Trace) -> ChainAnnotation:
        """The chain annotated and, when it can be, scored; why not in `status` and `reason` otherwise."""
        answer, target = answer_text(trace, self.cfg.answer_target)  # type: ignore[arg-type]
        value = final_value(trace)
        steps = annotate_steps(trace.thinking, value.text if value else None, self.cfg.segment, self.lexicon,
                               self.judge, self.cfg.classify)
        outcome = ChainAnnotation(trace.id, trace.thinking, steps, location=trace.meta.get("location", ""),  # file:line
                                  answer_target=target, final_value=value.text if value else None,
                                  final_value_source=value.source if value else None)
        if self.judge is not None:
            outcome.judge_failures = dict(self.judge.last_failures)
            outcome.judge_vs_markers = list(self.judge.last_comparison)
        outcome.step_tokens = self.count_tokens(trace, steps)
        if not trace.thinking_closed and not self.cfg.whole_response_as_thinking:
            outcome.status, outcome.reason = "unclosed", "the response never closes its thinking"
            return outcome
        if not answer.strip():
            outcome.status, outcome.reason = "no_answer", f"no answer text for answer target {target!r}"
            return outcome
        task = scoring_task(trace, steps, answer, self.cfg.system_prompt)
        if not task.removals:
            outcome.status, outcome.reason = "no_units", "no functional units to score"
            return outcome
        n = self.scorer.sequence_length(task)
        if n > self.scorer.max_context:
            reason = f"{n} tokens > max context {self.scorer.max_context}"
            if self.cfg.overlong == "error":
                raise UserError(f"chain {trace.id}: {reason} (use --overlong skip or a longer-context model)")
            outcome.status, outcome.reason = "overlong", reason
            return outcome
        result = self.scorer.score(task)
        outcome.steps = apply_scores(steps, result)
        outcome.full_nll = result.full_nll
        outcome.answer_tokens = result.answer_tokens
        outcome.context_tokens = result.context_tokens
        return outcome


def check_resumable(cfg: RefineConfig, out: Path, fingerprint: dict[str, Any]) -> None:
    """Refuse to add to a folder whose annotations were computed from another input, another version of the
    input or other scoring settings.

    Another `--limit` is no conflict: the annotations are a cache keyed by chain id, and `run.json` names the
    chains this run's outputs hold (a larger limit resumes and extends; a smaller one writes only its own).
    """
    if not ((out / RUN_FILE).exists() and JsonlStore.stored_keys(out / ANNOTATIONS)):
        return  # nothing scored yet: nothing to mix with
    check_annotation_version(out / ANNOTATIONS)
    previous = read_run(out)
    # a setting added since the folder's run was recorded had its default then
    changed = changed_settings({**setting_defaults(RefineConfig), **previous}, cfg.settings(), SCORING_KEYS)
    if changed:
        names = ", ".join(c.split("=")[0] for c in changed)
        raise UserError(f"{out} holds a run with different {names} ({'; '.join(changed)}); use a new "
                        "--output-dir or remove it")
    before = previous.get("input_fingerprint", {}).get("sha256")
    if before is not None and before != fingerprint["sha256"] and previous.get("input") and \
            source_key(previous["input"]) != source_key(cfg.input):
        raise UserError(f"{out} holds a run of a different input ({previous['input']}, other contents than "
                        f"{cfg.input}); use a new --output-dir or remove it")
    if before is not None and before != fingerprint["sha256"]:
        raise UserError(
            f"{cfg.input} changed since {out} was scored from it (sha256 differs); its annotations would not "
            "match: use a new --output-dir or remove it"
        )


def write_run(cfg: RefineConfig, out: Path, fingerprint: dict[str, Any], ids: list[str], **extra: Any) -> None:
    """Record in `run.json` what this run is computed from: its settings, the input's fingerprint, its chains
    (and what `extra` adds: the number of shards a merge read)."""
    write_json(out / RUN_FILE, {**cfg.settings(), "input": source_key(cfg.input), "ratios": list(cfg.ratios),
                                "input_fingerprint": fingerprint, "ids": ids, **extra})


def read_run(out: Path) -> dict[str, Any]:
    """The settings, input fingerprint and chain ids of the run that wrote `out` ({} when there is none)."""
    return read_json_object(out / RUN_FILE)


def input_changed(run: dict[str, Any]) -> bool:
    """Whether the input a run.json names (the part of it read: split, subset) no longer has the contents the run
    recorded; False when it recorded none. A UserError when the input cannot be read (a hub id gone from the
    cache)."""
    before = (run.get("input_fingerprint") or {}).get("sha256")
    if before is None:
        return False
    return bool(source_fingerprint(run["input"], run.get("split"), run.get("subset"))["sha256"] != before)


def iter_input(cfg: RefineConfig) -> Iterator[SourceRecord | RecordError]:
    """The input's records (or errors, with --on-error skip) in --start…--end, stopping after --limit valid
    records."""
    n = 0
    for item in read_records(
        cfg.input,
        layout=cfg.inputs.layout,
        file_format=cfg.inputs.file_format,
        on_error=cfg.inputs.on_error,
        whole_response_as_thinking=cfg.whole_response_as_thinking,
        split=cfg.inputs.split,
        subset=cfg.inputs.subset,
        start=cfg.inputs.start,
        end=cfg.inputs.end,
    ):
        if isinstance(item, SourceRecord):
            if cfg.limit is not None and n >= cfg.limit:
                return
            n += 1
        yield item


def check_paths(cfg: RefineConfig) -> None:
    """The input must be a file (or a datasets folder or hub id) and the output folder a folder (or creatable),
    named in a UserError if not."""
    src = Path(cfg.input)
    if is_dataset_source(cfg.input):
        pass
    elif not src.exists():
        raise UserError(f"{src}: no such file")
    elif src.is_dir():
        raise UserError(f"{src}: is a folder; expected a JSONL, JSON or Parquet file or a datasets save_to_disk "
                        "folder (state.json or dataset_dict.json)")
    out = Path(cfg.output_dir)
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                what = "is a file" if path == out else f"{path} is a file"
                raise UserError(f"--output-dir {out}: {what}, not a folder")
            return


def run_ids(cfg: RefineConfig) -> list[str]:
    """The ids of the chains this run refines, in input order; an input with none is an error."""
    ids, rejected = [], []
    for item in iter_input(cfg):
        if isinstance(item, SourceRecord):
            ids.append(item.trace.id)
        else:
            rejected.append(item)
    if not ids:
        if rejected:
            raise UserError(f"{cfg.input}: no valid records ({len(rejected)} rejected; the first: {rejected[0]})")
        raise UserError(f"{cfg.input}: no records")
    return ids


def scoring_folder(cfg: RefineConfig) -> Path:
    """Where this run's annotations go: the output folder, or its shard's folder with --shard i/N."""
    shard = cfg.parallel.shard_spec
    return shard.folder(cfg.output_dir) if shard else Path(cfg.output_dir)


class ChainScoring(Protocol):
    """How chains get scored: entered before anything is written (models load then), it maps traces to their
    annotation records, in any order. `LocalScoring` here; Ray workers in `thinktrim.executor`."""

    def __enter__(self) -> ChainScoring: ...

    def __exit__(self, *exc: object) -> None: ...

    def map(self, traces: Iterator[Trace]) -> Iterator[dict[str, Any]]: ...


class LocalScoring:
    """Scores chains one at a time in this process (the default executor)."""

    def __init__(self, refiner: Refiner) -> None:
        self.refiner = refiner

    def __enter__(self) -> LocalScoring:
        self.refiner.scorer  # noqa: B018 - loads the model
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def map(self, traces: Iterator[Trace]) -> Iterator[dict[str, Any]]:
        for trace in traces:
            yield self.refiner.process(trace).to_record()


def score_all(cfg: RefineConfig, refiner: Refiner | None = None, scoring: ChainScoring | None = None) -> Path:
    """Annotate and score every chain of this run (of its shard, with --shard) not yet in annotations.jsonl,
    with a progress bar; returns the folder scored into. `scoring` spreads the work (default: this process)."""
    from tqdm import tqdm

    out = scoring_folder(cfg)
    shard = cfg.parallel.shard_spec
    check_paths(cfg)
    fingerprint = source_fingerprint(cfg.input, cfg.inputs.split, cfg.inputs.subset)
    ids = [i for i in run_ids(cfg) if shard is None or shard.holds(i)]
    check_resumable(cfg, out, fingerprint)
    # What can fail on a bad option fails before anything is written: the markers, the judge, the model.
    scoring = scoring or LocalScoring(refiner or Refiner(cfg))
    stored = JsonlStore.stored_keys(out / ANNOTATIONS)
    done = sum(1 for i in ids if i in stored)
    with ExitStack() as stack:
        if done < len(ids):
            stack.enter_context(scoring)
        out.mkdir(parents=True, exist_ok=True)
        write_run(cfg, out, fingerprint, ids)
        store = stack.enter_context(JsonlStore(out / ANNOTATIONS))
        rejects = stack.enter_context(JsonlStore(out / REJECTS, key="location"))
        bar = stack.enter_context(tqdm(total=len(ids), desc="refine", unit="chain", dynamic_ncols=True,
                                       initial=done))
        counts: Counter[str] = Counter()

        def todo() -> Iterator[Trace]:
            """The chains still to score, in input order; bad records go to rejects.jsonl on the way."""
            sent: set[str] = set()
            for item in iter_input(cfg):
                if isinstance(item, RecordError):
                    if (shard is None or shard.holds(item.location)) and item.location not in rejects:
                        rejects.append({"location": item.location, "field": item.field, "reason": item.reason})
                        counts["rejected"] += 1
                        bar.set_postfix(counts)
                elif (shard is None or shard.holds(item.trace.id)) and item.trace.id not in store \
                        and item.trace.id not in sent:  # a repeated id is scored once, as in one process
                    sent.add(item.trace.id)
                    yield item.trace

        chains = todo()
        for record in scoring.map(chains) if done < len(ids) else ():
            store.append(record)
            counts[record["status"]] += 1
            bar.set_postfix(counts)
            bar.update(1)
        for _ in chains:  # nothing left to score: the rest of the input is read for its rejects only
            pass
    return out
