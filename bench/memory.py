"""Bounded memory and storage: RSS of poll cycles at 1,000 feeds before/after the language subset, and the
delivery table over 200 simulated days with and without retention.

Usage: .venv/bin/python bench/memory.py [--feeds 1000] [--items 50] [--cycles 10] [--before REV]
                                        [--days 200] [--chats 1000] [--skip-poll] [--skip-days]
                                        [--whole] [--subscribers 200]

Poll cycles: bench/poll_cycle.py's feed farm (synthetic German feeds on loopback, about 2 % of the items
on the deal) and its pipeline side, each in a fresh process with a fresh SQLite store: a cold cycle, a
warm one with 10 % of the feeds changed, then --cycles more warm ones. Once for this checkout and once
for `git archive REV` (default e620ee9, the last commit before the language subset; `--before none`
measures this checkout only). Printed per side:
VmRSS after start-up (store, Analyser and its models loaded), the peak during each cycle (VmHWM, reset
before each phase), and VmRSS after the last cycle.

Whole bot (--whole): the same farm polled by a real `dealticker run` (its own process, the shipped
config with these feeds, a 30 s interval, a SQLite file, --subscribers Telegram chats, the Telegram
stand-in, the health server on for counting cycles). Printed: VmRSS once it answers /healthz, after
the cold cycle, after each further cycle, its peak (VmHWM) and how many messages it sent. This is the
figure a deployment sees: the platforms, scheduler and server are in it, the migration child is not.

Days: a store with --chats subscribed chats; each simulated day brings the stories of a fixed pattern
(0.45 a day, a third of them with a follow-up), each sent to every chat, and runs the retention step as
the poll cycle does (stories kept 90 days after their last report, delivery records 90 days). Printed:
delivery rows every 20 days, and the rows there would be without the delivery purge. Prints figures only.
"""
from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.feedfarm import FarmClient, serve  # noqa: E402
from bench.poll_cycle import _run_side, changed_feeds, pipeline_side  # noqa: E402


def poll_memory(args) -> None:
    ctx = mp.get_context("spawn")
    server, farm = _start_farm(ctx, args)
    opts = {"seed": 20260901, "changed": 0.10, "new_items": 10, "cycles": args.cycles, "tracemalloc": False}
    with tempfile.TemporaryDirectory(prefix="dealticker-before-") as before:
        checkouts = [("after (this checkout)", str(ROOT))]
        if args.before != "none":  # "--before none": this checkout only
            subprocess.run(f"git -C {ROOT} archive {args.before} | tar -x -C {before}", shell=True, check=True)
            checkouts.insert(0, (f"before ({args.before})", before))
        try:
            sides = {}
            for label, root in checkouts:
                print(f"poll cycles, {label} ...", flush=True)
                sides[label] = _run_side(ctx, pipeline_side, {**opts, "root": root}, farm.urls, farm.names,
                                         farm.control_url)
        finally:
            server.terminate()
            server.join()
    print(f"\n{args.feeds} feeds x {args.items} items; VmRSS in MB")
    print(f"  {'':<26} {'start':>7} {'cold peak':>10} {'warm peak':>10} {'after':>7} {'stored items':>13}")
    for label, r in sides.items():
        last = r["flat"][-1] if r["flat"] else {"rss_kb": r["warm"]["rss_after_kb"],
                                                "stored_items": r["warm"]["stored"][0]}
        print(f"  {label:<26} {r['cold']['rss_before_kb'] / 1024:7.1f} {r['cold']['peak_kb'] / 1024:10.1f} "
              f"{r['warm']['peak_kb'] / 1024:10.1f} {last['rss_kb'] / 1024:7.1f} {last['stored_items']:13d}")
    print(f"  (after = VmRSS after {args.cycles} further warm cycles; peaks are of the whole process)")


def _start_farm(ctx, args) -> tuple:
    """The feed farm in its own process (its CPU is not the bot's), and a client for it."""
    recv, send = ctx.Pipe(duplex=False)
    server = ctx.Process(target=serve, args=(args.feeds, args.items, 20260901, args.feeds, True, send), daemon=True)
    server.start()
    send.close()
    return server, FarmClient(recv.recv(), args.feeds, args.feeds)


def whole_bot(args) -> None:
    import re
    import urllib.request

    from bot.store import Store
    from tests.conftest import start_dealticker, write_config
    from tests.telegram_stub import TelegramStub

    server, farm = _start_farm(mp.get_context("spawn"), args)
    stub = TelegramStub().start()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="dealticker-whole-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bot.db'}")
        store.migrate()
        for chat in range(args.subscribers):
            store.subscribe("telegram", str(50000 + chat))
        store.close()
        own = Path(tmp) / "own"
        own.mkdir()
        config = write_config(own, list(zip(farm.names, farm.urls)))
        text = config.read_text(encoding="utf-8")
        for key, value in (("interval_seconds", 30), ("jitter_seconds", 0), ("port", port)):
            text = re.sub(rf"(?m)^{key} = \d+", f"{key} = {value}", text)
        config.write_text(text, encoding="utf-8")
        proc = start_dealticker(Path(tmp), [], env={
            "DEALTICKER_CONFIG": str(config), "TELEGRAM_BOT_TOKEN": stub.token, "TELEGRAM_API_URL": stub.base_url,
            "DEALTICKER_SERVER_LISTEN": "127.0.0.1"})
        metrics = f"http://127.0.0.1:{port}/metrics"

        def polls() -> int:
            try:
                body = urllib.request.urlopen(metrics, timeout=5).read().decode()
            except OSError:
                return -1
            return int(sum(float(v) for v in re.findall(r"(?m)^dealticker_polls_total\{[^}]*\} (\S+)", body)))

        def status(field: str) -> float:
            with open(f"/proc/{proc.pid}/status") as fh:
                return next(int(line.split()[1]) for line in fh if line.startswith(field + ":")) / 1024

        try:
            print(f"whole bot: {args.feeds} feeds, {args.subscribers} subscribed chats ...", flush=True)
            while polls() < 0:
                assert proc.poll() is None, f"dealticker run ended: {(Path(tmp) / 'run.log').read_text()[-2000:]}"
                time.sleep(0.2)
            rows = [("up", status("VmRSS"))]
            for cycle in range(args.cycles + 1):
                while polls() <= cycle:
                    assert proc.poll() is None, f"dealticker run ended: {(Path(tmp) / 'run.log').read_text()[-2000:]}"
                    time.sleep(0.5)
                rows.append(("cold" if cycle == 0 else f"warm {cycle}", status("VmRSS")))
                FarmClient.call(farm.control_url, "bump", new_items=args.items // 5,
                                feeds=changed_feeds(20260901, args.feeds, 0.10, cycle), clear_stats=True)
            peak = status("VmHWM")
        finally:
            proc.terminate()
            proc.wait(30)
            stub.stop()
            server.terminate()
    print("  VmRSS in MB: " + ", ".join(f"{what} {mb:.1f}" for what, mb in rows))
    print(f"  peak {peak:.1f} MB; mean of the last {min(5, args.cycles)} cycles "
          f"{sum(mb for _, mb in rows[-min(5, args.cycles):]) / min(5, args.cycles):.1f} MB; "
          f"{len(stub.sent())} messages sent")


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def delivery_days(args) -> None:
    from sqlalchemy import func, insert, select, update

    from bot import schema as t
    from bot.models import Article, Entry, Verdict
    from bot.store import Store, utcnow

    rows_without = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'days.db'}")
        store.migrate()
        with store.engine.begin() as conn:
            conn.execute(insert(t.subscriptions), [{"platform": "telegram", "chat_id": str(c), "thread_id": "",
                                                    "created": utcnow()} for c in range(args.chats)])
        now = utcnow()
        print(f"\ndelivery records over {args.days} simulated days, {args.chats} chats, retention 90 days")
        print(f"  {'day':>4} {'stories kept':>13} {'rows':>8} {'rows without the purge':>23}")
        started = time.perf_counter()
        for day in range(1, args.days + 1):
            when = now - timedelta(days=args.days - day)  # this simulated day, in real time
            for n in range(_stories_on(day)):
                link = f"https://example.org/{day}/{n}"
                key = hashlib.sha1(link.encode()).hexdigest()[:32]
                entry = Entry(key=key, link_key=key, feed_url="https://example.org/feed", source="SPIEGEL",
                              title=f"Tiktok-Verkauf: Meldung {day}/{n}", teaser="", link=link, published=when)
                [alert], _ = store.add_articles([Article(entry, Verdict(True, 0.9, ()), "de", (), "")], 48)
                d = t.deliveries.c
                with store.engine.begin() as conn:
                    if (day + n) % 3 == 0:  # a follow-up to every chat, the same day
                        conn.execute(insert(t.deliveries), [
                            {"alert_id": alert.id, "followup_id": 1, "platform": "telegram", "chat_id": str(c),
                             "thread_id": "", "status": "pending", "attempts": 0, "next_attempt": when,
                             "needs_edit": False, "created": when} for c in range(args.chats)])
                    # Sent, as the delivery loop would have done that day.
                    conn.execute(update(t.deliveries).where(d.alert_id == alert.id).values(
                        status="sent", created=when, sent=when, message_id="1"))
                    conn.execute(update(t.alerts).where(t.alerts.c.id == alert.id).values(created=when, updated=when))
                    rows_without += conn.execute(select(func.count()).select_from(t.deliveries)
                                                 .where(d.alert_id == alert.id)).scalar()
            # The retention step of that day's cycles: "now" there is `when`.
            behind = args.days - day
            store.purge(90 + behind)
            store.purge_deliveries(90 + behind)
            if day % 20 == 0 or day == 1:
                with store.engine.connect() as conn:
                    rows = conn.execute(select(func.count()).select_from(t.deliveries)).scalar()
                    stories = conn.execute(select(func.count()).select_from(t.alerts)).scalar()
                print(f"  {day:4d} {stories:13d} {rows:8d} {rows_without:23d}", flush=True)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        print(f"  database {size / 2**20:.1f} MiB at the end; simulated in {time.perf_counter() - started:.0f} s")
        store.close()


def _stories_on(day: int) -> int:
    """0.45 stories a day on average, in bursts as news comes: 9 in every 20 days."""
    return (0, 1, 0, 2, 0, 0, 1, 0, 0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 1, 0)[day % 20]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--before", default="e620ee9", help="git revision to compare with (none: this checkout only)")
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--skip-poll", action="store_true")
    parser.add_argument("--skip-days", action="store_true")
    parser.add_argument("--whole", action="store_true", help="measure a real `dealticker run` instead")
    parser.add_argument("--subscribers", type=int, default=200)
    args = parser.parse_args()
    if args.whole:
        whole_bot(args)
        return 0
    if not args.skip_poll:
        poll_memory(args)
    if not args.skip_days:
        delivery_days(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
