"""What the Telegram benchmarks share: the stand-in with Telegram's limits, a store, the real bot, figures."""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands import Commands  # noqa: E402
from bot.config import TelegramConfig, load_config  # noqa: E402
from bot.deliver import Deliverer  # noqa: E402
from bot.platforms.telegram import TelegramPlatform  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.factories import article  # noqa: E402
from tests.telegram_stub import TelegramStub  # noqa: E402

warnings.filterwarnings("ignore", message=".*retry_after.*")
TITLE = "TikTok-Verkauf: Oracle und Silver Lake unterzeichnen Vertrag für das US-Geschäft"
UNFINISHED = ("pending", "sending")


class CountingHandler(logging.Handler):
    """Counts warnings and errors by logger and keeps the first few lines for the report."""

    def __init__(self, keep: int = 10):
        super().__init__(logging.WARNING)
        self.counts: collections.Counter = collections.Counter()
        self.first: list[str] = []
        self.keep = keep

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[(record.levelname, record.name)] += 1
        if len(self.first) < self.keep:
            line = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                line += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
            self.first.append(line)


def chat_ids(n: int, groups_share: float) -> list[str]:
    """n distinct chat ids; chat i is a group (negative id) when the running share steps up."""
    out = []
    for i in range(n):
        group = int((i + 1) * groups_share) > int(i * groups_share)
        out.append(str(-(100000 + i)) if group else str(100000 + i))
    return out


def busiest_window(times: list[float], window: float = 1.0) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Rig:
    """The benchmarks' set-up: the Bot API stand-in enforcing Telegram's limits, a throwaway SQLite
    store with `chats` subscribed, the real TelegramPlatform (long polling) and the delivery worker.
    On leaving, everything is stopped and what the stub saw is kept (sent, failures, ...)."""

    def __init__(self, chats: list[str]):
        self.chats = chats
        self.crashed: list[str] = []
        self.stop = asyncio.Event()
        self.store = self.platform = self.deliverer = self.worker = None
        self.final_counts: dict = {}

    async def __aenter__(self) -> "Rig":
        shipped = load_config(ROOT / "config" / "dealticker.toml", env={})
        self._tmp = tempfile.TemporaryDirectory(prefix="telegram-bench-")
        self.stub = TelegramStub().start()
        try:
            self.stub.limit_rate(per_second=30, per_chat_per_second=1, per_group_per_minute=20)
            self.config = dataclasses.replace(
                shipped, feeds=(), database_url=f"sqlite:///{Path(self._tmp.name) / 'bench.db'}",
                telegram=TelegramConfig(token=self.stub.token, api_url=self.stub.base_url))
            self.store = Store(self.config.database_url)
            self.store.migrate()
            t = time.perf_counter()
            for chat in self.chats:
                self.store.subscribe("telegram", chat)
            groups = sum(c.startswith("-") for c in self.chats)
            print(f"setup: {len(self.chats)} chats subscribed ({groups} groups) in {time.perf_counter() - t:.1f} s; "
                  f"stub at {self.stub.base_url}", flush=True)
            self.platform = TelegramPlatform(self.config.telegram, Commands(self.config, self.store))
            t = time.perf_counter()
            await self.platform.start()
            print(f"setup: platform started in {time.perf_counter() - t:.2f} s "
                  f"(getMe, setMyCommands, long polling)", flush=True)
            self.deliverer = Deliverer(self.store, {"telegram": self.platform}, self.config.timezone)
            self.worker = asyncio.create_task(self.deliverer.run(self.stop))
            await asyncio.sleep(0.2)  # the worker's first (empty) round
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def publish(self) -> None:
        """Store ONE article: the alert and one outbox row per subscribed chat, in one transaction."""
        new, _updated = await asyncio.to_thread(self.store.add_articles, [article(TITLE)], 48)
        self.deliverer.wake()
        counts = await asyncio.to_thread(self.store.delivery_counts)
        print(f"setup: add_articles -> {len(new)} alert, outbox {counts}", flush=True)

    async def drain(self, deadline_s: float, progress_s: float, done=lambda: True, status=lambda: "") -> bool:
        """Wait until no outbox row is pending or sending and `done()`; False when the deadline hit."""
        wall0 = time.perf_counter()
        next_progress, last_sent, last_t = wall0 + progress_s, 0, wall0
        while True:
            if self.worker.done():
                self.crashed.append(f"delivery worker ended early: {self.worker.exception()!r}")
                return True
            counts = await asyncio.to_thread(self.store.delivery_counts)
            now = time.perf_counter()
            if now >= next_progress:
                sent_now = counts.get("sent", 0)
                print(f"[{now - wall0:6.1f} s] alerts sent {sent_now:6d}  "
                      f"{(sent_now - last_sent) / (now - last_t):5.1f}/s last interval  429s {self.stub.rate_limited}"
                      f"  outbox {counts}{status()}", flush=True)
                last_sent, last_t, next_progress = sent_now, now, next_progress + progress_s
            if not any(counts.get(s, 0) for s in UNFINISHED) and done():
                return True
            if now - wall0 > deadline_s:
                return False
            await asyncio.sleep(0.25)

    async def __aexit__(self, *exc) -> None:
        self.stop.set()
        if self.worker is not None:
            try:
                await asyncio.wait_for(self.worker, 30)
            except Exception as e:
                self.crashed.append(f"stopping the worker: {type(e).__name__}: {e}")
        if self.platform is not None:
            try:
                await asyncio.wait_for(self.platform.stop(), 30)
            except Exception as e:
                self.crashed.append(f"stopping the platform: {type(e).__name__}: {e}")
        self.final_counts = self.store.delivery_counts() if self.store is not None else {}
        self.sent, self.failures = self.stub.sent(), self.stub.failures
        self.rate_limited, self.drops = self.stub.rate_limited, self.stub.drops
        self.stub.stop()
        if self.store is not None:
            self.store.close()
        self._tmp.cleanup()


def setup_logging() -> CountingHandler:
    counter = CountingHandler()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(counter)
    return counter
