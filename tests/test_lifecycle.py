"""Stopping `dealticker run` with SIGINT or SIGTERM at any moment: one log line, exit 0, no traceback."""
from __future__ import annotations

import signal
import time

import pytest

from bot.store import Store
from tests.conftest import feed_bytes, start_dealticker
from tests.feedserver import Route


def _wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition(), "the bot never got there"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_a_poll_stops_cleanly_and_the_feed_is_polled_again(tmp_path, feed_server, sig):
    # The slow feed holds the poll cycle open (its answer takes longer than the shutdown grace).
    feed_server.routes["/slow.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"), delay=15)
    feed_server.routes["/quick.rss"] = Route(body=feed_bytes("heise_atom.xml"))
    feeds = [("slow", feed_server.url("/slow.rss")), ("quick", feed_server.url("/quick.rss"))]
    bot = start_dealticker(tmp_path, feeds)
    try:
        _wait_for(lambda: feed_server.hits("/slow.rss") and feed_server.hits("/quick.rss"))
        bot.send_signal(sig)
        bot.wait(30)
    finally:
        bot.kill()
    log = (tmp_path / "run.log").read_text()

    assert bot.returncode == 0, log
    assert "Traceback" not in log and "CancelledError" not in log, log
    assert log.rstrip().endswith(f"Dealticker stopped ({sig.name}).")
    # Nothing of the cut-short cycle was taken as done: both feeds are fetched in full next time.
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    states = store.feed_states(feeds)
    store.close()
    assert all(s.etag is None and s.error_count == 0 for s in states), states


def test_signal_while_idle_between_polls(tmp_path, feed_server):
    feed_server.routes["/quick.rss"] = Route(body=feed_bytes("heise_atom.xml"))
    bot = start_dealticker(tmp_path, [("quick", feed_server.url("/quick.rss"))])
    try:
        _wait_for(lambda: "poll:" in (tmp_path / "run.log").read_text())
        bot.send_signal(signal.SIGTERM)
        bot.wait(30)
    finally:
        bot.kill()
    log = (tmp_path / "run.log").read_text()
    assert bot.returncode == 0 and "Traceback" not in log
    assert log.rstrip().endswith("Dealticker stopped (SIGTERM).")
