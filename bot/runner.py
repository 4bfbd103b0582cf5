"""`dealticker run`: the poll scheduler, the delivery worker and the chat platforms in one event loop."""
from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.commands import Commands
from bot.config import Config
from bot.deliver import Deliverer
from bot.leader import Leadership, single_receivers
from bot.metrics import Metrics
from bot.pipeline import Pipeline
from bot.platforms.base import Platform
from bot.platforms.console import LOCAL, ConsolePlatform
from bot.store import Store

log = logging.getLogger(__name__)
# How long a shutdown waits for a running poll cycle before cutting it short: well inside the
# 10 s that `docker stop` allows before it kills.
SHUTDOWN_GRACE = 5.0


def build_platforms(config: Config, commands: Commands) -> dict[str, Platform]:
    """The chat platforms whose credentials are configured; imported only when used."""
    platforms: dict[str, Platform] = {}
    if config.telegram.enabled:
        from bot.platforms.telegram import TelegramPlatform

        platforms["telegram"] = TelegramPlatform(config.telegram, commands)
    if config.slack.enabled:
        from bot.platforms.slack import SlackPlatform

        platforms["slack"] = SlackPlatform(config.slack, commands)
    return platforms


class PollJob:
    """The scheduled poll cycle; a shutdown lets a running cycle finish or cuts it short cleanly."""

    def __init__(self, pipeline: Pipeline, deliverer: Deliverer):
        self.pipeline = pipeline
        self.deliverer = deliverer
        self.leadership: Leadership | None = None
        self._task: asyncio.Task | None = None

    async def run(self) -> None:
        """One cycle; an exception is logged and the next cycle runs as planned."""
        if self.leadership and not await self.leadership.confirm():
            return  # another instance polls (this one lost the lock since the last check)
        self._task = asyncio.current_task()
        try:
            report = await self.pipeline.poll_once()
        except asyncio.CancelledError:
            # Cancelled by finish() only: what was stored stays, the rest is fetched again next
            # time (items are stored before the feeds' validators). Not re-raised, so the
            # scheduler does not report a shutdown as a failed job.
            log.info("the running poll cycle was cut short by the shutdown; it runs again at the next start")
            return
        except Exception:
            log.exception("poll cycle failed; the next one runs on schedule")
            return
        finally:
            self._task = None
        if report.new_alerts or report.updated_alerts:
            self.deliverer.wake()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def finish(self, grace: float) -> None:
        """Give a running cycle `grace` seconds to end, then cancel it and wait until it has."""
        task = self._task
        if task is None or task.done():
            return
        _, pending = await asyncio.wait({task}, timeout=grace)
        if pending:
            task.cancel()
            await asyncio.wait(pending)


async def run(config: Config, store: Store, stop: asyncio.Event | None = None,
              platforms: dict[str, Platform] | None = None) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM); `platforms` overrides those built from config."""
    stop = stop or asyncio.Event()
    metrics = Metrics()
    pipeline = Pipeline(config, store, metrics)
    if platforms is None:
        platforms = build_platforms(config, Commands(config, store))
    if not platforms:
        # With no chat platform the console shows what would be sent, so `make run` shows the bot working.
        platforms = {"console": ConsolePlatform()}
    if "console" in platforms:
        await asyncio.to_thread(store.subscribe, "console", LOCAL)
    deliverer = Deliverer(store, platforms, config.timezone, metrics)
    metrics.watch(store, platforms)
    server = None
    if config.server.enabled:
        from bot.server import Server

        server = Server(config, store, platforms, metrics)
    job = PollJob(pipeline, deliverer)
    scheduler = AsyncIOScheduler(timezone="UTC")
    # Added paused: it runs (at once, then every interval) while this instance is the leader.
    scheduler.add_job(
        job.run, IntervalTrigger(seconds=config.poll.interval_seconds, jitter=config.poll.jitter_seconds),
        id="poll", max_instances=1, coalesce=True, misfire_grace_time=config.poll.interval_seconds,
        next_run_time=None)

    async def lead() -> None:
        scheduler.modify_job("poll", next_run_time=datetime.now(timezone.utc))

    async def follow() -> None:
        if scheduler.running:
            scheduler.pause_job("poll")
        job.cancel()  # what the cut cycle stored stays; the new leader polls the rest

    leadership = job.leadership = Leadership(store, platforms, lead, follow)
    metrics.watch_leadership(leadership)
    receivers = single_receivers(platforms) if leadership.lock.shared else []
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        if stop.is_set():
            job.cancel()  # a second signal: do not wait for the running cycle
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except (NotImplementedError, RuntimeError):
            pass
    started: list[Platform] = []
    worker: asyncio.Task | None = None
    leading: asyncio.Task | None = None
    try:
        if server:  # first, so that probes during a slow start are answered ("starting")
            await server.start()
        for platform in platforms.values():
            # Telegram long polling on a shared database: only the leader receives (Leadership).
            await (platform.start(receive=False) if platform in receivers else platform.start())
            started.append(platform)
        worker = asyncio.create_task(deliverer.run(stop))
        scheduler.start()
        await leadership.check()  # SQLite: the leader at once, polling right away as ever
        leading = asyncio.create_task(leadership.run(stop))
        log.info("Dealticker is running: %d feeds, polled every %d s (+ up to %d s jitter), platforms: %s. "
                 "Ctrl-C stops it.", len(config.feeds), config.poll.interval_seconds, config.poll.jitter_seconds,
                 ", ".join(platforms))
        await stop.wait()
    finally:
        stop.set()
        if scheduler.running:
            scheduler.pause()  # no new cycle; a running one may finish within the grace period
            await job.finish(SHUTDOWN_GRACE)
            scheduler.shutdown(wait=False)
        if leading:
            await leading  # gives the lock up: another instance polls from its next check
        if worker:
            await worker  # sends already on the wire finish; unclaimed rows stay for the next start
        for platform in reversed(started):
            try:
                await platform.stop()
            except Exception as exc:  # a platform that will not stop cleanly must not hide the others
                log.warning("%s did not stop cleanly: %s", platform.name, exc)
        if server:
            await server.stop()
        log.info("Dealticker stopped%s.", f" ({received[0]})" if received else "")
