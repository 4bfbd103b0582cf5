"""Which of the instances sharing a database polls the feeds and receives Telegram updates: the leader."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.platforms.base import Platform
from bot.store import Store
from bot.store.lease import InstanceLock, Standing

log = logging.getLogger(__name__)
# How often an instance tries to take the lock, and the leader confirms it still has it: a dead
# leader is replaced within about this long (its session ends with its process), and a leader whose
# connection failed stops polling within it.
CHECK_EVERY = 5.0


def single_receivers(platforms: dict[str, Platform]) -> list:
    """Platforms of which only one instance may receive commands (Telegram long polling).
    Slack keeps receiving everywhere: in Socket Mode Slack hands each event to one of the app's
    open connections (it allows several), and in HTTP mode it POSTs each one once."""
    return [p for p in platforms.values() if getattr(p, "single_receiver", False)]


class Leadership:
    """Keeps checking the leader lock. On gaining it: `on_gain` (the runner starts polling) and the
    single receivers start; on losing it (or at the end): they stop and `on_loss` runs. Each check
    also tells every platform's pacer how many instances share the bot's overall rate."""

    def __init__(self, store: Store, platforms: dict[str, Platform],
                 on_gain: Callable[[], Awaitable[None]], on_loss: Callable[[], Awaitable[None]]):
        self.lock = InstanceLock(store.engine)
        self.platforms = platforms
        self.on_gain = on_gain
        self.on_loss = on_loss
        self.is_leader = False
        self.instances = 1
        self._checking = asyncio.Lock()  # the poll job's confirm and the loop share one connection

    async def check(self) -> Standing:
        async with self._checking:
            return await self._check()

    async def _check(self) -> Standing:
        standing = await asyncio.to_thread(self.lock.check)
        if standing.instances != self.instances:
            if self.lock.shared:
                log.info("instances sharing this database: %d", standing.instances)
            self.instances = standing.instances
            for platform in self.platforms.values():
                platform.pacer.share(standing.instances)
        if standing.leader and not self.is_leader:
            self.is_leader = True
            if self.lock.shared:
                log.info("this instance is the leader now: it polls the feeds and receives Telegram updates")
            await self.on_gain()
        if standing.leader:
            await self._receivers("start_receiving")  # again at each check if it failed before
        elif self.is_leader:
            log.warning("this instance lost the leader lock: it stops polling until it holds the lock again")
            await self._lose()
        return standing

    async def confirm(self) -> bool:
        """Right before a poll: still the leader? (A lost lock is noticed here, not a check later.)"""
        return (await self.check()).leader

    async def run(self, stop: asyncio.Event) -> None:
        """Check every CHECK_EVERY seconds until stopped, then give the locks up."""
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), CHECK_EVERY)
                except TimeoutError:
                    pass
                if not stop.is_set():
                    await self.check()
        finally:
            if self.is_leader:
                await self._lose()
            await asyncio.to_thread(self.lock.release)

    async def _lose(self) -> None:
        self.is_leader = False
        await self.on_loss()
        await self._receivers("stop_receiving")

    async def _receivers(self, method: str) -> None:
        if not self.lock.shared:
            return  # SQLite: the platforms received from their start, as they always did
        for platform in single_receivers(self.platforms):
            try:
                await getattr(platform, method)()
            except Exception as exc:  # started again at the next check; polling goes on meanwhile
                log.warning("%s: %s failed: %s", platform.name, method, exc)
