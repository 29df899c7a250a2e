"""Generation with transformers on CPU or GPU: batched with left padding, n samples per prompt.

Each sample is its own row of the batch (the prompt repeated), so a batch can mix prompts and sample indices
freely; rows are ordered by prompt length to waste little on padding. Completions are yielded batch by batch;
the tokens of each decoding step are reported as they come (`TokenCounter`, a transformers streamer).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from thinktrim.data.chat import generation_prompt
from thinktrim.errors import UserError
from thinktrim.lm.generation.types import (
    Completion,
    GenerationConfig,
    GeneratorBase,
    Job,
    TokenCallback,
    cut_at_stop,
)

DEFAULT_BATCH_SIZE = 8  # ~90 tok/s for the embedded model on 2 CPU cores, vs ~17 one at a time


@dataclass(frozen=True)
class Batch:
    """Rows decoded together, as (job index, sample index), and the seed the batch is drawn with."""

    rows: tuple[tuple[int, int], ...]
    seed: int | None


def plan_batches(prompts: Sequence[Sequence[int]], jobs: Sequence[Job], config: GenerationConfig) -> list[Batch]:
    """The batches a run decodes, in order: every (job, sample) row sorted by prompt length, cut into
    `batch_size` rows, batch b seeded with `seed + b`. Ray workers decode the very same batches, so their
    completions equal this process's, sampled ones included."""
    rows = sorted(((j, s) for j, job in enumerate(jobs) for s in job.samples), key=lambda r: (len(prompts[r[0]]), r))
    size = config.batch_size or DEFAULT_BATCH_SIZE
    return [Batch(tuple(rows[start:start + size]), None if config.seed is None else config.seed + b)
            for b, start in enumerate(range(0, len(rows), size))]


class HFGenerator(GeneratorBase):
    """Wraps a loaded causal LM and its tokenizer (the tokenizer must have a chat template)."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        if getattr(tokenizer, "chat_template", None) is None:
            raise UserError("the tokenizer has no chat template; evaluation prompts are chat conversations")
        self.model = model
        self.tokenizer = tokenizer
        self.eos_ids = _eos_ids(model, tokenizer)
        if not self.eos_ids:
            raise UserError("neither the model's generation config nor the tokenizer names an EOS token")
        # Padding only ever sits left of the prompt; any id works, EOS is the usual choice.
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.eos_ids)

    @classmethod
    def from_pretrained(cls, name: str = "embedded", device: str = "auto", dtype: str = "auto",
                        threads: int | None = None) -> HFGenerator:
        from thinktrim.lm.load import load_causal_lm

        model, tokenizer = load_causal_lm(name, device=device, dtype=dtype, threads=threads)
        return cls(model, tokenizer)

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        return chat_prompt_ids(self.tokenizer, messages)

    def stream(self, jobs: Sequence[Job], config: GenerationConfig,
               on_tokens: TokenCallback | None = None) -> Iterator[tuple[int, int, Completion]]:
        prompts = [self.prompt_ids(job.chat()) for job in jobs]
        for batch in plan_batches(prompts, jobs, config):
            outs = self.generate_batch([prompts[j] for j, _ in batch.rows], config, batch.seed, on_tokens)
            for (j, s), completion in zip(batch.rows, outs):
                yield j, s, completion

    def generate_batch(self, prompts: list[list[int]], config: GenerationConfig, seed: int | None,
                       on_tokens: TokenCallback | None = None) -> list[Completion]:
        """One batch of `plan_batches`: the completions of these prompt token ids, seeded with `seed`."""
        import torch

        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[i, width - len(p):] = 1
        device = self.model.device
        kwargs: dict[str, Any] = dict(
            max_new_tokens=config.max_new_tokens, pad_token_id=self.pad_id, eos_token_id=sorted(self.eos_ids),
            do_sample=not config.greedy,
        )
        if config.greedy:  # unset sampling knobs the model's own generation config may carry
            kwargs.update(temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(temperature=config.temperature, top_p=config.top_p, top_k=None)
        if config.stop:
            kwargs.update(stop_strings=list(config.stop), tokenizer=self.tokenizer)
        if on_tokens is not None:
            kwargs["streamer"] = TokenCounter(len(prompts), self.eos_ids, self.pad_id, on_tokens)
        if seed is not None:
            torch.manual_seed(seed)
        with torch.inference_mode():
            out = self.model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **kwargs)
        return [self._completion(row.tolist(), config) for row in out[:, width:].cpu()]

    def _completion(self, generated: list[int], config: GenerationConfig) -> Completion:
        # A finished row is padded after its EOS; a row stopped by a stop string is padded with pad_id.
        end = next((i for i, t in enumerate(generated) if t in self.eos_ids), None)
        if end is not None:
            tokens, reason = generated[:end + 1], "stop"
        else:
            tokens = generated
            while tokens and tokens[-1] == self.pad_id:  # pad_id is not an EOS here: only fills after a stop
                tokens = tokens[:-1]
            reason = "length" if len(tokens) >= config.max_new_tokens else "stop"
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        text, stopped = cut_at_stop(text, config.stop)
        return Completion(text=text, tokens=len(tokens), finish_reason="stop" if stopped else reason)

    def close(self) -> None:
        self.model = None


def chat_prompt_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """The tokens a chat model generates after: its template with the generation prompt, thinking on
    (`generation_prompt`, which refine's scoring and `train`'s examples render too; Ray workers get exactly these)."""
    text = generation_prompt(tokenizer, messages)
    # The template already holds BOS and friends: add nothing more.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


class TokenCounter:
    """A `generate(streamer=...)` that reports how many tokens each decoding step added to the completions.

    It counts what `_completion` keeps: a row's tokens up to and including its first EOS; pad tokens (which fill a
    row stopped by a stop string) only when a real token follows them. Works with batches and sampling.
    """

    def __init__(self, rows: int, eos_ids: set[int], pad_id: int, on_tokens: TokenCallback) -> None:
        self.eos_ids, self.pad_id, self.on_tokens = eos_ids, pad_id, on_tokens
        self.finished = [False] * rows
        self.pending_pads = [0] * rows

    def put(self, value: Any) -> None:
        if value.dim() > 1:  # generate hands over the prompts first
            return
        new = 0
        for row, token in enumerate(value.tolist()):
            if self.finished[row]:
                continue
            if token == self.pad_id and token not in self.eos_ids:
                self.pending_pads[row] += 1
                continue
            new += self.pending_pads[row] + 1
            self.pending_pads[row] = 0
            self.finished[row] = token in self.eos_ids
        if new:
            self.on_tokens(new)

    def end(self) -> None:
        """Nothing held back: every step was reported when it came."""


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif eos:
        ids.update(int(e) for e in eos)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids
