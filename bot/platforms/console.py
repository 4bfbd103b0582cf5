"""The local console: a chat in the terminal, and where alerts go when no platform is configured."""
from __future__ import annotations

import sys
from typing import TextIO

from bot.commands import Caller, Commands
from bot.messages import Reply


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
    name = "console"

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def deliver(self, chat_id: str, thread_id: str, reply: Reply) -> None:
        print("─" * 60, file=self.stream)
        print(render(reply), file=self.stream, flush=True)


def chat_loop(commands: Commands, stdin: TextIO, stdout: TextIO, chat_id: str = "local") -> None:
    """Read commands line by line and print the answers a chat would get."""
    caller = Caller(platform="console", chat_id=chat_id)
    interactive = stdin.isatty()
    if interactive:
        print("Dealticker-Konsole. /help zeigt die Befehle, Strg-D beendet.", file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        print(render(commands.handle(caller, line.strip())), file=stdout, flush=True)

