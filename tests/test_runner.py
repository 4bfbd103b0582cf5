"""`dealticker run` with no chat platform: alerts on the console, once, across restarts."""
from __future__ import annotations

import asyncio
import io

from bot.platforms.console import ConsolePlatform
from bot.runner import run
from bot.store import Store
from tests.conftest import FEEDS, with_feeds


async def _run_until(config, store, stream, done) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run(config, store, stop, {"console": ConsolePlatform(stream)}))
    for _ in range(300):
        if done():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # anything printed twice would show now
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_console_prints_each_alert_once_across_restarts(config):
    config = with_feeds(config, ("SPIEGEL", (FEEDS / "spiegel_wirtschaft.rss").as_uri()))
    store = Store(config.database_url)
    store.migrate()
    first = io.StringIO()
    await _run_until(config, store, first, lambda: "WALMART WILL GEMEINSAM" in first.getvalue().upper()
                     and set(store.delivery_counts()) == {"sent"})
    printed = first.getvalue()
    assert printed.count("Walmart will gemeinsam mit Microsoft über TikTok-Kauf verhandeln") == 1
    assert "BIETER: Walmart (in Verhandlungen), Microsoft (in Verhandlungen)" in printed
    assert "Activision" not in printed

    second = io.StringIO()
    before = store.get_meta("last_poll")["finished"]
    await _run_until(config, store, second, lambda: store.get_meta("last_poll")["finished"] != before)
    assert second.getvalue() == ""
    assert set(store.delivery_counts()) == {"sent"}
    store.close()
