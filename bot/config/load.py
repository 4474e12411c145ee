"""Reading the configuration: the TOML file, `HOLDFAST_<SECTION>_<KEY>` overrides, loading.

This module owns where settings come from (the file named by $HOLDFAST_CONFIG, else
./holdfast.toml, else defaults), merging the file with environment overrides (env
wins over the file), and `load_settings`, which converts and validates the result
and fails with every problem at once.
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from bot.config.convert import Raw, build
from bot.config.messages import Check, suggest
from bot.config.schema import DEMO_CHECKINS, SECTIONS, ConfigError, ConfigProblem, Settings
from bot.config.validate import VALIDATORS

log = logging.getLogger(__name__)

ENV_PREFIX = "HOLDFAST_"
CONFIG_ENV = "HOLDFAST_CONFIG"
DEFAULT_FILE = "holdfast.toml"


def env_name(key: str) -> str:
    """Name the environment variable for a dotted key (`checkins.grace`).

    Returns:
        e.g. HOLDFAST_CHECKINS_GRACE; it overrides the same key in the file.
    """
    return ENV_PREFIX + key.replace(".", "_").upper()


def default_config_path(env: Mapping[str, str] | None = None) -> Path | None:
    """Find the config file: $HOLDFAST_CONFIG, else ./holdfast.toml if it exists, else None."""
    env = os.environ if env is None else env
    named = env.get(CONFIG_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    local = Path(DEFAULT_FILE)
    return local if local.is_file() else None


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build validated settings from the file and environment (`env=None` reads os.environ).

    Raises:
        ConfigError: with every problem found, each naming its key and the fix.
    """
    env = os.environ if env is None else env
    check = Check()
    if path is None:
        path = default_config_path(env)
        if path is not None:
            check.origins["config"] = CONFIG_ENV if env.get(CONFIG_ENV, "").strip() else None
    data = _read_file(Path(path).expanduser(), check) if path is not None else {}
    raw = _collect(data, env, check)
    parts = {name: build(name, cls, raw, check) for name, cls in SECTIONS.items()}
    if parts["checkins"].demo:  # demo defaults fill only what the configuration leaves unset
        unset = {k: v for k, v in DEMO_CHECKINS.items() if f"checkins.{k}" not in raw}
        parts["checkins"] = replace(parts["checkins"], **unset)
    settings = Settings(**parts, source=str(path) if path is not None else "defaults")
    for validate in VALIDATORS:
        validate(settings, check)
    if check.problems:
        raise ConfigError(check.problems)
    log.debug("settings loaded", extra={"action": "config.load", "source": settings.source})
    return settings


def check_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Return every configuration problem, or [] when the configuration is fine."""
    try:
        load_settings(path, env)
    except ConfigError as exc:
        return exc.problems
    return []


# --- reading -------------------------------------------------------------------------


def _read_file(path: Path, check: Check) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        check.add("config", "file.missing", path=path)
    except tomllib.TOMLDecodeError as exc:  # its message gives line and column, not content
        check.add("config", "file.syntax", path=path, error=exc)
    except UnicodeDecodeError:
        check.add("config", "file.encoding", path=path)
    except OSError as exc:
        check.add("config", "file.unreadable", path=path, error=exc.strerror)
    return {}


def _keys(section: str) -> list[str]:
    return [item.name for item in fields(SECTIONS[section])]


def _collect(data: dict[str, Any], env: Mapping[str, str], check: Check) -> dict[str, Raw]:
    """Merge file and environment into raw values per dotted key; env wins."""
    raw: dict[str, Raw] = {}
    for name, table in data.items():
        if name not in SECTIONS:
            hint = suggest(name, list(SECTIONS), lambda s: f"[{s}]")
            check.add(name, "section.unknown", name=name, hint=hint, known=", ".join(SECTIONS))
        elif not isinstance(table, dict):
            check.add(name, "section.not_table", name=name)
        else:
            for key, value in table.items():
                _put(raw, name, key, Raw(value, None), check)
    for name in sorted(env):
        if name.startswith(ENV_PREFIX):
            _collect_env(raw, name, env[name], check)
    check.origins.update({key: item.env_var for key, item in raw.items()})
    return raw


def _collect_env(raw: dict[str, Raw], name: str, value: str, check: Check) -> None:
    """Take HOLDFAST_<SECTION>_<KEY>; other HOLDFAST_* names (HOLDFAST_CONFIG…) are not ours."""
    section, _, key = name.removeprefix(ENV_PREFIX).lower().partition("_")
    if section in SECTIONS:
        _put(raw, section, key, Raw(value, name), check)
        return
    # A near miss such as HOLDFAST_TELEGRM_TOKEN would otherwise be silently ignored.
    close = difflib.get_close_matches(section, list(SECTIONS), n=1, cutoff=0.8)
    if close:
        hint = f"; did you mean {env_name(f'{close[0]}.{key}')}?"
        check.add(f"{section}.{key}", "env.unknown", name=name, hint=hint)


def _put(raw: dict[str, Raw], section: str, key: str, item: Raw, check: Check) -> None:
    known = _keys(section)
    if key in known:
        raw[f"{section}.{key}"] = item
    elif item.env_var:
        hint = suggest(key, known, lambda k: env_name(f"{section}.{k}"))
        check.add(f"{section}.{key}", "env.unknown", name=item.env_var, hint=hint)
    else:
        hint = suggest(key, known, lambda k: f'"{k}"')
        known_text = ", ".join(known)
        check.add(f"{section}.{key}", "key.unknown", section=section, hint=hint, known=known_text)
