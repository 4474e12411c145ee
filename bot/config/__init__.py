"""Holdfast's settings: one typed, frozen object built from TOML and the environment.

This package owns the configuration schema (`schema`: sections, keys, types and
defaults), reading the TOML file and the `HOLDFAST_<SECTION>_<KEY>` environment
overrides (`load`; env wins over the file), converting values to their types
(`convert`), and validation (`validate`). Validation collects every problem before
failing, so an operator fixes the file in one pass, and each problem (worded in
`messages`) names the key, the environment variable when the value came from there,
and the fix. Secrets and personal data (tokens, the secret key, the bot's phone
number, URLs that may carry credentials) are never echoed back in a message.

Import from here (`from bot.config import Settings, load_settings`); the submodules
are how the work is divided, not a public surface.
"""

from __future__ import annotations

from bot.config.load import (
    CONFIG_ENV,
    DEFAULT_FILE,
    ENV_PREFIX,
    check_config,
    default_config_path,
    env_name,
    load_settings,
)
from bot.config.messages import MAKE_SECRET
from bot.config.schema import (
    CheckinSettings,
    ConfigError,
    ConfigProblem,
    DatabaseSettings,
    OpsSettings,
    SchedulerSettings,
    SecuritySettings,
    Settings,
    SignalSettings,
    TelegramSettings,
)

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_FILE",
    "ENV_PREFIX",
    "MAKE_SECRET",
    "CheckinSettings",
    "ConfigError",
    "ConfigProblem",
    "DatabaseSettings",
    "OpsSettings",
    "SchedulerSettings",
    "SecuritySettings",
    "Settings",
    "SignalSettings",
    "TelegramSettings",
    "check_config",
    "default_config_path",
    "env_name",
    "load_settings",
]
