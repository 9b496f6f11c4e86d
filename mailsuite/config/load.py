"""Load ``mailsuite.toml`` into :class:`~mailsuite.config.schema.Settings`.

This is the only module that reads the config file. Every mistake stops
start-up with one :class:`~mailsuite.errors.ConfigError` whose text names the
file, the key and the problem, e.g.
``etc/mailsuite.toml: [imap] listen: expected a list of strings, got 1143``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from typing import Any, TypeVar

from mailsuite.config.schema import Settings
from mailsuite.errors import ConfigError

__all__ = ["load_settings", "settings_from_mapping", "resolve_path"]

T = TypeVar("T")

# Keys of Settings that are not read from the file.
_INTERNAL_KEYS = frozenset({"base_dir"})


def load_settings(path: str, base_dir: str | None = None) -> Settings:
    """Read and check the TOML file at ``path``.

    Args:
        path: the config file.
        base_dir: directory relative paths in the config are resolved against;
            the current directory when not given.

    Raises:
        ConfigError: the file is missing, unreadable, not TOML, or has an
            unknown key or a value of the wrong type.
    """
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except PermissionError:
        raise ConfigError(f"{path}: config file not readable (permission denied)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    settings = settings_from_mapping(raw, source=path)
    return dataclasses.replace(settings, base_dir=os.path.abspath(base_dir or os.getcwd()))


def settings_from_mapping(raw: dict[str, Any], source: str = "<config>") -> Settings:
    """Build Settings from an already-parsed TOML mapping (checks as load_settings)."""
    return _build(Settings, raw, source, path=(), skip=_INTERNAL_KEYS)


def resolve_path(settings: Settings, path: str) -> str:
    """Resolve a path from the config against the config's base directory."""
    if not path or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(settings.base_dir, path))


def _where(path: tuple[str, ...]) -> str:
    if not path:
        return "top level"
    if len(path) == 1:
        return f"[{path[0]}]"
    head, *rest = path
    return f"[{head}] {'.'.join(rest)}"


def _build(
    cls: type[T],
    raw: Any,
    source: str,
    path: tuple[str, ...],
    skip: frozenset[str] = frozenset(),
) -> T:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {_where(path)}: expected a table, got {raw!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)} - skip  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            choices = ", ".join(sorted(known))
            raise ConfigError(
                f"{source}: {_where(path + (key,))}: unknown key (known here: {choices})"
            )
        kwargs[key] = _convert(hints[key], value, source, path + (key,))
    return cls(**kwargs)


def _convert(tp: Any, value: Any, source: str, path: tuple[str, ...]) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, source, path)  # type: ignore[arg-type]
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(
                f"{source}: {_where(path)}: expected a list of {_plural(item_tp)}, got {value!r}"
            )
        if dataclasses.is_dataclass(item_tp):
            return [
                _convert(item_tp, v, source, path[:-1] + (f"{path[-1]}[{i}]",))
                for i, v in enumerate(value)
            ]
        return [_convert(item_tp, v, source, path) for v in value]
    if origin is dict:
        key_tp, val_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {_where(path)}: expected a table, got {value!r}")
        return {k: _convert(val_tp, v, source, path + (k,)) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        for alt in typing.get_args(tp):
            try:
                return _convert(alt, value, source, path)
            except ConfigError:
                continue
        raise ConfigError(f"{source}: {_where(path)}: unexpected value {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{source}: {_where(path)}: expected nothing, got {value!r}")
    if tp is float:
        # TOML writes 30 and 30.0 differently; both mean the same number of seconds.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _not_negative(float(value), source, path)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return _not_negative(value, source, path)
    elif tp in (str, bool):
        if isinstance(value, tp):
            return value
    else:  # pragma: no cover - a schema type this loader does not know
        raise ConfigError(f"{source}: {_where(path)}: unsupported setting type {tp!r}")
    raise ConfigError(f"{source}: {_where(path)}: expected {_type_name(tp)}, got {value!r}")


def _not_negative(value: T, source: str, path: tuple[str, ...]) -> T:
    # Every number in the config is a size, a count, a duration or a file mode: a
    # negative one is a typo, and would otherwise surface later as odd behaviour.
    if value < 0:  # type: ignore[operator]
        raise ConfigError(f"{source}: {_where(path)}: must not be negative, got {value!r}")
    return value


def _type_name(tp: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if tp in names:
        return names[tp]
    if dataclasses.is_dataclass(tp):
        return "tables"
    return getattr(tp, "__name__", str(tp))


def _plural(tp: Any) -> str:
    names = {str: "strings", int: "integers", float: "numbers", bool: "booleans"}
    return names.get(tp, "tables")
