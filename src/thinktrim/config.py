"""One path from a config dataclass to a command: CLI options, `--config file.yaml`, checks, run.json.

Each command has one dataclass. Its fields (name, type, default, `metadata["help"]`) are the only place a
setting's default, help text and constraints are written; `command()` turns them into Typer options, a
`--config` YAML with the same names, and a config with every value checked. Command-line options win over the
file. A config built in Python is checked the same way (`Config.__post_init__`), so a wrong value gets the same
one-line error whichever way it came. Field metadata may say:

- `help`: the option's help; `like()` copies another command's field (default and help) with changes;
- `flag`: the option's name when it is not `--field-name` (e.g. `--format`), `short`: a short flag (`-o`);
- `argument`: the field is a positional argument (a `tuple[str, ...]` one takes several);
- `cli`: False keeps a field out of the command line (YAML only); `secret`: never written to a run record;
- `old`: earlier spellings of the setting (`("dtype",)`) or of its flag (`("--output",)`), still accepted with
  a warning for one release;
- `spellings`: other accepted spellings of values (`{"float32": "fp32"}`);
- constraints, checked in one place (`check_value`): `min`/`max` (inclusive), `above`/`below` (exclusive),
  `nonempty`, `path` ("file" or "folder": must exist as one), and `check`, a function that raises ValueError
  with the reason.

A field whose type is itself a dataclass (eval's `generation`) contributes its fields as settings of their own:
on the command line as options, in YAML nested (`generation: {temperature: 0.5}`) or flat (`temperature: 0.5`).
Its `prefix` metadata puts a prefix before them (refine's `judge` gives `--judge-url`, `judge_url`).

Errors carry the setting's name as data (`ConfigError.setting`) and name what to fix in one line:
`--limit: must be >= 1, got 0` for an option, `run.yaml: limit: expected an integer, got 'ten'` for a file,
`limit: must be >= 1, got 0` from Python. Checks across fields go in a config's `check()` method, which raises
ConfigError naming the setting.

This module imports nothing of thinktrim but `thinktrim.errors`. (Types, the mapping to a config and the Typer
wiring are one mechanism; split, each part would need the others' rules.)
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import inspect
import math
import re
import types
import typing
import warnings
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


class _Settings(type):
    """Configs take their settings as YAML and the command line give them, from Python too: `RefineConfig(
    input=..., on_error="skip", judge_url=...)` puts the nested configs' settings in place (`group_settings`)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            kwargs = group_settings(cls, kwargs)
            unknown = sorted(set(kwargs) - {f.name for f in _fields(cls)})
            if unknown:
                raise ConfigError(f"unknown settings {unknown}")
        return super().__call__(*args, **kwargs)


class Config(metaclass=_Settings):
    """Base of every config dataclass: checks on construction, YAML loading, help lookup, a JSON-able dict.

    Subclasses put checks across fields (and normalisation) in `check()`, not in `__post_init__`."""

    def __post_init__(self) -> None:
        check_fields(self)
        self.check()

    def check(self) -> None:
        """Checks across fields; raise ConfigError(message, setting)."""

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

    def settings(self) -> dict[str, Any]:
        """Every setting by the name the command line and YAML give it (nested configs flat): for run records."""
        return flat_settings(self)


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


def _dataclass_of(tp: Any) -> type | None:
    """The dataclass a field holds (`X` or `X | None`), else None."""
    inner, _ = _strip_optional(tp)
    return inner if isinstance(inner, type) and dataclasses.is_dataclass(inner) else None


def _nested(cls: type) -> dict[str, tuple[type, str]]:
    """Fields whose type is a dataclass, with the prefix of their settings: their fields are settings too."""
    hints = _hints(cls)
    out = {}
    for f in _fields(cls):
        sub = _dataclass_of(hints[f.name])
        if sub is not None:
            out[f.name] = (sub, f.metadata.get("prefix", ""))
    return out


def _all_settings(cls: type) -> list[tuple[str, dataclasses.Field, Any]]:
    """(setting name, field, type) of every setting: own fields, then nested configs' under their prefix."""
    hints = _hints(cls)
    nested = _nested(cls)
    out = [(f.name, f, hints[f.name]) for f in _fields(cls) if f.name not in nested]
    for sub, prefix in nested.values():
        sub_hints = _hints(sub)
        out += [(prefix + f.name, f, sub_hints[f.name]) for f in _fields(sub)]
    return out


def _bound_text(f: dataclasses.Field) -> str | None:
    """The range a field's constraints allow, as text ("must be >= 1", "must be in (0, 1]"), or None."""
    m = f.metadata
    low, low_open = (m["above"], True) if "above" in m else (m.get("min"), False)
    high, high_open = (m["below"], True) if "below" in m else (m.get("max"), False)
    if low is None and high is None:
        return None
    if high == math.inf and low is not None:
        return f"must be a finite number {'>' if low_open else '>='} {low}"
    if low is not None and high is not None:
        return f"must be in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"must be {'>' if low_open else '>='} {low}"
    return f"must be {'<' if high_open else '<='} {high}"


def _in_bounds(f: dataclasses.Field, value: float) -> bool:
    m = f.metadata  # written as `not (x >= low)` so NaN fails every bound
    return not (("min" in m and not value >= m["min"]) or ("above" in m and not value > m["above"])
                or ("max" in m and not value <= m["max"]) or ("below" in m and not value < m["below"]))


def check_value(f: dataclasses.Field, tp: Any, value: Any, setting: str | None = None) -> Any:
    """`value` as the field's type, within its constraints, or a ConfigError naming the setting: the one place
    a single setting is checked, for YAML, the command line and Python alike."""
    setting = setting or f.name
    if isinstance(value, str) and value in f.metadata.get("spellings", {}):  # e.g. float32 for fp32
        value = f.metadata["spellings"][value]
    value = coerce(value, tp, setting)
    if value is None:
        return value
    m = f.metadata
    numbers = value if isinstance(value, (list, tuple)) else (value,)
    for v in numbers:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not _in_bounds(f, v):
            raise ConfigError(f"{_bound_text(f)}, got {v}", setting)
    if m.get("nonempty") and isinstance(value, (str, list, tuple)) and not (
            value.strip() if isinstance(value, str) else value):
        raise ConfigError("required" if value == default_of(f) else "must not be empty", setting)
    kind = m.get("path")
    if kind is not None:
        for v in value if isinstance(value, (list, tuple)) else (value,):
            path = Path(v)
            if not path.exists():
                raise ConfigError(f"{v}: no such {'file' if kind == 'file' else 'folder'}", setting)
            if kind == "file" and path.is_dir():
                raise ConfigError(f"{v}: is a folder; give a file", setting)
            if kind == "folder" and not path.is_dir():
                raise ConfigError(f"{v}: is a file; give a folder", setting)
    check = m.get("check")
    if check is not None:
        try:
            check(value)
        except ConfigError as e:
            raise ConfigError(e.message, setting) from None
        except ValueError as e:
            raise ConfigError(str(e), setting) from None
    return value


def check_fields(cfg: Any) -> None:
    """Check (and coerce) every field of a config built in Python, as `from_mapping` does for YAML and CLI."""
    hints = _hints(type(cfg))
    for f in _fields(type(cfg)):
        object.__setattr__(cfg, f.name, check_value(f, hints[f.name], getattr(cfg, f.name)))


def setting_names(cls: type) -> set[str]:
    """Every setting of a config, nested configs' included (with their prefix)."""
    return {name for name, _, _ in _all_settings(cls)}


def _renamed(cls: type) -> dict[str, str]:
    """Old setting name -> current one, from the fields' `old` metadata (nested configs' with their prefix)."""
    out = {}
    for name, f, _ in _all_settings(cls):
        prefix = name[: len(name) - len(f.name)]
        for old in f.metadata.get("old", ()):
            if not old.startswith("-"):
                out[prefix + old] = name
    return out


def renamed_message(old: str, new: str, where: str = "") -> str:
    return f"{where}{old} is now called {new}; the old name goes in the next release"


def warn_renamed(old: str, new: str, where: str = "") -> None:
    """A FutureWarning for a setting spelled the old way (accepted for one release)."""
    warnings.warn(renamed_message(old, new, where), FutureWarning, stacklevel=4)


def group_settings(cls: type, data: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Settings by their flat names (as YAML and the command line give them, old names included) grouped into
    `cls`'s own fields: a nested config's settings become one value of its type. Keys `cls` does not know are
    left for the caller to report. `where` ("run.yaml: ") starts a warning about an old name."""
    data = dict(data)
    for old, new in _renamed(cls).items():
        if old in data:
            warn_renamed(old, new, where)
            value = data.pop(old)
            data.setdefault(new, value)
    hints = _hints(cls)
    own = {f.name for f in _fields(cls)}
    for name, (sub, prefix) in _nested(cls).items():
        inner = {prefix + f.name: f.name for f in _fields(sub)}
        flat = {inner[k]: data.pop(k) for k in list(data) if k in inner and k not in own}
        given = data.pop(name, None)
        try:
            if given is None and _strip_optional(hints[name])[1] and _all_defaults(sub, flat):
                continue  # an optional part (refine's judge) none of whose settings was given
            if isinstance(given, sub):
                data[name] = dataclasses.replace(given, **flat) if flat else given
            elif given is None or isinstance(given, Mapping):
                data[name] = from_mapping(sub, {**(given or {}), **flat})
            else:
                raise ConfigError(f"expected a mapping of {sub.__name__} settings, got {given!r}", name)
        except ConfigError as e:
            raise ConfigError(e.message, prefix + e.setting if e.setting else name) from None
    return data


def from_mapping(cls: type[C], data: Mapping[str, Any], source: str | None = None) -> C:
    """Build `cls` from plain data (YAML, CLI), checking every value (`check_value`).

    Keys may use dashes or underscores. Unknown keys are an error that names them; old names of renamed
    settings are taken with a warning. Settings of a nested dataclass field may be given flat (with its prefix)
    or as a mapping under the field's name.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping of settings, got {type(data).__name__}", source=source)
    try:
        values = group_settings(cls, {str(k).replace("-", "_"): v for k, v in data.items()},
                                f"{source}: " if source else "")
        hints = _hints(cls)
        by_name = {f.name: f for f in _fields(cls)}
        unknown = sorted(set(values) - set(by_name))
        if unknown:
            raise ConfigError(f"unknown settings {unknown}")
        return cls(**{k: check_value(by_name[k], hints[k], v) for k, v in values.items()})
    except ConfigError as e:
        raise ConfigError(e.message, e.setting, e.source or source) from None


def setting_defaults(cls: type) -> dict[str, Any]:
    """Every setting's default by its flat name, as `flat_settings` records it (for records written before a
    setting existed)."""
    out = {}
    for name, f, _ in _all_settings(cls):
        default = to_dict(default_of(f))
        out[name] = None if default == "" or default is dataclasses.MISSING else default
    return out


def _all_defaults(cls: type, values: Mapping[str, Any]) -> bool:
    """Whether every value is None or its field's default (a record of a config that had no such part)."""
    fields = {f.name: f for f in _fields(cls)}
    return all(v is None or v == to_dict(default_of(fields[k])) for k, v in values.items() if k in fields)


def flat_settings(cfg: Any) -> dict[str, Any]:
    """A config's settings as plain values keyed by the names YAML and the command line use (nested flat)."""
    out: dict[str, Any] = {}
    nested = _nested(type(cfg))
    for f in _fields(type(cfg)):
        value = getattr(cfg, f.name)
        if f.name in nested:  # an absent optional part records its defaults ("" as None): as before it was one
            sub, prefix = nested[f.name]
            for f2 in _fields(sub):
                if not f2.metadata.get("secret"):
                    v = getattr(value, f2.name) if value is not None else default_of(f2)
                    v = None if v == "" else v
                    out[prefix + f2.name] = to_dict(v)
        elif not f.metadata.get("secret"):
            out[f.name] = to_dict(value)
    return out


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
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v) if not f.metadata.get("secret")}
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
    """The help text of a setting (nested config settings included, by their prefixed name)."""
    for setting, f, _ in _all_settings(cls):
        if setting == name:
            return f.metadata.get("help", "")
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


def like(cls: type, name: str, *, more_help: str = "", **changes: Any) -> Any:
    """A field with the default, help and constraints of `cls.name`, so a command sharing a setting with another
    writes neither again: the one way settings are shared. `changes` set another default (`default=`) or
    metadata entries (`help=`, `flag=`) where the setting starts elsewhere; `more_help` is added to the help."""
    f = {x.name: x for x in dataclasses.fields(cls)}[name]
    default = changes.pop("default", dataclasses.MISSING)
    metadata = {**f.metadata, **changes}
    if more_help:
        metadata["help"] = f"{metadata.get('help', '')} {more_help}".strip()
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


def _parameters(cls: type) -> list[tuple[str, dataclasses.Field, Any]]:
    """(setting, field, type) of every command-line setting, nested config fields flattened after the others."""
    return [(name, f, tp) for name, f, tp in _all_settings(cls) if f.metadata.get("cli", True)]


def _flag(setting: str, f: dataclasses.Field) -> str:
    return f.metadata.get("flag", "--" + setting.replace("_", "-"))


def _old_flags(setting: str, f: dataclasses.Field) -> list[str]:
    """The flags a setting had before it was renamed (`old` metadata: flags, or setting names)."""
    prefix = setting[: len(setting) - len(f.name)]
    return [old if old.startswith("-") else "--" + (prefix + old).replace("_", "-")
            for old in f.metadata.get("old", ())]


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
    old_flags: dict[str, tuple[str, str]] = {}  # parameter -> (its old flag, the setting it now sets)
    for setting, f, tp in _parameters(cls):
        meta = f.metadata
        default = default_of(f)
        help_text = meta.get("help", "").replace("[", "\\[")  # rich markup would eat [extras]
        inner, _ = _strip_optional(tp)
        if meta.get("argument"):  # never required by Typer: it may come from --config instead
            annotation = list[str] | None if _is_sequence(inner) else str | None
            info = typer.Argument(None, help=help_text, show_default=False, metavar=setting.upper())
            flags[setting] = setting.upper()
            if default is dataclasses.MISSING or default in ("", ()):
                required.add(setting)
        else:
            annotation, metavar = _cli_type(tp)
            decls = [_flag(setting, f)]
            if "short" in meta:
                decls.append(meta["short"])
            if inner is bool and not decls[0].startswith("--no-"):
                decls = [f"{decls[0]}/--no-{decls[0][2:]}", *decls[1:]]
            shown = None if default is dataclasses.MISSING else _shown(default)
            show: bool | str = shown not in (None, "", ()) and not isinstance(shown, bool)
            if _is_sequence(inner):  # a repeatable option: its default is given as text
                shown, show = None, (show and str(_shown(default)))
                repeatable.add(setting)
            elif shown is not None and not isinstance(shown, bool):
                shown = str(shown)
            info = typer.Option(shown, *decls, help=help_text, show_default=show, metavar=metavar)
            flags[setting] = decls[0].split("/")[0]
            for i, old in enumerate(_old_flags(setting, f)):  # hidden, for one release
                name = f"old_{i}_{setting}"
                old_flags[name] = (old, setting)
                old_decls = [f"{old}/--no-{old[2:]}"] if inner is bool else [old]
                params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                                                default=typer.Option(None, *old_decls, hidden=True)))
        params.append(inspect.Parameter(setting, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation))
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
        for name, (old, setting) in old_flags.items():
            if _explicit(ctx, name):
                typer.echo(f"warning: {renamed_message(old, flags[setting])}", err=True)
                given.setdefault(setting, kwargs[name])
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
            with warnings.catch_warnings(record=True) as renamed:
                warnings.simplefilter("always", FutureWarning)
                cfg = from_mapping(cls, merged, source)
            for w in renamed:
                typer.echo(f"warning: {w.message}", err=True)
        except ConfigError as e:
            if e.setting is not None and (e.setting in given or e.source is None):
                message = f"{flags.get(e.setting, e.setting)}: {e.message}"
            else:
                message = str(e)
            from thinktrim.errors import exit_user_error

            exit_user_error(e, message)  # one line and exit 2 (its traceback too under --debug)
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
