"""Generation progress moves while a batch is decoded: transformers reports every decoding step's tokens, and
the reported tokens add up to the completions' own counts (EOS, stop strings and padding included)."""

import copy
import io

import torch

from thinktrim.lm.generation.hf import HFGenerator
from thinktrim.lm.generation.progress import GenerationProgress
from thinktrim.lm.generation.types import GenerationConfig, Job

from .conftest import QUESTIONS, chat


def _stream(gen: HFGenerator, jobs: list[Job], config: GenerationConfig):
    """(token reports, how many had come when the first completion arrived, the completions)."""
    reports: list[int] = []
    at_first: int | None = None
    completions = []
    for _, _, completion in gen.stream(jobs, config, on_tokens=reports.append):
        at_first = len(reports) if at_first is None else at_first
        completions.append(completion)
    return reports, at_first, completions


def test_the_bar_advances_every_decoding_step_before_the_batch_completes(tiny_llama) -> None:
    gen = HFGenerator(*tiny_llama)
    config = GenerationConfig(temperature=1.0, max_new_tokens=10, n=2, batch_size=4)
    jobs = [Job(chat(q), (0, 1)) for q in QUESTIONS[:2]]  # 4 rows: one batch
    counts: list[float] = []
    with GenerationProgress(4, 10, file=io.StringIO(), mininterval=0) as progress:
        def on_tokens(k: int) -> None:
            progress.tokens(k)
            counts.append(progress.bar.n)

        done = []
        for _, _, completion in gen.stream(jobs, config, on_tokens=on_tokens):
            done.append((len(counts), completion))
            progress.finished(completion)
        final = (progress.bar.n, progress.bar.total)
    # All 10 steps were reported while the one batch was decoding, before any of its completions came back.
    assert all(seen == 10 for seen, _ in done)
    assert counts == sorted(counts) and len(set(counts)) == 10 and counts[0] > 0
    assert final == (sum(c.tokens for _, c in done),) * 2  # ends full: count = tokens generated = total


def test_reports_match_completions_when_rows_end_at_different_steps(tiny_llama) -> None:
    model, tokenizer = tiny_llama
    model = copy.deepcopy(model)
    # A head that samples EOS with probability ~0.3 per step and other tokens uniformly: rows end at random steps.
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    head.bias.data[tokenizer.eos_token_id] = 10.0
    model.lm_head = head
    gen = HFGenerator(model, tokenizer)
    jobs = [Job(chat(q), tuple(range(3))) for q in QUESTIONS]
    reports, _, completions = _stream(gen, jobs, GenerationConfig(temperature=1.0, max_new_tokens=12, seed=3))
    lengths = [c.tokens for c in completions]
    assert len(set(lengths)) > 2 and min(lengths) < 12, lengths  # rows did end at different steps
    assert sum(reports) == sum(lengths)


def test_rows_stopped_by_a_stop_string_count_what_they_keep(tiny_llama) -> None:
    gen = HFGenerator(*tiny_llama)
    greedy = GenerationConfig(temperature=0, max_new_tokens=24)
    texts = [row[0].text for row in gen.generate([chat(q) for q in QUESTIONS], greedy)]
    stop = next(texts[0][i:i + 4] for i in range(len(texts[0]) // 3, len(texts[0]) - 4)
                if texts[0][i:i + 4].strip() and not any(texts[0][i:i + 4] in t for t in texts[1:]))
    gen.pad_id = 0  # a pad that is not EOS: the stopped row is padded while the others decode on
    assert gen.pad_id not in gen.eos_ids
    jobs = [Job(chat(q), (0,)) for q in QUESTIONS]
    reports, _, completions = _stream(gen, jobs, GenerationConfig(temperature=0, max_new_tokens=24, stop=(stop,)))
    assert sorted(c.tokens for c in completions)[0] < 24 and max(c.tokens for c in completions) == 24
    assert sum(reports) == sum(c.tokens for c in completions)
