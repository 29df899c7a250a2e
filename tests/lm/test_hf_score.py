"""PIR answer scorers: the cached engine must give the naive full recomputation's numbers.

A tiny random Llama (sharpened so the answer really depends on the context) covers the edge cases fast; the
embedded SmolLM2 scores a real DeepSeek-R1-Distill trace (thought_anchors, MIT) with units at the very start,
right before the answer and side by side.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from thinktrim.lm.scoring.engine import CachedScorer, _lower_right_sdpa, batch_variants, make_plan, prefix_attention
from thinktrim.lm.scoring.factory import make_scorer
from thinktrim.lm.scoring.naive import NaiveScorer
from thinktrim.lm.scoring.sequence import prompt_text, scoring_token_ids
from thinktrim.lm.scoring.types import AnswerScorer, ScoringTask

# the bundled sample holds thought-anchors' R1-Distill-Qwen-14B trace of MATH problem 2236
SAMPLE = Path(__file__).parents[2] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"

THINKING = (
    "Okay, so we need 3x + 7 = 22. Subtract 7 from both sides: 3x = 15.\n\n"
    "Wait, let me check: 22 - 7 is 15, yes. So x = 15 / 3 = 5.\n\n"
    "Alternatively, guess x = 5: 3*5 + 7 = 15 + 7 = 22. It is unbelievably simple.\n\n"
    "So the answer is 5."
)
JOIN = THINKING.index(" we need")  # removing this space glues "so" to "we": "so" is tokenized anew
ANSWER = "Subtracting 7 and dividing by 3 gives $x = \\boxed{5}$."


@pytest.fixture(scope="module")
def sharp_llama(make_tiny_llama):
    """A 2-layer Llama with large random weights (answer NLLs move by >1e-3 when context changes) and GQA."""
    return make_tiny_llama(seed=1, initializer_range=0.3, max_positions=512)


def _task(removals: tuple[tuple[int, int], ...], thinking: str = THINKING) -> ScoringTask:
    return ScoringTask("Solve for x: 3x + 7 = 22.", thinking, ANSWER, removals)


def _span(text: str) -> tuple[int, int]:
    start = THINKING.index(text)
    return start, start + len(text)


def _assert_same(naive, engine, tol: float) -> None:
    assert naive.answer_tokens == engine.answer_tokens
    assert naive.context_tokens == engine.context_tokens
    assert abs(naive.full_nll - engine.full_nll) <= tol
    assert len(naive.variant_nlls) == len(engine.variant_nlls)
    for a, b in zip(naive.variant_nlls, engine.variant_nlls):
        assert abs(a - b) <= tol, (naive.variant_nlls, engine.variant_nlls)


def test_token_convention(sharp_llama):
    _, tok = sharp_llama
    task = _task((_span("Wait, let me check: "),))
    ids, m = scoring_token_ids(tok, task, None)
    answer = tok(ANSWER, add_special_tokens=False).input_ids
    assert ids[-m:] == answer
    context = tok.decode(ids[:-m])
    assert context.startswith("<|im_start|>system\n") and context.endswith("5.\n</think>\n\n")
    variant, m2 = scoring_token_ids(tok, task, 0)
    assert m2 == m and variant[-m:] == answer and "Wait" not in tok.decode(variant)


def test_prompt_without_chat_template():
    from thinktrim.lm.load import load_tokenizer

    tok = load_tokenizer("embedded")
    tok.chat_template = None
    text = prompt_text(tok, _task(()))
    assert text == ("Please reason step by step, and put your final answer within \\boxed{}.\n\n"
                    "Question: Solve for x: 3x + 7 = 22.\n\nAnswer: ")


EDGE_CASES = {
    "no removals": (),
    "start, end, adjacent": (
        _span("Okay, so we need 3x + 7 = 22. "),
        _span("\n\nSo the answer is 5."),
        _span("Wait, let me check: 22 - 7 is 15, yes. "),
        _span("So x = 15 / 3 = 5.\n\n"),
    ),
    "mid-word across a token boundary": (_span("believab"),),
    "join retokenizes": ((JOIN, JOIN + 1), _span(", yes"), _span("\n\n")),
    "empty span": ((10, 10),),
    "whole thinking": ((0, len(THINKING)),),
}


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_engine_matches_naive_tiny(sharp_llama, case, batch_size):
    model, tok = sharp_llama
    task = _task(EDGE_CASES[case])
    naive = NaiveScorer(model, tok).score(task)
    engine = CachedScorer(model, tok, batch_size=batch_size).score(task)
    _assert_same(naive, engine, 1e-5)
    if case == "start, end, adjacent":  # the context matters to this model: the check can fail
        assert min(abs(v - naive.full_nll) for v in naive.variant_nlls) > 1e-3


def test_join_changes_tokens_before_the_span(sharp_llama):
    """The glued word changes a token before the span: the shared prefix ends before the span's start."""
    _, tok = sharp_llama
    task = _task(((JOIN, JOIN + 1),))
    plan = make_plan(tok, task)
    text_before = prompt_text(tok, task) + task.think_open + THINKING[: task.removals[0][0]]
    assert plan.reuse[0] < len(tok(text_before, add_special_tokens=False).input_ids)


def test_engine_is_repeatable_and_counts_minimum_work(sharp_llama):
    model, tok = sharp_llama
    task = _task(EDGE_CASES["start, end, adjacent"])
    engine = CachedScorer(model, tok)
    first, second = engine.score(task), engine.score(task)
    assert first == second
    plan = engine.plan(task)
    assert engine.tokens_computed == 2 * plan.minimum_tokens < 2 * plan.naive_tokens
    assert all(r <= len(v) - plan.answer_tokens - 1 for r, v in zip(plan.reuse, plan.variants))


def test_batches_respect_token_bound(sharp_llama):
    _, tok = sharp_llama
    plan = make_plan(tok, _task(EDGE_CASES["start, end, adjacent"] + EDGE_CASES["join retokenizes"]))
    bound = 3 * len(plan.full)
    groups = batch_variants(plan, max_batch_tokens=bound, max_batch_size=8, max_waste=10.0)
    assert sorted(i for g in groups for i in g) == list(range(len(plan.variants)))
    assert max(len(g) for g in groups) > 1
    for g in groups:
        assert len(g) * max(len(plan.variants[i]) for i in g) <= bound


def test_too_long_raises(sharp_llama):
    model, tok = sharp_llama
    task = _task(())
    n = len(scoring_token_ids(tok, task, None)[0])
    for scorer in (NaiveScorer(model, tok, max_context=n - 1), CachedScorer(model, tok, max_context=n - 1)):
        assert scorer.sequence_length(task) == n
        with pytest.raises(ValueError, match="exceed the scorer's max_context"):
            scorer.score(task)


def test_bad_tasks_raise(sharp_llama):
    model, tok = sharp_llama
    with pytest.raises(ValueError, match=r"removals\[0\]"):
        CachedScorer(model, tok).score(_task(((5, len(THINKING) + 1),)))
    with pytest.raises(ValueError, match="answer is empty"):
        NaiveScorer(model, tok).score(ScoringTask("q", THINKING, "", ()))
    with pytest.raises(ValueError, match="--scorer"):
        make_scorer("fast")


@pytest.mark.parametrize("prefix", [0, 1, 37])
def test_prefix_attention_matches_masked_sdpa(prefix):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    q = torch.randn(2, 4, 23, 16)
    k, v = torch.randn(2, 2, prefix + 23, 16), torch.randn(2, 2, prefix + 23, 16)
    mask = torch.ones(23, prefix + 23, dtype=torch.bool).tril(prefix)
    ref = F.scaled_dot_product_attention(q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1), attn_mask=mask)
    out, _ = prefix_attention(None, q, k, v, None, scaling=None)
    assert torch.allclose(out, ref.transpose(1, 2), atol=1e-5)
    # the GPU path, run on CPU (PyTorch materialises the lower-right mask there)
    gpu_path = _lower_right_sdpa(q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1), prefix, None)
    assert torch.allclose(gpu_path, ref, atol=1e-5)


def _real_task() -> ScoringTask:
    """An R1-Distill trace, thinking cut at a paragraph (~0.9K tokens in all); removals are paragraphs."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").split("\n") if line.strip()]
    record = next(r for r in records if r["id"] == "r1-qwen-14b-problem_2236")
    solution, question = record["response"], record["question"]
    thinking, answer = solution.split("</think>", 1)
    thinking = thinking[: thinking.index("\n\n", 1800) + 2]
    starts = [0] + [m.end() for m in re.finditer(r"\n\n+", thinking)]
    bounds = [*starts, len(thinking)]
    spans = [(bounds[i], bounds[i + 1]) for i in range(len(starts))]
    mid = len(spans) // 2
    assert len(spans) > 6
    removals = (spans[0], spans[-1], spans[mid], spans[mid + 1])
    return ScoringTask(question, thinking, answer.strip(), removals)


@pytest.mark.slow
def test_engine_matches_naive_on_real_trace(embedded):
    model, tok = embedded
    task = _real_task()
    engine = CachedScorer(model, tok)
    assert isinstance(engine, AnswerScorer)
    plan = engine.plan(task)
    assert 700 < len(plan.full) < 1100 and plan.minimum_tokens < 0.7 * plan.naive_tokens
    result = engine.score(task)
    naive = NaiveScorer(model, tok).score(task)
    _assert_same(naive, result, 1e-4)
    assert 0.05 < naive.full_nll < 5 and max(abs(v - naive.full_nll) for v in naive.variant_nlls) > 1e-4


@pytest.mark.slow
def test_make_scorer_loads_the_embedded_model():
    scorer = make_scorer("engine", max_context=4096)
    assert isinstance(scorer, CachedScorer) and scorer.max_context == 4096
    assert make_scorer("naive").max_context == 8192


# ---- CUDA: run where a GPU is present (the lent GPU machine), skipped elsewhere --------------------------------


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


needs_cuda = pytest.mark.skipif(not _has_cuda(), reason="no CUDA device")
CUDA_TASK = EDGE_CASES["start, end, adjacent"] + EDGE_CASES["join retokenizes"]


def _pirs(result) -> list[float]:
    return [v - result.full_nll for v in result.variant_nlls]


@needs_cuda
@pytest.mark.parametrize("batch_size", [1, 4])
def test_engine_matches_naive_cuda_fp32(sharp_llama, batch_size):
    """fp32 on the GPU (lower-right SDPA, batched suffixes): equal to the naive pass and to the CPU reference."""
    import copy

    import torch

    model, tok = sharp_llama
    gpu = copy.deepcopy(model).to("cuda", torch.float32)
    task = _task(CUDA_TASK)
    naive = NaiveScorer(gpu, tok).score(task)
    engine = CachedScorer(gpu, tok, batch_size=batch_size).score(task)
    _assert_same(naive, engine, 1e-4)
    _assert_same(NaiveScorer(model, tok).score(task), engine, 1e-4)


@needs_cuda
@pytest.mark.parametrize("batch_size", [1, 4])
def test_engine_bf16_cuda_tracks_fp32(sharp_llama, batch_size):
    """bf16 on the GPU (the default there): PIRs within bf16 rounding of the fp32 values (|PIR| 0.17-1.0 here;
    bf16 moves them by < 0.1 on this model), and close to the naive bf16 pass."""
    import copy

    import torch

    model, tok = sharp_llama
    gpu = copy.deepcopy(model).to("cuda", torch.bfloat16)
    task = _task(CUDA_TASK)
    reference = _pirs(NaiveScorer(model, tok).score(task))
    engine = _pirs(CachedScorer(gpu, tok, batch_size=batch_size).score(task))
    naive = _pirs(NaiveScorer(gpu, tok).score(task))
    assert max(abs(a - b) for a, b in zip(engine, reference)) < 0.15, (engine, reference)
    assert max(abs(a - b) for a, b in zip(engine, naive)) < 0.15, (engine, naive)


@needs_cuda
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize(("q_len", "prefix", "dim"), [(23, 0, 64), (300, 700, 64), (129, 4000, 128)])
def test_prefix_attention_cuda_matches_masked_sdpa(dtype, q_len, prefix, dim):
    """The GPU path (PyTorch's lower-right causal bias on the fused kernels) against an explicit-mask reference."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    kwargs = {"device": "cuda", "dtype": getattr(torch, dtype)}
    q = torch.randn(2, 8, q_len, dim, **kwargs)
    k, v = torch.randn(2, 2, prefix + q_len, dim, **kwargs), torch.randn(2, 2, prefix + q_len, dim, **kwargs)
    mask = torch.ones(q_len, prefix + q_len, dtype=torch.bool, device="cuda").tril(prefix)
    ref = F.scaled_dot_product_attention(q.float(), k.float().repeat_interleave(4, 1),
                                         v.float().repeat_interleave(4, 1), attn_mask=mask)
    out, _ = prefix_attention(None, q, k, v, None, scaling=None)
    tol = 1e-5 if dtype == "float32" else 2e-2
    assert torch.allclose(out.float(), ref.transpose(1, 2), atol=tol)
