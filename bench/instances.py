"""Fan-out with one and with two instances on one PostgreSQL, to the Telegram stand-in with Telegram's limits.

Usage: .venv/bin/python bench/instances.py [--chats 600] [--alerts 2] [--groups-share 0.0]

For 1 and then 2 instances (each its own Store on one fresh PostgreSQL schema, its own real
TelegramPlatform and Deliverer, all in this process; the instances reach the stand-in under
different host names, so its records say who sent what), stores --alerts alerts for --chats
subscribed chats and waits until the outbox is empty. Each instance's Leadership is checked (twice),
so the pacers share the bot's overall rate as in `dealticker run`.

Printed per run: wall time, messages per second, the share each instance sent, 429s, chats that got
an alert twice or never, and the shortest gap between two messages to one chat and to one group
(Telegram allows about one a second per chat, 20 a minute per group: two instances must not halve
it). Then the ratio two/one.
Needs PostgreSQL at DEALTICKER_TEST_PG (default 127.0.0.1:5432, database test).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.telegram_rig import ROOT, chat_ids, setup_logging  # noqa: E402
from bot.commands import Commands  # noqa: E402
from bot.config import TelegramConfig, load_config  # noqa: E402
from bot.deliver import Deliverer  # noqa: E402
from bot.leader import Leadership  # noqa: E402
from bot.platforms.telegram import TelegramPlatform  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.conftest import PG_URL  # noqa: E402
from tests.factories import article  # noqa: E402
from tests.telegram_stub import TelegramStub  # noqa: E402

TITLES = ("TikTok-Verkauf: Oracle und Silver Lake unterzeichnen Vertrag für das US-Geschäft",
          "Trump verlängert Frist für den Verkauf von Tiktok um 75 Tage",
          "Microsoft steigt aus dem Bieterrennen um Tiktok aus")
HOSTS = ("127.0.0.1", "localhost")


async def _nothing() -> None:
    pass


async def run(instances: int, chats: list[str], alerts: int) -> dict:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    shipped = load_config(ROOT / "config" / "dealticker.toml", env={})
    stub = TelegramStub().start()
    stub.limit_rate(per_second=30, per_chat_per_second=1, per_group_per_minute=20)
    stop = asyncio.Event()
    parts = []
    try:
        for i in range(instances):
            config = dataclasses.replace(shipped, feeds=(), database_url=url, telegram=TelegramConfig(
                token=stub.token, api_url=stub.base_url.replace("127.0.0.1", HOSTS[i])))
            store = Store(url)
            if i == 0:
                store.migrate()
                for chat in chats:
                    store.subscribe("telegram", chat)
            platform = TelegramPlatform(config.telegram, Commands(config, store))
            await platform.start(receive=False)
            leadership = Leadership(store, {"telegram": platform}, _nothing, _nothing)
            parts.append((store, platform, Deliverer(store, {"telegram": platform}, config.timezone), leadership))
        for _ in range(2):  # twice: the first to check could not count those after it
            for _, _, _, leadership in parts:
                await leadership.check()
        workers = [asyncio.create_task(d.run(stop)) for _, _, d, _ in parts]
        store = parts[0][0]
        t0 = time.perf_counter()
        await asyncio.to_thread(store.add_articles, [article(t) for t in TITLES[:alerts]], 48)
        for _, _, deliverer, _ in parts:
            deliverer.wake()
        while any(store.delivery_counts().get(s) for s in ("pending", "sending")):
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - t0
        stop.set()
        await asyncio.gather(*workers)
    finally:
        for store, platform, _, leadership in parts:
            await platform.stop()
            leadership.lock.release()
            store.close()
        stub.stop()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    sent = stub.sent()
    per_chat = collections.defaultdict(list)
    for message in sent:
        per_chat[str(message["chat_id"])].append(message["time"])
    gaps = {chat: [b - a for a, b in zip(sorted(times), sorted(times)[1:])] for chat, times in per_chat.items()}
    group_gaps = [g for chat, gs in gaps.items() if chat.startswith("-") for g in gs]
    gaps = [g for gs in gaps.values() for g in gs]
    senders = collections.Counter(h.split(":")[0] for h in stub.hosts_of("sendMessage"))
    return {"wall": wall, "sent": len(sent), "rate": len(sent) / wall, "429s": stub.rate_limited,
            "twice": sum(len(set(m["text"] for m in stub.sent(c))) < len(t) for c, t in per_chat.items()),
            "missing": sum(len(per_chat.get(c, ())) < alerts for c in chats),
            "min_gap": min(gaps) if gaps else float("nan"),
            "min_group_gap": min(group_gaps) if group_gaps else float("nan"),
            "split": " / ".join(f"{senders[h]}" for h in HOSTS[:instances])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=600)
    parser.add_argument("--alerts", type=int, default=2, choices=(1, 2, 3))
    parser.add_argument("--groups-share", type=float, default=0.0)
    args = parser.parse_args()
    setup_logging()
    chats = chat_ids(args.chats, args.groups_share)
    results = {}
    for instances in (1, 2):
        r = results[instances] = asyncio.run(run(instances, chats, args.alerts))
        print(f"{instances} instance(s): {r['sent']} messages in {r['wall']:.1f} s = {r['rate']:.1f}/s; "
              f"sendMessage calls per instance {r['split']}; 429s {r['429s']}; chats with a duplicate "
              f"{r['twice']}, missing {r['missing']}; shortest gap in one chat {r['min_gap']:.2f} s, "
              f"in one group {r['min_group_gap']:.2f} s", flush=True)
    print(f"ratio two/one instances: {results[2]['rate'] / results[1]['rate']:.2f}")


if __name__ == "__main__":
    main()
