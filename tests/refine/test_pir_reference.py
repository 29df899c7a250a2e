"""PIR from the pipeline equals PIR recomputed the plain way: one full transformers forward per variant."""

import pytest
import torch

from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.formats import read_records
from thinktrim.lm.load import load_causal_lm
from thinktrim.refine.classify import unit_spans
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.pipeline import Refiner

pytestmark = pytest.mark.slow


def mean_answer_nll(model, tok, question: str, thinking: str, answer: str) -> float:
    prompt = tok.apply_chat_template(
        [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, {"role": "user", "content": question}],
        add_generation_prompt=True,
    )["input_ids"]  # the prompt as the model sees it when it generates, then what it would generate
    context = list(prompt) + tok("<think>\n" + thinking + "\n</think>\n\n", add_special_tokens=False).input_ids
    target = tok(answer, add_special_tokens=False).input_ids
    ids = torch.tensor([context + target])
    with torch.no_grad():
        logits = model(ids).logits[0].float()
    logp = torch.log_softmax(logits[len(context) - 1 : -1], dim=-1)
    return -logp.gather(1, torch.tensor(target)[:, None]).mean().item()


@pytest.mark.parametrize("scorer", ["engine", "naive"])
def test_pipeline_pir_matches_full_recomputation(small_sample, tmp_path, scorer: str) -> None:
    trace = next(iter(read_records(small_sample))).trace
    # "Wait" steps as verification (the paper's reading) give this short chain two units to compare
    cfg = RefineConfig(input=str(small_sample), output_dir=str(tmp_path), scorer=scorer, weak_markers="marker")
    outcome = Refiner(cfg).process(trace)
    assert outcome.status == "scored"
    model, tok = load_causal_lm("embedded", device="cpu", dtype="float32")
    full = mean_answer_nll(model, tok, trace.question, trace.thinking, trace.response)
    assert abs(full - outcome.full_nll) < 1e-4
    spans = unit_spans(outcome.steps)
    assert len(spans) >= 2
    pir_by_unit = {s.unit: s.pir for s in outcome.steps if s.unit is not None}
    for unit, (a, b) in enumerate(spans):
        without = mean_answer_nll(model, tok, trace.question, trace.thinking[:a] + trace.thinking[b:], trace.response)
        assert abs((without - full) - pir_by_unit[unit]) < 1e-4, unit
