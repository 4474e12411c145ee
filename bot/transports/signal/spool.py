"""Signal frames received while the database is away, kept on local disk until replayed.

signal-cli-rest-api has acknowledged a message to Signal by the time it reaches our
websocket, and it keeps nothing: a frame the app cannot record now is lost unless
we keep it. So while the database is unreachable the transport appends each frame
to an append-only file (mode 0600, each line sealed with `security.secret_key` like
the database's columns, flushed to disk before the next frame is read), and replays
the file in order once the database is back. Frames that arrive while a replay is
still going are appended behind it, so the order is kept. A frame handled twice
(a crash between handling and the file being emptied) is dropped by the app's
dedupe key, so each is handled exactly once.

Without a path the spool is kept in memory only: the order is kept, but a crash
loses it.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from pathlib import Path

from bot.store import crypto

log = logging.getLogger(__name__)


class Spool:
    """An ordered queue of raw frames, mirrored to an append-only file when `path` is set."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self._frames: deque[str] = deque()
        self._loaded = False

    def __len__(self) -> int:
        self.load()
        return len(self._frames)

    def load(self) -> None:
        """Read frames left by an earlier run (once); unreadable lines are logged and skipped."""
        if self._loaded:
            return
        self._loaded = True
        if self.path is None or not self.path.exists():
            return
        bad = 0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line:
                continue
            try:
                self._frames.append(crypto.decrypt_field(line))
            except crypto.DecryptionError:
                bad += 1
        if self._frames:
            log.warning(
                "Signal messages kept while the database was away will be handled now",
                extra={"action": "signal.spool_found", "count": len(self._frames)},
            )
        if bad:
            log.error(
                "Signal messages kept on disk could not be read (another secret key?)",
                extra={"action": "signal.spool_unreadable", "count": bad},
            )

    def append(self, raw: str) -> None:
        """Keep a frame at the end of the queue (on disk before this returns)."""
        self.load()
        if self.path is not None:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (crypto.encrypt_field(raw) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        self._frames.append(raw)

    def first(self) -> str | None:
        """The oldest frame not yet handled, or None."""
        self.load()
        return self._frames[0] if self._frames else None

    def done(self) -> None:
        """The oldest frame was handled; when none is left the file is removed."""
        self._frames.popleft()
        if not self._frames and self.path is not None:
            self.path.unlink(missing_ok=True)
