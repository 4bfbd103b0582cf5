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
from bot.pipeline import Pipeline
from bot.platforms.base import Platform
from bot.platforms.console import LOCAL, ConsolePlatform
from bot.store import Store

log = logging.getLogger(__name__)


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


async def poll_and_announce(pipeline: Pipeline, deliverer: Deliverer) -> None:
    """One scheduled cycle; an exception is logged and the next cycle runs as planned."""
    try:
        report = await pipeline.poll_once()
    except Exception:
        log.exception("poll cycle failed; the next one runs on schedule")
        return
    if report.new_alerts or report.updated_alerts:
        deliverer.wake()


async def run(config: Config, store: Store, stop: asyncio.Event | None = None,
              platforms: dict[str, Platform] | None = None) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM); `platforms` overrides those built from config."""
    stop = stop or asyncio.Event()
    pipeline = Pipeline(config, store)
    if platforms is None:
        platforms = build_platforms(config, Commands(config, store))
    if not platforms:
        # With no chat platform the console shows what would be sent, so `make run` shows the bot working.
        platforms = {"console": ConsolePlatform()}
    if "console" in platforms:
        await asyncio.to_thread(store.subscribe, "console", LOCAL)
    deliverer = Deliverer(store, platforms, config.timezone)
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        poll_and_announce, IntervalTrigger(seconds=config.poll.interval_seconds, jitter=config.poll.jitter_seconds),
        args=(pipeline, deliverer), id="poll", max_instances=1, coalesce=True,
        misfire_grace_time=config.poll.interval_seconds, next_run_time=datetime.now(timezone.utc))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    started: list[Platform] = []
    worker: asyncio.Task | None = None
    try:
        for platform in platforms.values():
            await platform.start()
            started.append(platform)
        worker = asyncio.create_task(deliverer.run(stop))
        scheduler.start()
        log.info("Dealticker läuft: %d Feeds, Abruf alle %d s (+ bis zu %d s Jitter), Plattformen: %s. "
                 "Strg-C beendet.", len(config.feeds), config.poll.interval_seconds, config.poll.jitter_seconds,
                 ", ".join(platforms) or "Konsole")
        await stop.wait()
    finally:
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if worker:
            await worker
        for platform in reversed(started):
            await platform.stop()
        log.info("Dealticker beendet.")
