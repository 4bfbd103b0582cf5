"""The small interface every chat platform adapter implements."""
from __future__ import annotations

from typing import Protocol

from bot.messages import Reply


class Platform(Protocol):
    """A chat platform: started and stopped by the runner, handed alerts to deliver."""

    name: str

    async def start(self) -> None:
        """Connect and begin answering commands."""

    async def stop(self) -> None:
        """Disconnect cleanly; pending work stays in the store."""

    async def deliver(self, chat_id: str, thread_id: str, reply: Reply) -> None:
        """Send one rendered message to one chat."""
