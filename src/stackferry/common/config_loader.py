"""Loads a frozen-dataclass config from YAML, environment variables and command-line overrides.

Precedence: defaults < YAML file < environment (PREFIX_KEY) < command line. Unknown keys
and badly typed values are refused with a message naming the key.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file, variable or flag is wrong; the message names the key."""


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner)
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return tuple(_coerce(key, v, args[0]) for v in value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if hint is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if hint is str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return str(value)
    raise ConfigError(f"{key}: unsupported type {hint!r}")


def load_config(
    cls: type[T],
    path: str | Path | None,
    overrides: Mapping[str, Any],
    env_prefix: str,
    environ: Mapping[str, str] | None = None,
) -> T:
    """Builds ``cls`` (a frozen dataclass whose __post_init__ validates) from its sources."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must be a mapping of keys to values")
        for key, value in loaded.items():
            if key not in fields:
                raise ConfigError(
                    f"unknown key {key!r} in {path}; known keys: {', '.join(sorted(fields))}"
                )
            values[key] = value
    for key in fields:
        env_key = f"{env_prefix}{key.upper()}"
        if env_key in environ:
            values[key] = environ[env_key]
    for key, value in overrides.items():
        if key not in fields:
            raise ConfigError(f"unknown key {key!r}")
        if value is not None and value != ():
            values[key] = value
    coerced = {k: _coerce(k, v, hints[k]) for k, v in values.items()}
    try:
        return cls(**coerced)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
