"""The terminal as a chat platform: type as a user, see what everyone receives.

`holdfast console` runs the real bot (same handlers, scheduler and outbox, real
time) with this transport. Lines starting with `:` are console commands:

    :as NAME       speak as another person (each name is one user)
    :group NAME    speak inside a group chat called NAME (for /group_alerts)
    :private       back to the private chat
    :quit          leave

Every message the bot sends is printed with its recipient. Tests drive the same
class in-process with `feed()` and read `sent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.core.model import Address, Delivered, Incoming, Outgoing, Sender
from bot.transports.base import OnIncoming, render_numbered

log = logging.getLogger(__name__)


class ConsoleTransport:
    """stdin/stdout transport; also the in-process harness for end-to-end tests."""

    platform = "console"
    numbered_choices = True

    def __init__(
        self,
        *,
        user: str = "alice",
        output: TextIO | None = None,
        read_stdin: bool = True,
        on_eof: Callable[[], None] | None = None,
        files: Path | None = None,
    ) -> None:
        self.user = user
        #: Where attachments (the /mydata file) are written; None keeps them in `sent` only.
        self.files = files
        self.group: str | None = None
        self.sent: list[Outgoing] = []
        self._output = output
        self._read_stdin = read_stdin
        self._on_eof = on_eof
        self._on_incoming: OnIncoming | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)

    async def start(self, on_incoming: OnIncoming, *, receive: bool = True) -> None:
        """Begin reading lines (from stdin unless `read_stdin` is False, or not `receive`)."""
        self._on_incoming = on_incoming
        if receive and self._read_stdin and self._reader is None:
            self._reader = asyncio.create_task(self._read_loop(), name="console-reader")
        self._print(f"[console] you are {self.user}; :as NAME switches user, :quit leaves")

    async def send(self, out: Outgoing) -> Delivered:
        """Print a message with its recipient; an attachment is written to a file."""
        self.sent.append(out)
        where = f"group {out.to.chat_id}" if out.to.chat_id.startswith("#") else out.to.chat_id
        text = render_numbered(out)
        if out.attachment is not None and self.files is not None:
            self.files.mkdir(parents=True, exist_ok=True)
            path = self.files / f"{out.to.chat_id.lstrip('#')}-{out.attachment.filename}"
            path.write_bytes(out.attachment.data)
            text += f"\n[console] file saved: {path}"
        self._print(f"\n--> to {where}:\n{text}\n")
        return Delivered(message_id=str(next(self._ids)))

    async def stop(self) -> None:
        """Stop reading; idempotent."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None

    def deep_link(self, payload: str) -> str | None:
        """The console has no links; invites are shown as codes."""
        return None

    def messages_to(self, name: str) -> list[str]:
        """Texts sent to one person's chat (tests)."""
        return [render_numbered(o) for o in self.sent if o.to.chat_id == name]

    async def feed(self, line: str, *, edited: bool = False, forwarded: bool = False) -> None:
        """Handle one typed line exactly as the reader would."""
        stripped = line.strip()
        if stripped.startswith(":"):
            self._console_command(stripped)
            return
        if self._on_incoming is None:
            raise RuntimeError("console transport not started")
        chat = Address(self.platform, f"#{self.group}" if self.group else self.user)
        incoming = Incoming(
            sender=Sender(self.platform, self.user, self.user.capitalize()),
            chat=chat, is_private=self.group is None, text=line, edited=edited, forwarded=forwarded,
        )  # fmt: skip
        await self._on_incoming(incoming)

    def _console_command(self, line: str) -> None:
        word, _, arg = line[1:].partition(" ")
        if word == "as" and arg.strip():
            self.user, self.group = arg.strip().lower(), None
            self._print(f"[console] you are now {self.user}")
        elif word == "group" and arg.strip():
            self.group = arg.strip()
            self._print(f"[console] {self.user} is now in group chat #{self.group}")
        elif word == "private":
            self.group = None
            self._print(f"[console] back in {self.user}'s private chat")
        elif word in ("quit", "exit", "q"):
            if self._on_eof:
                self._on_eof()
        else:
            self._print("[console] commands: :as NAME, :group NAME, :private, :quit")

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        try:
            # A pipe or terminal: read without a thread, so stopping never hangs.
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
            readline = reader.readline
        except (ValueError, OSError):  # a regular file redirected to stdin

            async def readline() -> bytes:
                return await loop.run_in_executor(None, sys.stdin.buffer.readline)

        while True:
            raw = await readline()
            line = raw.decode("utf-8", errors="replace")
            if not line:
                if self._on_eof:
                    self._on_eof()
                return
            if line.strip():
                try:
                    await self.feed(line.rstrip("\n"))
                except Exception:
                    log.exception("console input failed", extra={"action": "console.error"})

    def _print(self, text: str) -> None:
        out = self._output or sys.stdout
        print(text, file=out, flush=True)
