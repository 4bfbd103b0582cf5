"""The local console: a chat in the terminal, and where alerts go when no platform is configured."""
from __future__ import annotations

import logging
import sys
import tempfile
from textwrap import indent
from typing import TextIO

from bot.commands import COMMANDS, Caller, Commands
from bot.messages import Reply
from bot.pacing import Pacer
from bot.platforms.base import Limits

log = logging.getLogger(__name__)
LOCAL = "local"  # the one console chat: `dealticker chat` and `dealticker run` share it


def render(reply: Reply) -> str:
    """Plain text: links follow their text in angle brackets, buttons become command hints."""
    out = []
    for paragraph in reply.paragraphs:
        parts = []
        for span in paragraph:
            piece = span.text.upper() if span.style == "bold" and len(span.text) < 40 else span.text
            parts.append(f"{piece} <{span.url}>" if span.url else piece)
        out.append("".join(parts))
    out += [f"[{label}: /{command}]" for label, command in reply.buttons]
    return "\n".join(out)


class ConsolePlatform:
    """Alerts printed to the terminal, through the same outbox as the chat platforms."""

    name = "console"
    limits = Limits(per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000)

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self._printed = 0
        self.pacer = Pacer(self.limits, self.is_group)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def connected(self) -> bool:
        return True

    async def send(self, chat_id: str, thread_id: str, reply: Reply, reply_to: str | None = None) -> str:
        self._printed += 1
        if reply_to:  # a follow-up: indented under the story it belongs to
            print(indent(f"↳ zu Meldung #{reply_to}\n{render(reply)}", "    "), file=self.stream, flush=True)
        else:
            print(f"─── #{self._printed} " + "─" * 50, file=self.stream)
            print(render(reply), file=self.stream, flush=True)
        return str(self._printed)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        # A terminal cannot change what it printed: print the new version, marked as such.
        print(f"─── #{message_id} aktualisiert " + "─" * 38, file=self.stream)
        print(render(reply), file=self.stream, flush=True)

    def is_group(self, chat_id: str) -> bool:
        return False


def chat_loop(commands: Commands, stdin: TextIO, stdout: TextIO, chat_id: str = LOCAL) -> None:
    """Read commands line by line and print the answers a chat would get."""
    caller = Caller(platform="console", chat_id=chat_id)
    interactive = stdin.isatty()
    if interactive:
        names = ", ".join(f"/{c.name}" for c in COMMANDS)
        print(f"Dealticker-Konsole. Befehle: {names} (/help erklärt sie). Strg-D beendet.", file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        reply = commands.handle(caller, line.strip())
        print(render(reply), file=stdout, flush=True)
        if reply.image is not None and (path := save_image(reply)):
            print(f"[Bild: {reply.image.caption} – {path}]", file=stdout, flush=True)


def save_image(reply: Reply) -> str | None:
    """A terminal cannot show the picture: it goes to a temporary file, whose path is printed."""
    try:
        with tempfile.NamedTemporaryFile("wb", prefix="dealticker-", suffix=".png", delete=False) as out:
            out.write(reply.image.png)
        return out.name
    except OSError as exc:
        log.warning("console: could not write the picture to a temporary file: %s", exc)
        return None

