"""Where the secret key comes from: the configuration, or a key file made on first start.

There is no plaintext mode. `security.secret_key` (best from the environment) wins;
without it, `holdfast run` and `holdfast console` use a key file, creating one with
a random key on first start. The file lives in the user's configuration folder
(`$XDG_CONFIG_HOME/holdfast/secret.key`, else `~/.config/holdfast/secret.key`) unless
`security.key_file` says otherwise, so that copying the database's folder does not
copy the key with it. It is created 0600, and a key file readable by others is
refused at start-up with the command that fixes it.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.config.validate import MIN_KEY_BITS, key_strength_bits


class KeyFileError(Exception):
    """The key file cannot be read, made or trusted; the message names the key and the fix."""


@dataclass(frozen=True)
class KeySource:
    """Where the key in use came from, for the operator (`check-config`, start-up)."""

    description: str
    created: bool = False


def default_key_file() -> Path:
    """The key file's default place: the user's configuration folder, not the data folder."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "holdfast" / "secret.key"


def key_file_path(settings: Settings) -> Path:
    """`security.key_file`, or the default place."""
    configured = settings.security.key_file
    return Path(configured).expanduser() if configured else default_key_file()


def describe(settings: Settings) -> KeySource:
    """Where the key would come from, without creating anything (for `check-config`)."""
    if settings.security.secret_key:
        return KeySource("security.secret_key (HOLDFAST_SECURITY_SECRET_KEY)")
    path = key_file_path(settings)
    if path.exists():
        return KeySource(f"the key file {path} (security.key_file)")
    return KeySource(f"a new key file, made on first start at {path} (security.key_file)")


def with_key(settings: Settings) -> tuple[Settings, KeySource]:
    """The settings with a key in `security.secret_key`, reading or making the key file.

    Raises:
        KeyFileError: the file cannot be made or read, is readable by others, or holds
            a weak key.
    """
    if settings.security.secret_key:
        return settings, describe(settings)
    path = key_file_path(settings)
    created = not path.exists()
    key = _make(path) if created else _read(path)
    security = dataclasses.replace(settings.security, secret_key=key)
    where = f"the key file {path} (security.key_file)"
    return dataclasses.replace(settings, security=security), KeySource(where, created)


def _make(path: Path) -> str:
    key = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it a moment ago: use theirs
        return _read(path)
    except OSError as error:
        raise KeyFileError(
            f"security.key_file: cannot create {path} ({error.strerror}); set "
            "security.key_file to a writable path, or set HOLDFAST_SECURITY_SECRET_KEY"
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key + "\n")
        file.flush()
        os.fsync(file.fileno())
    return key


def _read(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not a key file"
        raise KeyFileError(
            f"security.key_file: cannot read {path} ({reason}); fix the file or set "
            "HOLDFAST_SECURITY_SECRET_KEY"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"security.key_file: {path} can be read by other users; run: chmod 600 {path}"
        )
    if len(key) < 32 or key_strength_bits(key) < MIN_KEY_BITS:
        raise KeyFileError(
            f"security.key_file: {path} does not hold a strong key; restore it from your "
            "backup (never replace it: data sealed with it could not be read)"
        )
    return key
