"""The small interface every chat platform adapter implements, and the errors it reports."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.messages import Reply

if TYPE_CHECKING:  # bot.pacing imports this module for the errors
    from bot.pacing import Pacer

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send failed; the subclass tells the delivery worker what to do about it."""


class RetryLater(DeliveryError):
    """The platform asked us to wait (Telegram RetryAfter, Slack ratelimited)."""

    def __init__(self, seconds: float, reason: str = "rate limited"):
        super().__init__(f"{reason}: retry after {seconds:g} s")
        self.seconds = seconds


class Transient(DeliveryError):
    """A network error or a 5xx: retry with backoff."""


class ChatGone(DeliveryError):
    """The bot was blocked, removed, or the channel archived: unsubscribe the chat."""


class ChatMoved(DeliveryError):
    """The chat has a new id (a Telegram group became a supergroup): move the subscription."""

    def __init__(self, new_chat_id: str):
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Rejected(DeliveryError):
    """The platform refused this one message (a bad request): mark it failed, go on."""


@dataclass(frozen=True)
class Limits:
    """Pacing a platform needs: overall messages per second, per chat, per group and minute."""

    per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0


class Platform(Protocol):
    """A chat platform: started and stopped by the runner, handed messages to deliver."""

    name: str
    limits: Limits
    pacer: Pacer  # shared by the delivery worker and the adapter's command replies

    async def start(self) -> None:
        """Connect and begin answering commands."""

    async def stop(self) -> None:
        """Disconnect cleanly; pending work stays in the store."""

    async def connected(self) -> bool:
        """Whether it receives commands and can deliver right now (for /readyz)."""

    async def send(self, chat_id: str, thread_id: str, reply: Reply, reply_to: str | None = None) -> str:
        """Send one message, as a reply to message `reply_to` when given (a story's follow-up: Telegram
        replies to it, Slack posts in its thread); return its id. Raises DeliveryError subclasses."""

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        """Replace a sent message's content, without a new notification (a story gained another outlet)."""

    def is_group(self, chat_id: str) -> bool:
        """Whether the chat is a group, for the per-group limit."""


class ApiCheck:
    """Whether a platform's API answers our credentials now (for `connected`, i.e. /readyz): a running
    client alone said nothing about a revoked token or a network that stopped reaching the API.

    Probes come every few seconds: an answer is trusted for `trust` seconds, so the API is asked about
    twice a minute; after a failure it is asked again at the next probe, so recovery shows at once.
    Concurrent probes share one question; one that takes longer than `timeout` counts as a failure."""

    def __init__(self, platform: str, ask: Callable[[], Awaitable[Any]], trust: float = 30.0, timeout: float = 5.0):
        self.platform, self.ask, self.trust, self.timeout = platform, ask, trust, timeout
        self._answered_at: float | None = None
        self._asking: asyncio.Future | None = None
        self._ok = True  # until told otherwise: only a change is logged

    async def __call__(self) -> bool:
        if self._ok and self._answered_at is not None and time.monotonic() - self._answered_at < self.trust:
            return True
        if self._asking is None or self._asking.done():
            self._asking = asyncio.ensure_future(self._question())
        return await asyncio.shield(self._asking)

    async def _question(self) -> bool:
        try:
            await asyncio.wait_for(self.ask(), self.timeout)
        except Exception as exc:  # any failure means "not connected"; never the URL (it may hold the token)
            reason = (f"no answer within {self.timeout:g} s" if isinstance(exc, TimeoutError)
                      else f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}")
            if self._ok:
                log.warning("%s: the API does not answer our credentials (%s); not ready", self.platform, reason)
            self._ok = False
        else:
            if not self._ok:
                log.warning("%s: the API answers again; ready", self.platform)
            self._ok, self._answered_at = True, time.monotonic()
        return self._ok
