"""Field encryption at rest and slow hashes for secrets people type.

Notes, reasons, SOS messages, display names and outgoing message bodies are stored
through `SecretText`, which calls `encrypt_field`/`decrypt_field` here. The cipher is
AES-256-GCM (authenticated) with a key derived from `security.secret_key` by HKDF;
each value carries the id of the key that sealed it, so `holdfast rotate-key` can
re-encrypt row by row while old values stay readable.

The cipher is process-wide because SQLAlchemy column types have no other way to
reach it; `configure()` is called once at start-up by the app (and by tests).

The duress word and the safe PIN are never stored, only salted scrypt hashes,
compared in constant time. When a key is set the hash is also sealed with it: a
PIN has few digits, and a copy of the database alone must not let anyone try them
all offline.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "hf1"


class DecryptionError(Exception):
    """A stored value could not be decrypted: wrong or missing `security.secret_key`."""


@dataclass(frozen=True)
class _Key:
    key_id: str
    aead: AESGCM
    siv: AESSIV  # deterministic: the same id always seals to the same value


def _derive(secret: str) -> _Key:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"holdfast-field-v1", info=b"fields")
    key = raw.derive(secret.encode("utf-8"))
    key_id = hashlib.sha256(b"holdfast-key-id" + key).hexdigest()[:8]
    ids = HKDF(algorithm=hashes.SHA256(), length=64, salt=b"holdfast-ids-v1", info=b"ids")
    return _Key(key_id, AESGCM(key), AESSIV(ids.derive(secret.encode("utf-8"))))


_current: _Key | None = None
_all: dict[str, _Key] = {}


def configure(secret_key: str, old_keys: tuple[str, ...] = ()) -> None:
    """Set the key that seals new values (empty: store in clear) and keys that open old ones."""
    global _current, _all
    keys = [_derive(k) for k in (secret_key, *old_keys) if k]
    _current = keys[0] if secret_key else None
    _all = {k.key_id: k for k in keys}


def is_configured() -> bool:
    """True when new values are encrypted."""
    return _current is not None


def encrypt_field(value: str) -> str:
    """Seal a value with the current key; without a key, return it unchanged."""
    if _current is None:
        return value
    nonce = os.urandom(12)
    sealed = _current.aead.encrypt(nonce, value.encode("utf-8"), _PREFIX.encode())
    return f"{_PREFIX}:{_current.key_id}:{base64.b64encode(nonce + sealed).decode()}"


def looks_sealed(stored: str) -> bool:
    """True only for the exact shape `encrypt_field` writes: `hf1:<8 hex>:<base64>`.

    Text typed by a person and stored in clear by an older Holdfast (one that ran
    without a key), such as "hf1:x:y", does not have this shape and is never taken
    for a sealed value.
    """
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not _KEY_ID.fullmatch(parts[1]):
        return False
    try:
        blob = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(blob) >= 12 + 16  # nonce + GCM tag at least


_KEY_ID = re.compile(r"[0-9a-f]{8}")


def decrypt_field(stored: str) -> str:
    """Open a sealed value; a value stored in clear (no key at the time) comes back as is."""
    if not looks_sealed(stored):
        return stored
    try:
        _, key_id, payload = stored.split(":", 2)
        key = _all[key_id]
        blob = base64.b64decode(payload)
        return key.aead.decrypt(blob[:12], blob[12:], _PREFIX.encode()).decode("utf-8")
    except KeyError as exc:
        raise DecryptionError(
            "a stored value was sealed with a key that is not configured; "
            "set security.secret_key (HOLDFAST_SECURITY_SECRET_KEY) to the key in use"
        ) from exc
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("a stored value is corrupt or was sealed with another key") from exc


def sealed_with(stored: str) -> str | None:
    """The id of the key that sealed a stored value; None for a value stored in clear."""
    if not looks_sealed(stored):
        return None
    return stored.split(":", 2)[1]


def current_key_id() -> str | None:
    """The id of the key that seals new values (None: no key, values stored in clear)."""
    return _current.key_id if _current is not None else None


def is_sealed_with_current(stored: str) -> bool:
    """True if the value is already sealed with the current key (for key rotation)."""
    if _current is None:
        return not looks_sealed(stored)
    return looks_sealed(stored) and stored.startswith(f"{_PREFIX}:{_current.key_id}:")


# -- platform ids: sealed, yet still comparable in SQL ----------------------------------

_ID_PREFIX = "hs1"
_ID_SHAPE = re.compile(r"hs1:[0-9a-f]{8}:[A-Za-z0-9_-]{22,}")


def seal_id(value: str) -> str:
    """Seal a platform id, chat id or natural key deterministically (AES-SIV).

    The same value always seals to the same text under one key, so SQL can still
    look it up, join on it and keep it unique (what a blind index gives), while a
    copy of the database shows no Telegram id, phone number or chat id. Equality is
    all it reveals, and only between rows that hold the same id anyway.
    """
    if _current is None:
        return value
    sealed = _current.siv.encrypt(value.encode("utf-8"), [_ID_PREFIX.encode()])
    return f"{_ID_PREFIX}:{_current.key_id}:{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"


def looks_sealed_id(stored: str) -> bool:
    """True only for the exact shape `seal_id` writes."""
    return _ID_SHAPE.fullmatch(stored) is not None


def open_id(stored: str) -> str:
    """Open a sealed id; an id stored in clear by an older Holdfast comes back as is."""
    if not looks_sealed_id(stored):
        return stored
    _, key_id, payload = stored.split(":", 2)
    try:
        key = _all[key_id]
        blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        return key.siv.decrypt(blob, [_ID_PREFIX.encode()]).decode("utf-8")
    except KeyError as exc:
        raise DecryptionError(
            "a stored id was sealed with a key that is not configured; "
            "set security.secret_key (HOLDFAST_SECURITY_SECRET_KEY) to the key in use"
        ) from exc
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("a stored id is corrupt or was sealed with another key") from exc


def id_sealed_with_current(stored: str) -> bool:
    """True if a stored id is already sealed with the current key (for key rotation)."""
    if _current is None:
        return not looks_sealed_id(stored)
    return stored.startswith(f"{_ID_PREFIX}:{_current.key_id}:")


# -- secrets people type: duress word, PIN -------------------------------------------

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of a normalised secret, `scrypt$salt$hash` (base64), sealed.

    Sealed with the current key when one is set (`encrypt_field`), so it is rotated
    with everything else and useless without the key.
    """
    salt = os.urandom(16)
    digest = hashlib.scrypt(_normalise(secret), salt=salt, dklen=32, **_SCRYPT)
    hashed = f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    return encrypt_field(hashed)


def verify_secret(secret: str, stored: str | None) -> bool:
    """Compare a typed secret with its stored hash in constant time.

    A missing, malformed or unopenable stored hash never matches (and never raises):
    a wrong PIN is never accepted, and the clock keeps running.
    """
    if not stored:
        return False
    try:
        scheme, salt_b64, digest_b64 = decrypt_field(stored).split("$")
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
    except (ValueError, binascii.Error, DecryptionError):
        return False
    if scheme != "scrypt" or not salt or len(expected) != 32:
        return False
    digest = hashlib.scrypt(_normalise(secret), salt=salt, dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, expected)


#: scrypt runs on this one thread: however many people send PINs and duress words at
#: once, the slow hashes take at most one core, and the event loop (alerts, other
#: people's messages) keeps the other.
_SCRYPT_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scrypt")


async def hash_secret_async(secret: str) -> str:
    """`hash_secret` off the event loop: scrypt is deliberately slow (about 0.1 s)."""
    return await asyncio.get_running_loop().run_in_executor(_SCRYPT_THREAD, hash_secret, secret)


async def verify_secret_async(secret: str, stored: str | None) -> bool:
    """`verify_secret` off the event loop, so other people's messages are not held up."""
    if not stored:
        return False
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_SCRYPT_THREAD, verify_secret, secret, stored)


def _normalise(secret: str) -> bytes:
    """NFKC, case-folded, whitespace collapsed: `Ｔａｎｇｏ` and ` tango ` are one word."""
    text = unicodedata.normalize("NFKC", secret)
    return " ".join(text.split()).casefold().encode("utf-8")
