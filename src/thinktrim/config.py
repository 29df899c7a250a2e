"""One path from a config dataclass to a command: CLI options, `--config file.yaml`, type checks, run.json.

Each command has one dataclass. Its fields (name, type, default, `metadata["help"]`) are the only place a
setting's default and help text are written; `command()` turns them into Typer options, a `--config` YAML with
the same names, and a `Config` with every value checked against its type. Command-line options win over the
file. Field metadata may also say:

- `flag`: the option's name when it is not `--field-name` (e.g. `--format`), `short`: a short flag (`-o`);
- `argument`: the field is a positional argument (a `tuple[str, ...]` one takes several);
- `cli`: False keeps a field out of the command line (YAML only).

A field whose type is itself a dataclass (eval's `generation`) contributes its fields as options of their own;
in YAML it may be written nested (`generation: {temperature: 0.5}`) or flat (`temperature: 0.5`).

This module is a leaf: it imports nothing else of thinktrim.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

C = TypeVar("C")


class ConfigError(ValueError):
    """A setting that does not fit its field: the message names the source and the setting."""


class Config:
    """Mixin for command config dataclasses: YAML loading, help lookup and a JSON-able dict."""

    @classmethod
    def from_mapping(cls: type[C], data: Mapping[str, Any], source: str = "config") -> C:
        return from_mapping(cls, data, source)

    @classmethod
    def from_yaml(cls: type[C], path: str | Path, **overrides: Any) -> C:
        return from_mapping(cls, {**read_yaml(path), **overrides}, str(path))

    @classmethod
    def help_of(cls, name: str) -> str:
        return field_help(cls, name)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


# ---- types ---------------------------------------------------------------------------------------------------


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=False)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) < len(get_args(tp)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True  # noqa: UP007
    return tp, False


def _is_sequence(tp: Any) -> bool:
    return get_origin(tp) in (tuple, list)


def _describe(tp: Any) -> str:
    tp, optional = _strip_optional(tp)
    if get_origin(tp) is Literal:
        text = "one of " + ", ".join(str(a) for a in get_args(tp))
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        text = "one of " + ", ".join(str(m.value) for m in tp)
    elif _is_sequence(tp):
        text = f"a list of {_describe(get_args(tp)[0])} values"
    else:
        text = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
            tp, getattr(tp, "__name__", str(tp))
        )
    return text + (" (or null)" if optional else "")


def coerce(value: Any, tp: Any, where: str) -> Any:
    """`value` as type `tp`, or a ConfigError naming `where`. Sequences also come as "a,b,c" strings."""
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where}: must be {_describe(tp)}, got null")
    origin = get_origin(tp)
    if origin is Literal:
        allowed = get_args(tp)
        if value in allowed:
            return value
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, allowed))}")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value.value if isinstance(value, enum.Enum) else value)
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not {_describe(tp)}") from None
    if _is_sequence(tp):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: must be {_describe(tp)}, got {value!r}")
        inner = get_args(tp)[0]
        items = [coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: must be a mapping of {tp.__name__} settings, got {value!r}")
        return from_mapping(tp, value, where)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: must be a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
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
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, Path):
            return str(value)
    elif tp is Any or tp is object:
        return value
    raise ConfigError(f"{where}: must be {_describe(tp)}, got {value!r}")


# ---- mapping <-> config --------------------------------------------------------------------------------------


def _fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _nested(cls: type) -> dict[str, type]:
    """Fields whose type is a dataclass: their own fields are settings too (flat on the command line)."""
    hints = _hints(cls)
    return {f.name: hints[f.name] for f in _fields(cls) if dataclasses.is_dataclass(hints[f.name])}


def from_mapping(cls: type[C], data: Mapping[str, Any], source: str = "config") -> C:
    """Build `cls` from plain data (YAML, CLI), checking every value against its field's type.

    Keys may use dashes or underscores. Unknown keys are an error that names them. Settings of a nested
    dataclass field may be given flat; errors the dataclass itself raises become ConfigErrors naming `source`.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    hints = _hints(cls)
    names = {f.name for f in _fields(cls)}
    nested = _nested(cls)
    values: dict[str, Any] = {}
    for name, sub in nested.items():
        inner = {f.name for f in _fields(sub)}
        flat = {k: data.pop(k) for k in list(data) if k in inner and k not in names}
        given = data.pop(name, None)
        if isinstance(given, sub) and not flat:
            values[name] = given
        elif given is not None or flat:
            if given is not None and not isinstance(given, Mapping):
                raise ConfigError(f"{source}: {name}: must be a mapping of {sub.__name__} settings")
            base = to_dict(given) if isinstance(given, sub) else dict(given or {})
            values[name] = from_mapping(sub, {**base, **flat}, source)
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown settings {unknown}")
    for name, value in data.items():
        values[name] = coerce(value, hints[name], f"{source}: {name}")
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{source}: {e}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping of settings, or a ConfigError naming the file (and the line, for syntax errors)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
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
    for f in _fields(cls):
        if f.name == name:
            return f.metadata.get("help", "")
    for sub in _nested(cls).values():
        for f in _fields(sub):
            if f.name == name:
                return f.metadata.get("help", "")
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


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
    names: list[str] = []
    repeatable = {f.name for f, tp in _parameters(cls)
                  if _is_sequence(_strip_optional(tp)[0]) and not f.metadata.get("argument")}
    for f, tp in _parameters(cls):
        meta = f.metadata
        default = default_of(f)
        help_text = meta.get("help", "").replace("[", "\\[")  # rich markup would eat [extras]
        if meta.get("argument"):
            inner, _ = _strip_optional(tp)
            annotation = list[str] if _is_sequence(inner) else str
            required = default is dataclasses.MISSING or default in ("", ())
            info = typer.Argument(... if required else _shown(default), help=help_text, show_default=False)
        else:
            annotation, metavar = _cli_type(tp)
            decls = [meta.get("flag", "--" + f.name.replace("_", "-"))]
            if "short" in meta:
                decls.append(meta["short"])
            if _strip_optional(tp)[0] is bool and not decls[0].startswith("--no-"):
                decls = [f"{decls[0]}/--no-{decls[0][2:]}", *decls[1:]]
            shown = None if default is dataclasses.MISSING else _shown(default)
            show: bool | str = shown not in (None, "", ()) and not isinstance(shown, bool)
            if _is_sequence(_strip_optional(tp)[0]):  # a repeatable option: its default is given as text
                shown, show = None, (show and str(_shown(default)))
            if shown is not None and not isinstance(shown, bool):
                shown = str(shown)
            info = typer.Option(shown, *decls, help=help_text, show_default=show, metavar=metavar)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation))
        names.append(f.name)
    if config_option:
        params.append(inspect.Parameter(
            "config", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
            default=typer.Option(None, "--config", help="YAML file of these settings (same names; options given "
                                 "on the command line win over it)."),
        ))

    def run_command(ctx: typer.Context, **kwargs: Any) -> Any:
        if getattr(ctx, "invoked_subcommand", None):  # a group's own options, then one of its commands
            return None
        given = {k: v for k, v in kwargs.items() if k in names and _explicit(ctx, k)}
        # `--ratios 0.2,0.3` and `--ratios 0.2 --ratios 0.3` alike
        given = {k: ",".join(v) if k in repeatable and isinstance(v, list) else v for k, v in given.items()}
        given = {k: v for k, v in given.items() if v is not None or _allows_none(cls, k)}
        try:
            data = read_yaml(kwargs["config"]) if kwargs.get("config") else {}
            cfg = from_mapping(cls, {**data, **given}, str(kwargs.get("config") or "option"))
        except ConfigError as e:
            typer.echo(f"error: {_cli_message(e)}", err=True)
            raise typer.Exit(2) from None
        return run(cfg)

    run_command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run_command.__annotations__ = {p.name: p.annotation for p in params}
    run_command.__doc__ = doc or (cls.__doc__ or "").strip().split("\n\n")[0]
    run_command.__name__ = f"{cls.__name__}_command"
    return run_command


def _explicit(ctx: Any, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _allows_none(cls: type, name: str) -> bool:
    for f, tp in _parameters(cls):
        if f.name == name:
            return _strip_optional(tp)[1]
    return False


def _cli_message(e: ConfigError) -> str:
    """`option: ratios: …` reads better as `--ratios: …` on the command line."""
    text = str(e)
    if text.startswith("option: "):
        rest = text[len("option: "):]
        name, sep, tail = rest.partition(": ")
        base, bracket, index = name.partition("[")
        if sep and base.isidentifier():
            item = f"item {int(index.rstrip(']')) + 1} " if bracket else ""
            return f"--{base.replace('_', '-')}: {item}{tail}"
        return rest
    return text
