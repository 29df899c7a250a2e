"""O1-Pruner's loss on a tiny random Llama: the per-row statistic, the loss and its gradient against a hand
computation, and the clip cutting the gradient beyond 1 ± ε."""

import math

import pytest
import torch

from thinktrim.train.o1_pruner.examples import tokenize_row
from thinktrim.train.o1_pruner.loss import completion_mean_logps, ppo_clip_loss
from thinktrim.train.o1_pruner.trainer import RewardCollator

pytestmark = pytest.mark.slow
EPSILON = 0.2
ROWS = [("What is 2 + 3?", "2 + 3 = 5, so \\boxed{5}.", True),
        ("Name a prime number larger than ten.", "Eleven is prime: \\boxed{11}", True),
        ("What is half of 10?", "Half of ten is", False)]  # cut at the token limit: no end-of-turn token


@pytest.fixture(scope="module")
def tiny(make_tiny_llama):
    model, tokenizer = make_tiny_llama(seed=1, initializer_range=0.2)
    rows = []
    for question, completion, ends in ROWS:
        ids, labels = tokenize_row(tokenizer, {"prompt": [{"role": "user", "content": question}],
                                               "completion": completion, "ends_turn": ends})
        rows.append({"input_ids": ids, "completion_mask": [int(x != -100) for x in labels], "advantage": 0.0})
    return model, tokenizer, RewardCollator(tokenizer.pad_token_id)(rows)


def hand_mean_logps(logits, batch):
    """Each row's mean log-softmax of the tokens it scores, one position at a time."""
    out = []
    for i in range(len(batch["input_ids"])):
        terms = [torch.log_softmax(logits[i, t], -1)[batch["input_ids"][i, t + 1]]
                 for t in range(batch["input_ids"].shape[1] - 1) if batch["completion_mask"][i, t + 1]]
        out.append(sum(terms) / len(terms))
    return torch.stack(out)


def test_rows_are_prompt_then_completion_and_eos(tiny) -> None:
    _, tokenizer, batch = tiny
    first = batch["input_ids"][0][batch["attention_mask"][0] == 1].tolist()
    scored = batch["input_ids"][0][batch["completion_mask"][0] == 1].tolist()
    text = tokenizer.apply_chat_template([{"role": "user", "content": ROWS[0][0]}], tokenize=False,
                                         add_generation_prompt=True)
    assert tokenizer.decode(first) == text + ROWS[0][1] + tokenizer.eos_token  # what the model saw and generated
    assert tokenizer.decode(scored) == ROWS[0][1] + tokenizer.eos_token
    cut = batch["input_ids"][2][batch["completion_mask"][2] == 1].tolist()
    assert tokenizer.decode(cut) == ROWS[2][1]  # truncated sample: no end-of-turn is taught
    assert (batch["attention_mask"] == 0).any()  # the batch is padded, and padding is never scored
    assert not batch["completion_mask"][batch["attention_mask"] == 0].any()


def test_loss_and_gradient_equal_a_hand_computation(tiny) -> None:
    model, _, batch = tiny
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logps = completion_mean_logps(logits, batch["input_ids"], batch["completion_mask"])
    assert logps.detach() == pytest.approx(hand_mean_logps(logits, batch).detach(), abs=1e-5)

    ref = logps.detach() + torch.tensor([0.0, 0.1, -0.3])  # ratios 1, e^-0.1 = 0.905 (inside), e^0.3 = 1.35
    advantages = torch.tensor([1.0, -0.5, 2.0])
    leaf = logps.detach().requires_grad_()
    result = ppo_clip_loss(leaf, ref, advantages, EPSILON)
    result.loss.backward()
    r = [1.0, math.exp(-0.1), math.exp(0.3)]
    terms = [max(-a * x, -a * min(max(x, 1 - EPSILON), 1 + EPSILON)) for a, x in zip([1.0, -0.5, 2.0], r)]
    assert result.loss.item() == pytest.approx(sum(terms) / 3, rel=1e-6)
    # dL/dlogp_i = −A_i·r_i / B where the unclipped term is the max; row 3 (A > 0, r > 1.2) is clipped: 0
    assert leaf.grad.tolist() == pytest.approx([-1.0 / 3, 0.5 * r[1] / 3, 0.0], rel=1e-5)
    assert result.clipped.tolist() == [False, False, True]

    # through the model: the same parameter gradients as a plain log-softmax-and-gather implementation
    def gradients(mean_logps):
        model.zero_grad()
        ppo_clip_loss(mean_logps, ref, advantages, EPSILON).loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    def forward():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits

    ours = gradients(completion_mean_logps(forward(), batch["input_ids"], batch["completion_mask"]))
    plain = gradients(hand_mean_logps(forward(), batch))
    for name, grad in plain.items():
        torch.testing.assert_close(ours[name], grad, rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")
    assert any(g.abs().sum() > 0 for g in ours.values())


@pytest.mark.parametrize(("ratio", "advantage", "flows"), [
    (1.3, 1.0, False),  # gained enough: no further push up
    (1.3, -1.0, True),  # gained although bad: pushed back down
    (0.7, -1.0, False),  # lost enough: no further push down
    (0.7, 1.0, True),  # lost although good: pushed back up
    (1.1, 1.0, True), (0.9, -1.0, True),  # inside [1 − ε, 1 + ε]
])
def test_clipping_stops_the_gradient_beyond_one_plus_or_minus_epsilon(ratio, advantage, flows) -> None:
    logps = torch.tensor([math.log(ratio)], requires_grad=True)
    ppo_clip_loss(logps, torch.zeros(1), torch.tensor([advantage]), EPSILON).loss.backward()
    assert (logps.grad.item() != 0) == flows
    if flows:
        assert logps.grad.item() == pytest.approx(-advantage * ratio)


def test_no_gradient_reaches_the_model_when_every_row_is_clipped(tiny) -> None:
    model, _, batch = tiny
    model.zero_grad()
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logps = completion_mean_logps(logits, batch["input_ids"], batch["completion_mask"])
    ref = logps.detach() - torch.tensor([0.5, 0.5, -0.5])  # ratios e^0.5 = 1.65 and e^-0.5 = 0.61
    result = ppo_clip_loss(logps, ref, torch.tensor([1.0, 2.0, -1.0]), EPSILON)
    result.loss.backward()
    assert result.clipped.all()
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())
