"""Is a response's final answer equivalent to the reference? math-verify, with our own timeouts, in parallel.

math-verify's built-in timeouts use `signal.alarm` and raise off the main thread, so they are disabled here
(`parsing_timeout=None`, `timeout_seconds=None`) and replaced by ours: a SIGALRM deadline around each item in
the worker's main thread, and, for code stuck in C where no signal gets through, the parent kills the worker
after a hard limit and starts a new one. The parent never needs signals, so `grade_many` works from any thread.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from thinktrim.answers import AnswerKind, as_number, check_kind, normalize_answer
from thinktrim.errors import UserError
from thinktrim.evaluate.extract import AnswerSource, ExtractionPolicy, choice_letter, find_answer

# "truncated": the response hit the token limit before giving a boxed answer
REASONS = ("ok", "no_answer", "truncated", "timeout", "parse_error", "error", "worker_crash")


@dataclass(frozen=True)
class Grade:
    """Verdict for one response. `reason` is "ok" when a comparison ran; anything else means wrong.
    `source` says where the extracted answer came from (`AnswerSource`), None when there is none; `error`
    names the exception and its message when the comparison raised (reason "error")."""

    correct: bool
    extracted: str | None
    reason: str
    source: AnswerSource | None = None
    error: str | None = None


def error_text(e: BaseException, limit: int = 200) -> str:
    """`Type: message` of an exception, on one line and cut to `limit` characters, for counters."""
    message = " ".join(str(e).split())
    text = f"{type(e).__name__}: {message}" if message else type(e).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class GradeItem(NamedTuple):
    """One response to grade; `truncated` when it is known to have hit the token limit."""

    response: str
    gold: str
    kind: AnswerKind
    truncated: bool = False


class GradingTimeout(BaseException):
    """Raised by our deadline. A BaseException so math-verify's `except Exception` cannot swallow it."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise GradingTimeout after `seconds`; a no-op off the main thread, where signals cannot be used."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or seconds <= 0 or not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise GradingTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:  # an alarm delivered just before it was cancelled must not skip restoring the handler
            signal.signal(signal.SIGALRM, previous)


def _as_latex(answer: str) -> str:
    """math-verify extracts from text, so a bare LaTeX answer must be put in math mode to be found."""
    s = answer.strip()
    if "$" in s.replace("\\$", "") or s.startswith(("\\(", "\\[")) or "\\boxed" in s:
        return s
    return f"${s}$"


@lru_cache(maxsize=1)
def _quiet_math_verify() -> None:
    """math-verify warns once per process that its timeouts are off; ours replace them, so say nothing."""
    import math_verify.grader
    import math_verify.parser

    math_verify.grader.TIMEOUT_WARNING_SHOWN = True
    math_verify.parser.TIMEOUT_WARNING_SHOWN = True


@lru_cache(maxsize=8192)
def _parse(answer: str) -> tuple[Any, ...]:
    # Cached: the same gold is parsed once per question, and n samples often give the same answer.
    from math_verify import parse

    _quiet_math_verify()
    return tuple(parse(_as_latex(answer), parsing_timeout=None))  # type: ignore[arg-type]


def _verify(gold: tuple[Any, ...], pred: tuple[Any, ...]) -> bool:
    from math_verify import verify

    # allow_set_relation_comp: "x > 2" answers "(2, \\infty)", as graders by hand accept
    return verify(list(gold), list(pred), timeout_seconds=None, allow_set_relation_comp=True)  # type: ignore[arg-type]


def _compare(gold: str, pred: str, kind: AnswerKind) -> tuple[bool, str]:
    """(equivalent, reason) without any timeout; the caller bounds the time."""
    if kind == "choice":
        g, p = choice_letter(gold), choice_letter(pred)
        return (g is not None and g == p), "ok" if p is not None else "parse_error"
    g_num, p_num = as_number(gold), as_number(pred)
    if g_num is not None and p_num is not None:
        if g_num == p_num:
            return True, "ok"
        if g_num.denominator == 1 and p_num.denominator == 1:  # distinct integers: no tolerance can help
            return False, "ok"
    if normalize_answer(gold) == normalize_answer(pred):
        return True, "ok"
    gold_parsed = _parse(gold)
    pred_parsed = _parse(pred)
    if not pred_parsed:
        return False, "parse_error"
    return _verify(gold_parsed, pred_parsed), "ok"


def is_equivalent(gold: str, pred: str, kind: AnswerKind = "expression", timeout_s: float = 5.0) -> bool:
    """math-verify equivalence, gold first. A timeout counts as not equivalent.

    The timeout is a SIGALRM deadline, so it only applies on the main thread; `grade_many` bounds time
    in worker processes from any thread.
    """
    check_kind(kind)
    try:
        with _deadline(timeout_s):
            return _compare(gold, pred, kind)[0]
    except GradingTimeout:
        return False


def grade_response(response: str, gold: str, kind: AnswerKind, timeout_s: float = 5.0,
                   policy: ExtractionPolicy = ExtractionPolicy(), truncated: bool = False) -> Grade:
    """Extract the final answer (`find_answer`: where from, under `policy`), compare it with the gold."""
    check_kind(kind)
    extracted, source = find_answer(response, kind, policy=policy, truncated=truncated)
    if extracted is None:
        return Grade(False, None, "truncated" if truncated else "no_answer")
    try:
        with _deadline(timeout_s):
            correct, reason = _compare(gold, extracted, kind)
    except GradingTimeout:
        return Grade(False, extracted, "timeout", source)
    except Exception as e:  # a sympy bug on one odd answer must not stop a 10,000-response run; it is counted
        return Grade(False, extracted, "error", source, error_text(e))
    return Grade(correct, extracted, reason, source)


# ---------------------------------------------------------------------------------------------- parallel


# One of each common answer shape. The LaTeX parser (ANTLR) builds its prediction automaton as it meets new
# constructs, so first encounters are several times slower (~1 s of CPU in all); meeting them here, before
# any deadline runs, keeps a cold parser from timing out the first items of a worker.
_WARM_UP = (
    ("\\frac{1}{2}", "0.5"),
    ("3\\sqrt{13}", "\\sqrt{117}"),
    ("(3,4]", "3 < x \\le 4"),
    ("(-\\infty, 2) \\cup (3, \\infty)", "[2,\\infty)"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"),
    ("\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt5"),
    ("y = 2x + 3", "2x+3"),
    ("90^\\circ", "\\frac{270}7\\text{ degrees}"),
    ("6 - 5i", "\\dfrac{3}{4}\\cdot 2^{10}"),
    ("\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}", "\\text{(C)}"),
    ("\\pi - \\arccos \\frac{1}{8}", "\\sqrt[4]{3}\\times 10\\%"),
)


def _warm_up() -> None:
    for gold, pred in _WARM_UP:
        _compare(gold, pred, "expression")


def _worker_main(conn: Any, timeout_s: float, policy: ExtractionPolicy) -> None:
    """Grade batches of (index, GradeItem) sent by the parent, one result message per item."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _warm_up()
    conn.send("ready")
    while True:
        try:
            batch = conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        for index, item in batch:
            g = grade_response(item.response, item.gold, item.kind, timeout_s, policy, item.truncated)
            conn.send((index, g))


class _Worker:
    def __init__(self, ctx: Any, timeout_s: float, policy: ExtractionPolicy) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, timeout_s, policy), name="thinktrim-grader",
                                daemon=True)
        self.proc.start()
        child.close()
        self.pending: deque[int] = deque()  # indices sent and not yet answered, in order
        self.since = time.monotonic()  # when the item at the head of `pending` started

    def wait_ready(self, timeout_s: float = 120.0) -> bool:
        """True once the worker has warmed up; False (and the process reaped) if it died first."""
        try:
            ok = bool(self.conn.poll(timeout_s)) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            ok = False
        if not ok:
            self.stop(kill=True)
        return ok

    def send(self, batch: list[int], items: Sequence[GradeItem]) -> None:
        self.pending.extend(batch)
        self.since = time.monotonic()
        self.conn.send([(i, items[i]) for i in batch])

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
        self.proc.join(timeout=0 if kill else 2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def _ready_worker(ctx: Any, timeout_s: float, policy: ExtractionPolicy, worker: _Worker | None = None) -> _Worker:
    """A warmed-up worker. A failed start is retried once (it may have been killed from outside); two in a
    row mean workers cannot start here at all, which must surface rather than be graded around."""
    for _ in range(2):
        worker = worker or _Worker(ctx, timeout_s, policy)
        if worker.wait_ready():
            return worker
        code, worker = worker.proc.exitcode, None
    raise RuntimeError(
        f"grading worker processes fail to start (exit code {code}); a script that calls grade_many must "
        "guard its top-level code with `if __name__ == '__main__':`, since workers re-import the main module"
    )


def _context() -> Any:
    """forkserver: forking a parent that may run torch threads is unsafe, and spawn re-imports sympy per
    worker; the fork server imports math-verify once and forks cheap workers from it."""
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["math_verify", "thinktrim.evaluate.grade"])
    return ctx


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def grade_many(
    items: Sequence[tuple[str, str, AnswerKind] | tuple[str, str, AnswerKind, bool]],
    processes: int | None = None,
    timeout_s: float = 5.0,
    progress: bool = True,
    policy: ExtractionPolicy = ExtractionPolicy(),
) -> list[Grade]:
    """Grade (response, gold, kind[, truncated]) items in worker processes; results in input order.

    `processes=None` uses every CPU; `processes=0` grades in this process (no hard kill, and the timeout only
    works on the main thread). A worker stuck past `2 * timeout_s + 5` seconds on one item is killed and
    replaced; that item is graded "timeout" and the rest of its batch goes to another worker.
    """
    from multiprocessing.connection import wait

    from tqdm.auto import tqdm

    items = [GradeItem(*item) for item in items]
    for item in items:
        check_kind(item.kind)
    if processes is not None and processes < 0:
        raise UserError(f"processes={processes} must be >= 0 (0 grades in this process)")
    if timeout_s <= 0:
        raise UserError(f"timeout_s={timeout_s} must be > 0")
    bar = tqdm(total=len(items), desc="grading", unit="resp", disable=not progress)
    if processes == 0 or not items:
        results = []
        for item in items:
            results.append(grade_response(item.response, item.gold, item.kind, timeout_s, policy, item.truncated))
            bar.update(1)
        bar.close()
        return results

    n_proc = max(1, min(processes or _cpu_count(), len(items)))
    size = max(1, min(32, len(items) // (n_proc * 8)))
    queue = deque(list(range(i, min(i + size, len(items)))) for i in range(0, len(items), size))
    out: list[Grade | None] = [None] * len(items)
    hard_limit = 2 * timeout_s + 5
    ctx = _context()
    workers = [_Worker(ctx, timeout_s, policy) for _ in range(n_proc)]

    def replace(w: _Worker, reason: str) -> None:
        """Give up on the item `w` is stuck on, requeue the rest of its batch, start a fresh worker."""
        w.stop(kill=True)
        lost = w.pending.popleft()
        item = items[lost]
        extracted, source = find_answer(item.response, item.kind, policy=policy, truncated=item.truncated)
        out[lost] = Grade(False, extracted, reason, source)
        bar.update(1)
        if w.pending:
            queue.appendleft(list(w.pending))
        workers[workers.index(w)] = _ready_worker(ctx, timeout_s, policy)

    try:
        workers[:] = [_ready_worker(ctx, timeout_s, policy, w) for w in workers]  # started together, warm in parallel
        while queue or any(w.pending for w in workers):
            for i, w in enumerate(workers):
                if not w.pending and queue:
                    batch = queue.popleft()
                    try:
                        w.send(batch, items)
                    except OSError:  # died while idle: nothing of this batch ran, so retry it on a new one
                        w.pending.clear()
                        w.stop(kill=True)
                        workers[i] = _ready_worker(ctx, timeout_s, policy)
                        queue.appendleft(batch)
            by_conn = {w.conn: w for w in workers if w.pending}
            for conn in wait(list(by_conn), timeout=0.5):
                w = by_conn[conn]
                try:
                    index, grade = conn.recv()
                except (EOFError, OSError):
                    replace(w, "worker_crash")
                    continue
                assert index == w.pending.popleft(), "worker answered out of order"
                out[index] = grade
                w.since = time.monotonic()
                bar.update(1)
            now = time.monotonic()
            for w in list(workers):
                if w.pending and now - w.since > hard_limit:
                    replace(w, "timeout")
    finally:
        for w in workers:
            w.stop(kill=bool(w.pending))
        bar.close()
    assert all(g is not None for g in out)
    return out  # type: ignore[return-value]
