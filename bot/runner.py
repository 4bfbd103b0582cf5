"""`dealticker run`: the poll scheduler plus the configured chat platforms, in one event loop."""
from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config
from bot.messages import alert_message
from bot.pipeline import Pipeline
from bot.platforms.console import ConsolePlatform
from bot.store import Store

log = logging.getLogger(__name__)


async def poll_and_announce(pipeline: Pipeline, console: ConsolePlatform | None) -> None:
    """One scheduled cycle; an exception is logged and the next cycle runs as planned."""
    try:
        report = await pipeline.poll_once()
    except Exception:
        log.exception("poll cycle failed; the next one runs on schedule")
        return
    if console:
        for alert in report.new_alerts + report.updated_alerts:
            await console.deliver("console", "", alert_message(alert, pipeline.config.timezone))


async def run(config: Config, store: Store) -> None:
    pipeline = Pipeline(config, store)
    console = ConsolePlatform()  # Telegram and Slack plug in here once configured
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        poll_and_announce, IntervalTrigger(seconds=config.poll.interval_seconds, jitter=config.poll.jitter_seconds),
        args=(pipeline, console), id="poll", max_instances=1, coalesce=True,
        misfire_grace_time=config.poll.interval_seconds, next_run_time=datetime.now(timezone.utc))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    scheduler.start()
    log.info("Dealticker läuft: %d Feeds, Abruf alle %d s (+ bis zu %d s Jitter). Strg-C beendet.",
             len(config.feeds), config.poll.interval_seconds, config.poll.jitter_seconds)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        log.info("Dealticker beendet.")

