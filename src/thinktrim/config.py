"""One path from a config dataclass to a command: CLI options, `--config file.yaml`, type checks, run.json.

Each command has one dataclass. Its fields (name, type, default, `metadata["help"]`) are the only place a
setting's default and help text are written; `command()` turns them into Typer options, a `--config` YAML with
the same names, and a config with every value checked against its type. Command-line options win over the
file. Field metadata may also say:

- `flag`: the option's name when it is not `--field-name` (e.g. `--format`), `short`: a short flag (`-o`);
- `argument`: the field is a positional argument (a `tuple[str, ...]` one takes several);
- `cli`: False keeps a field out of the command line (YAML only);
- `min`: the lowest value a number may take (`--threads: must be >= 1, got 0`).

A field whose type is itself a dataclass (eval's `generation`) contributes its fields as options of their own;
in YAML it may be written nested (`generation: {temperature: 0.5}`) or flat (`temperature: 0.5`).

Errors name what to fix in one line: `--limit: must be >= 1, got 0` for an option, `run.yaml: limit: expected
an integer, got 'ten'` for a file. A dataclass's own checks (`__post_init__`) raise ValueError("name: …"),
and the name is mapped to the option or the file that gave the value.

This module imports nothing of thinktrim but `thinktrim.errors`. (A little over 400 lines: types, the mapping to a
config and the Typer wiring are one mechanism; split, each part would need the others' rules.)
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

from thinktrim.errors import UserError

C = TypeVar("C")
# What every command prints on Ctrl-C (exit status 130): each one keeps what it finished and resumes when rerun.
INTERRUPTED = "interrupted: rerun the same command to continue where it stopped"


class ConfigError(UserError):
    """A setting that does not fit. `setting` names the field (None: the whole source), `source` where the value
    came from (a YAML path, or None for Python and the command line)."""

    def __init__(self, message: str, setting: str | None = None, source: str | None = None) -> None:
        self.message, self.setting, self.source = message, setting, source
        super().__init__(": ".join(p for p in (source, setting, message) if p))


class Config:
    """Mixin for command config dataclasses: YAML loading, help lookup, a JSON-able dict, type checks."""

    @classmethod
    def from_mapping(cls: type[C], data: Mapping[str, Any], source: str | None = None) -> C:
        return from_mapping(cls, data, source)

    @classmethod
    def from_yaml(cls: type[C], path: str | Path, **overrides: Any) -> C:
        return from_mapping(cls, {**read_yaml(path), **overrides}, str(path))

    @classmethod
    def help_of(cls, name: str) -> str:
        return field_help(cls, name)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def check_types(self) -> None:
        """Coerce every field to its declared type, for configs built in Python (call from __post_init__)."""
        hints = _hints(type(self))
        for f in _fields(type(self)):
            setattr(self, f.name, check_min(f, coerce(getattr(self, f.name), hints[f.name], f.name)))


# ---- types ---------------------------------------------------------------------------------------------------


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) < len(get_args(tp)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True  # noqa: UP007
    return tp, False


def _is_sequence(tp: Any) -> bool:
    return get_origin(tp) in (tuple, list)


_NAMES = {bool: ("true or false", "true/false values"), int: ("an integer", "integers"),
          float: ("a number", "numbers"), str: ("a string", "strings")}


def _describe(tp: Any) -> str:
    tp, _ = _strip_optional(tp)
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in tp)
    if _is_sequence(tp):
        inner = _strip_optional(get_args(tp)[0])[0]
        return _NAMES.get(inner, ("", "values"))[1] + " (a list, or comma-separated)"
    return _NAMES.get(tp, (getattr(tp, "__name__", str(tp)),))[0]


def coerce(value: Any, tp: Any, setting: str) -> Any:
    """`value` as type `tp`, or a ConfigError naming `setting`. Sequences also come as "a,b,c" or one value."""
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"expected {_describe(tp)}, got null", setting)
    origin = get_origin(tp)
    if origin is Literal:
        allowed = get_args(tp)
        if isinstance(value, (str, int, float, bool)) and value in allowed:
            return value
        if isinstance(value, (str, int, float)):
            raise ConfigError(f"{value!r} is not one of {', '.join(map(str, allowed))}", setting)
        raise ConfigError(f"expected {_describe(tp)}, got {value!r}", setting)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value.value if isinstance(value, enum.Enum) else value)
        except ValueError:
            raise ConfigError(f"{value!r} is not {_describe(tp)}", setting) from None
    if _is_sequence(tp):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            items = [items]
        items = [v.strip() if isinstance(v, str) else v for v in items]
        items = [v for v in items if v != ""]
        inner = get_args(tp)[0]
        try:
            out = [coerce(v, inner, setting) for v in items]
        except ConfigError:
            raise ConfigError(f"expected {_describe(tp)}, got {value!r}", setting) from None
        return tuple(out) if origin is tuple else out
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"expected a mapping of {tp.__name__} settings, got {value!r}", setting)
        return from_mapping(tp, value)
    if origin is dict or tp is dict:
        if isinstance(value, Mapping):
            return dict(value)
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float, Path)) and not isinstance(value, bool):
            return str(value)
    elif tp is Any or tp is object:
        return value
    raise ConfigError(f"expected {_describe(tp)}, got {value!r}", setting)


# ---- mapping <-> config --------------------------------------------------------------------------------------


def _fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _nested(cls: type) -> dict[str, type]:
    """Fields whose type is a dataclass: their own fields are settings too (flat on the command line)."""
    hints = _hints(cls)
    return {f.name: hints[f.name] for f in _fields(cls) if dataclasses.is_dataclass(hints[f.name])}


def check_min(f: dataclasses.Field, value: Any) -> Any:
    """`value`, or a ConfigError when it is below the field's `min` metadata."""
    low = f.metadata.get("min")
    if low is not None and isinstance(value, (int, float)) and value < low:
        raise ConfigError(f"must be >= {low}, got {value}", f.name)
    return value


def setting_names(cls: type) -> set[str]:
    """Every setting of a config, nested configs' included."""
    return {f.name for f in _fields(cls)} | {f.name for sub in _nested(cls).values() for f in _fields(sub)}


def from_mapping(cls: type[C], data: Mapping[str, Any], source: str | None = None) -> C:
    """Build `cls` from plain data (YAML, CLI), checking every value against its field's type.

    Keys may use dashes or underscores. Unknown keys are an error that names them. Settings of a nested
    dataclass field may be given flat. A ValueError the dataclass raises becomes a ConfigError whose setting is
    the field its message starts with ("limit: must be >= 1").
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping of settings, got {type(data).__name__}", source=source)
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    hints = _hints(cls)
    by_name = {f.name: f for f in _fields(cls)}
    names = set(by_name)
    values: dict[str, Any] = {}
    for name, sub in _nested(cls).items():
        inner = {f.name for f in _fields(sub)}
        flat = {k: data.pop(k) for k in list(data) if k in inner and k not in names}
        given = data.pop(name, None)
        if isinstance(given, sub) and not flat:
            values[name] = given
        elif given is not None or flat:
            if given is not None and not isinstance(given, (Mapping, sub)):
                raise ConfigError(f"expected a mapping of {sub.__name__} settings", name, source)
            base = to_dict(given) if isinstance(given, sub) else dict(given or {})
            values[name] = from_mapping(sub, {**base, **flat}, source)
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown settings {unknown}", source=source)
    try:
        for name, value in data.items():
            values[name] = check_min(by_name[name], coerce(value, hints[name], name))
        return cls(**values)
    except ConfigError as e:
        raise ConfigError(e.message, e.setting, e.source or source) from None
    except (ValueError, TypeError) as e:
        text = str(e)
        head, sep, rest = text.partition(": ")
        setting = head.rsplit(".", 1)[-1] if sep else None  # "limit: …" or "EvalConfig.limit: …"
        if setting in setting_names(cls):
            raise ConfigError(rest, setting, source) from None
        raise ConfigError(text, source=source) from None


def load_yaml(path: str | Path, option: str | None = None) -> Any:
    """The YAML document in a file, or a ConfigError naming the option that gave it, the file, the line and the
    setting being written there (syntax errors), in one line."""
    path = Path(path)
    where = f"{option} {path}" if option else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", source=where) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, expected a YAML file", source=where) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text (byte {e.start}): expected a YAML file", source=where) from None
    except OSError as e:
        raise ConfigError(f"cannot read ({e.strerror or e})", source=where) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if "\\t" in problem:  # PyYAML writes the tab as a backslash and t
            problem += "; YAML indents with spaces, not tabs"
        line = f":{mark.line + 1}" if mark is not None else ""
        setting = _setting_at(text, mark.line) if mark is not None else None
        at = f" in {setting!r}" if setting else ""
        raise ConfigError(f"invalid YAML{at} ({' '.join(problem.split())})", source=where + line) from None


def _setting_at(text: str, line: int) -> str | None:
    """The key written on `line` of a YAML text, or the nearest one above it (the setting a syntax error is in)."""
    lines = text.splitlines()
    for candidate in reversed(lines[: line + 1]):
        key = re.match(r"\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:(?:\s|$)", candidate)
        if key:
            return key.group(1)
    return None


def read_yaml(path: str | Path, option: str | None = None) -> dict[str, Any]:
    """A YAML mapping of settings, or a ConfigError naming the file (and the line, for syntax errors)."""
    data = load_yaml(path, option)
    if data is None:
        return {}
    if not isinstance(data, dict):
        where = f"{option} {path}" if option else str(path)
        raise ConfigError(f"expected a mapping of settings, got {type(data).__name__}", source=where)
    return data


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain JSON-able values (tuples as lists, enums as values), nested configs as dicts: for run.json."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, Path):
            return str(v)
        return v

    return plain(cfg)


def field_help(cls: type, name: str) -> str:
    """The help text of a field (nested config fields included)."""
    for f in [*_fields(cls), *(f for sub in _nested(cls).values() for f in _fields(sub))]:
        if f.name == name:
            return f.metadata.get("help", "")
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


def like(cls: type, name: str, **changes: Any) -> Any:
    """A field with the default and help of `cls.name`, so a command sharing a setting with another writes
    neither again. `changes` set another default (`default=`) or metadata entries (`help=`, `flag=`) for a
    command where the setting means something else or starts elsewhere."""
    f = {x.name: x for x in dataclasses.fields(cls)}[name]
    default = changes.pop("default", dataclasses.MISSING)
    metadata = {**f.metadata, **changes}
    if default is not dataclasses.MISSING:
        return dataclasses.field(default=default, metadata=metadata)
    if f.default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=f.default_factory, metadata=metadata)
    return dataclasses.field(default=f.default, metadata=metadata)


def default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


# ---- Typer ---------------------------------------------------------------------------------------------------


def _cli_type(tp: Any) -> tuple[Any, str | None]:
    """(what Typer parses, the metavar shown). Values reach `coerce` as text, so a bad one gets the same one-line
    error on the command line as in YAML; a sequence is a repeatable option of comma-separated values."""
    inner, _ = _strip_optional(tp)
    if inner is bool:
        return tp, None
    if _is_sequence(inner):
        return list[str] | None, _metavar(get_args(inner)[0]) + ",…"
    return str | None, _metavar(inner)


def _metavar(tp: Any) -> str:
    tp, _ = _strip_optional(tp)
    if get_origin(tp) is Literal:
        return "|".join(str(a) for a in get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "|".join(str(m.value) for m in tp)
    return {int: "INT", float: "NUMBER"}.get(tp, "TEXT")


def _shown(default: Any) -> Any:
    if isinstance(default, (list, tuple)):
        return ",".join(str(v) for v in default)
    if isinstance(default, enum.Enum):
        return default.value
    return default


def _parameters(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    """(field, type) of every command-line setting, nested config fields flattened after the others."""
    hints = _hints(cls)
    nested = _nested(cls)
    out = [(f, hints[f.name]) for f in _fields(cls) if f.name not in nested and f.metadata.get("cli", True)]
    for sub in nested.values():
        sub_hints = _hints(sub)
        out += [(f, sub_hints[f.name]) for f in _fields(sub) if f.metadata.get("cli", True)]
    return out


def _flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag", "--" + f.name.replace("_", "-"))


def command(
    cls: type[C], run: Callable[[C], Any], *, doc: str | None = None, config_option: bool = True
) -> Callable[..., Any]:
    """A function Typer can register (`app.command("name")(command(Cfg, run))`) whose options are `cls`'s fields.

    It reads `--config` (if given), lays the options given on the command line over it, builds the config
    (one `error: …` line and exit code 2 when a setting is wrong) and calls `run(config)`.
    """
    import typer

    params: list[inspect.Parameter] = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    ]
    flags: dict[str, str] = {}
    repeatable: set[str] = set()
    required: set[str] = set()
    for f, tp in _parameters(cls):
        meta = f.metadata
        default = default_of(f)
        help_text = meta.get("help", "").replace("[", "\\[")  # rich markup would eat [extras]
        inner, _ = _strip_optional(tp)
        if meta.get("argument"):  # never required by Typer: it may come from --config instead
            annotation = list[str] | None if _is_sequence(inner) else str | None
            info = typer.Argument(None, help=help_text, show_default=False, metavar=f.name.upper())
            flags[f.name] = f.name.upper()
            if default is dataclasses.MISSING or default in ("", ()):
                required.add(f.name)
        else:
            annotation, metavar = _cli_type(tp)
            decls = [_flag(f)]
            if "short" in meta:
                decls.append(meta["short"])
            if inner is bool and not decls[0].startswith("--no-"):
                decls = [f"{decls[0]}/--no-{decls[0][2:]}", *decls[1:]]
            shown = None if default is dataclasses.MISSING else _shown(default)
            show: bool | str = shown not in (None, "", ()) and not isinstance(shown, bool)
            if _is_sequence(inner):  # a repeatable option: its default is given as text
                shown, show = None, (show and str(_shown(default)))
                repeatable.add(f.name)
            elif shown is not None and not isinstance(shown, bool):
                shown = str(shown)
            info = typer.Option(shown, *decls, help=help_text, show_default=show, metavar=metavar)
            flags[f.name] = decls[0].split("/")[0]
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation))
    if config_option:
        params.append(inspect.Parameter(
            "config", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
            default=typer.Option(None, "--config", help="YAML file of these settings (same names; options given "
                                 "on the command line win over it)."),
        ))

    def run_command(ctx: typer.Context, **kwargs: Any) -> Any:
        if getattr(ctx, "invoked_subcommand", None):  # a group's own options, then one of its commands
            return None
        given = {k: v for k, v in kwargs.items() if k in flags and _explicit(ctx, k)}
        # `--ratios 0.2,0.3` and `--ratios 0.2 --ratios 0.3` alike
        given = {k: ",".join(v) if k in repeatable and isinstance(v, list) else v for k, v in given.items()}
        try:
            data = read_yaml(kwargs["config"], "--config") if kwargs.get("config") else {}
            source = str(kwargs["config"]) if kwargs.get("config") else None
            merged = {**{k.replace("-", "_"): v for k, v in data.items()}, **given}
            missing = [flags[name] for name in sorted(required) if merged.get(name) in (None, "", [], ())]
            if missing:
                raise ConfigError(f"missing argument {', '.join(missing)} (give it on the command line, or in "
                                  "the --config file)")
            cfg = from_mapping(cls, merged, source)
        except ConfigError as e:
            if e.setting is not None and (e.setting in given or e.source is None):
                message = f"{flags.get(e.setting, e.setting)}: {e.message}"
            else:
                message = str(e)
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(2) from None
        try:
            return run(cfg)
        except KeyboardInterrupt:  # Typer would exit 130 without a word
            pass
        gc.collect()  # the interrupted frames go first: progress bars they held close before the line below
        typer.echo(f"\n{INTERRUPTED}", err=True)
        raise typer.Exit(130)

    run_command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run_command.__annotations__ = {p.name: p.annotation for p in params}
    run_command.__doc__ = doc or (cls.__doc__ or "").strip().split("\n\n")[0]
    run_command.__name__ = f"{cls.__name__}_command"
    return run_command


def _explicit(ctx: Any, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
