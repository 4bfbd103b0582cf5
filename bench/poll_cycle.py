"""Poll-cycle benchmark: the whole pipeline against "feedparser-only" on a loopback feed farm.

Usage: python bench/poll_cycle.py [--feeds 500] [--items 50] [--cycles 30] [--changed 0.1]
                                  [--new-items 10] [--repeat 2] [--hosts N] [--seed S] [--no-gzip]
                                  [--tracemalloc] [--compare DIR]

What it does (prints figures, asserts nothing about timing):
  * bench/feedfarm.py generates --feeds synthetic German RSS 2.0 feeds of --items items each
    (about 2 % on the TikTok US sale, in varied wording), deterministically from --seed, and serves
    them from a separate process on loopback with ETag/304 (and gzip, as news sites do).
  * feedparser-only (the yardstick): httpx GET of every feed + feedparser.parse, nothing else,
    with the configured concurrency; cold cycle, then a warm cycle with conditional GET after
    --changed of the feeds got --new-items new items.
  * pipeline: bot.pipeline.Pipeline(config, store).poll_once() with an empty SQLite store in a
    temp dir; the same cold and warm cycles; then --cycles further warm cycles (each changing
    another --changed of the feeds) to show whether memory grows with the number of items seen.
  * --compare DIR: the pipeline of another checkout (e.g. `git archive <commit> | tar -x -C DIR`) runs too,
    against the same farm in the same run, for before/after figures.
Each side runs in its own fresh process, so CPU time (time.process_time, all threads) and peak
RSS belong to that side only; the feed server's CPU is never counted.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.feedfarm import FarmClient, serve  # noqa: E402


# --- measurement helpers ------------------------------------------------------------------

def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM / ru_maxrss to the current RSS (Linux >= 4.0), so each phase gets its own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _measure(run, traced: bool) -> dict:
    import gc
    import resource
    import tracemalloc

    gc.collect()
    peak_reset = _reset_peak()
    rss_before = _status_kb("VmRSS")
    if traced:
        tracemalloc.start()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    trace_peak = None
    if traced:
        trace_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"wall": wall, "cpu": cpu, "rss_before_kb": rss_before, "rss_after_kb": _status_kb("VmRSS"),
            "peak_kb": _status_kb("VmHWM"), "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "peak_is_phase": peak_reset, "trace_peak": trace_peak, **result}


def changed_feeds(seed: int, feeds: int, share: float, cycle: int) -> list[int]:
    """The feeds that get new items before warm cycle `cycle` (0 = the measured warm cycle)."""
    return sorted(random.Random(f"{seed}/changed/{cycle}").sample(range(feeds), max(1, round(feeds * share))))


# --- the two sides, each in its own process ------------------------------------------------

def yardstick_side(opts: dict, urls: list[str], control_url: str, out) -> None:
    import asyncio

    import feedparser
    import httpx

    from bot.config import load_config

    poll = load_config(ROOT / "config" / "dealticker.toml", env={}).poll
    etags: dict[str, str] = {}

    async def cycle() -> dict:
        counts = {"ok": 0, "not_modified": 0, "error": 0}
        entries = 0
        sem = asyncio.Semaphore(poll.concurrency)
        async with httpx.AsyncClient(
                timeout=httpx.Timeout(poll.timeout_seconds, connect=min(10.0, poll.timeout_seconds)),
                headers={"User-Agent": poll.user_agent,
                         "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"},
                limits=httpx.Limits(max_connections=poll.concurrency,
                                    max_keepalive_connections=poll.concurrency)) as client:
            async def one(url: str):
                async with sem:
                    headers = {"If-None-Match": etags[url]} if url in etags else {}
                    try:
                        resp = await client.get(url, headers=headers)
                    except httpx.HTTPError:
                        return url, None, None
                return url, resp.status_code, resp

            for done in asyncio.as_completed([one(u) for u in urls]):
                url, code, resp = await done
                if code == 304:
                    counts["not_modified"] += 1
                    continue
                if code != 200:
                    counts["error"] += 1
                    continue
                counts["ok"] += 1
                if resp.headers.get("etag"):
                    etags[url] = resp.headers["etag"]
                # The same feedparser call the pipeline makes (bot/parse.py).
                parsed = feedparser.parse(resp.content, response_headers={
                    "content-type": resp.headers.get("content-type", ""), "content-location": url},
                    sanitize_html=False, resolve_relative_uris=False)
                entries += len(parsed.entries)
        return {"entries": entries, **counts}

    results = {}
    with asyncio.Runner() as runner:
        FarmClient.call(control_url, "reset", clear_stats=True)
        results["cold"] = _measure(lambda: runner.run(cycle()), opts["tracemalloc"])
        results["cold"]["server"] = FarmClient.call(control_url, "stats", clear_stats=True)
        FarmClient.call(control_url, "bump", feeds=changed_feeds(opts["seed"], len(urls), opts["changed"], 0),
                        new_items=opts["new_items"], clear_stats=True)
        results["warm"] = _measure(lambda: runner.run(cycle()), opts["tracemalloc"])
        results["warm"]["server"] = FarmClient.call(control_url, "stats", clear_stats=True)
    out.send(results)
    out.close()


def pipeline_side(opts: dict, urls: list[str], names: list[str], control_url: str, out) -> None:
    import asyncio
    import dataclasses
    import logging
    import tempfile

    root = Path(opts.get("root") or ROOT)
    # Another checkout's `bot` (--compare): first on the path, before this process imports any of it.
    sys.path.insert(0, str(root))
    from sqlalchemy import func, select

    from bot import schema
    from bot.config import FeedConfig, load_config
    from bot.pipeline import Pipeline
    from bot.store import Store

    logging.basicConfig(level=logging.WARNING, format="pipeline: %(levelname)s %(name)s: %(message)s")
    tmp = tempfile.TemporaryDirectory(prefix="dealticker-bench-")
    config = load_config(root / "config" / "dealticker.toml", env={})
    config = dataclasses.replace(
        config, feeds=tuple(FeedConfig(name=n, url=u, language="de") for n, u in zip(names, urls)),
        database_url=f"sqlite:///{Path(tmp.name) / 'bench.db'}")
    t0 = time.perf_counter()
    store = Store(config.database_url)
    # As `dealticker run` does: migrations in a child process, alembic never loaded here (older checkouts
    # lack migrate_apart and migrate in this process).
    migrate_apart = getattr(sys.modules["bot.store"], "migrate_apart", None)
    migrate_apart(config.database_url) if migrate_apart else store.migrate()
    pipeline = Pipeline(config, store)
    setup = time.perf_counter() - t0

    def stored() -> tuple[int, int]:
        with store.engine.connect() as conn:
            return (conn.execute(select(func.count()).select_from(schema.items)).scalar(),
                    conn.execute(select(func.count()).select_from(schema.alerts)).scalar())

    def poll(runner):
        report = runner.run(pipeline.poll_once())
        return {"entries": report.entries, "ok": report.feeds_ok, "not_modified": report.feeds_unchanged,
                "error": report.feeds_failed, "relevant": report.relevant, "new_alerts": len(report.new_alerts),
                "updated_alerts": len(report.updated_alerts),
                "errors": [f"{n}: {e}" for n, e in report.errors[:3]]}

    results = {"setup": setup, "bot": sys.modules["bot"].__file__, "config": {"concurrency": config.poll.concurrency, "per_host": config.poll.per_host}}
    with asyncio.Runner() as runner:
        FarmClient.call(control_url, "reset", clear_stats=True)
        results["cold"] = _measure(lambda: poll(runner), opts["tracemalloc"])
        results["cold"]["server"] = FarmClient.call(control_url, "stats", clear_stats=True)
        results["cold"]["stored"] = stored()
        FarmClient.call(control_url, "bump", feeds=changed_feeds(opts["seed"], len(urls), opts["changed"], 0),
                        new_items=opts["new_items"], clear_stats=True)
        results["warm"] = _measure(lambda: poll(runner), opts["tracemalloc"])
        results["warm"]["server"] = FarmClient.call(control_url, "stats", clear_stats=True)
        results["warm"]["stored"] = stored()

        # Memory flatness: many more warm cycles, each with new items in another share of the feeds.
        flat = []
        marks = {1, opts["cycles"]} | set(range(10, opts["cycles"] + 1, 10))
        new_seen = 0
        wall_sum = cpu_sum = 0.0
        for c in range(1, opts["cycles"] + 1):
            FarmClient.call(control_url, "bump", feeds=changed_feeds(opts["seed"], len(urls), opts["changed"], c),
                            new_items=opts["new_items"], clear_stats=True)
            w0, c0 = time.perf_counter(), time.process_time()
            r = poll(runner)
            wall_sum += time.perf_counter() - w0
            cpu_sum += time.process_time() - c0
            new_seen += round(len(urls) * opts["changed"]) * opts["new_items"]
            if c in marks:
                items, alerts = stored()
                flat.append({"cycle": c, "rss_kb": _status_kb("VmRSS"), "stored_items": items, "alerts": alerts,
                             "new_items_published": new_seen, "not_modified": r["not_modified"],
                             "entries": r["entries"], "mean_wall": wall_sum / c, "mean_cpu": cpu_sum / c})
        results["flat"] = flat
        results["db_bytes"] = sum(p.stat().st_size for p in Path(tmp.name).iterdir())
    store.close()
    tmp.cleanup()
    out.send(results)
    out.close()


def _run_side(ctx, target, *args):
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(*args, send))
    proc.start()
    send.close()
    try:
        result = recv.recv()
    except EOFError:
        proc.join()
        raise SystemExit(f"{target.__name__} failed (exit code {proc.exitcode})")
    proc.join()
    return result


# --- printing -----------------------------------------------------------------------------

def _mb(kb: int | None) -> str:
    return "   n/a" if kb is None else f"{kb / 1024:6.1f}"


def _row(label: str, r: dict) -> str:
    ips = r["entries"] / r["wall"] if r["wall"] else 0.0
    trace = f" {r['trace_peak'] / 2**20:7.1f}" if r.get("trace_peak") is not None else ""
    alerts = f"{r['new_alerts']:6d}" if "new_alerts" in r else "     -"
    return (f"  {label:<22} {r['wall']:8.2f} {r['cpu']:8.2f} {r['entries']:8d} {ips:9.0f} "
            f"{r['ok']:5d} {r['not_modified']:5d} {r['error']:4d} {alerts} "
            f"{_mb(r['rss_before_kb'])} {_mb(r['peak_kb'])} {_mb(r['rss_after_kb'])}{trace}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=50, help="items per feed")
    ap.add_argument("--cycles", type=int, default=30, help="extra warm cycles for the memory check")
    ap.add_argument("--changed", type=float, default=0.10, help="share of feeds with new items per warm cycle")
    ap.add_argument("--new-items", type=int, default=10, help="new items in each changed feed")
    ap.add_argument("--hosts", type=int, default=0,
                    help="distinct origins the feeds live on (default: one per feed); consecutive feeds share one")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs of each side's cold+warm pair (fresh process and store each); the fastest counts")
    ap.add_argument("--seed", type=int, default=20260901)
    ap.add_argument("--no-gzip", action="store_true", help="serve feeds uncompressed")
    ap.add_argument("--compare", metavar="DIR", help="also run the pipeline of the checkout in DIR (before/after)")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="also report tracemalloc peaks (slows every phase down noticeably)")
    args = ap.parse_args(argv)
    hosts = args.hosts or args.feeds
    opts = {"seed": args.seed, "changed": args.changed, "new_items": args.new_items, "cycles": args.cycles,
            "tracemalloc": args.tracemalloc}

    ctx = mp.get_context("spawn")
    started = time.perf_counter()
    recv, send = ctx.Pipe(duplex=False)
    server = ctx.Process(target=serve, args=(args.feeds, args.items, args.seed, hosts, not args.no_gzip, send),
                         daemon=True)
    server.start()
    send.close()
    info = recv.recv()
    farm = FarmClient(info, args.feeds, hosts)
    print(f"feed farm: {args.feeds} feeds x {args.items} items on {hosts} loopback origin(s), "
          f"{info['bytes'] / 2**20:.1f} MiB of XML ({'gzip ' + format(info['gzip_bytes'] / 2**20, '.1f') + ' MiB on the wire' if not args.no_gzip else 'uncompressed'}), "
          f"seed {args.seed}; server pid {server.pid} (its CPU is not counted)")
    print(f"warm cycles: {args.changed:.0%} of feeds get {args.new_items} new items each; the rest must answer 304")
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    yards, pipes, others = [], [], []
    sides = ("feedparser", "pipeline") + (("compare",) if args.compare else ())
    try:
        for rep in range(args.repeat):
            last = rep == args.repeat - 1
            # Alternate the order so that background load and warm caches favour neither side.
            for side in (sides if rep % 2 == 0 else sides[::-1]):
                print(f"run {rep + 1}/{args.repeat}: {side}{' (+ memory cycles)' if side == 'pipeline' and last and args.cycles else ''} ...",
                      flush=True)
                if side == "feedparser":
                    yards.append(_run_side(ctx, yardstick_side, opts, farm.urls, farm.control_url))
                elif side == "pipeline":
                    pipes.append(_run_side(ctx, pipeline_side, {**opts, "cycles": args.cycles if last else 0},
                                           farm.urls, farm.names, farm.control_url))
                else:
                    others.append(_run_side(ctx, pipeline_side, {**opts, "cycles": 0, "root": args.compare},
                                            farm.urls, farm.names, farm.control_url))
    finally:
        server.terminate()
        server.join()
    # Per side and phase the fastest repeat counts (the least disturbed by anything else on the machine).
    yard = {ph: min((y[ph] for y in yards), key=lambda r: r["wall"]) for ph in ("cold", "warm")}
    pipe = {ph: min((p[ph] for p in pipes), key=lambda r: r["wall"]) for ph in ("cold", "warm")}
    pipe.update({k: pipes[-1][k] for k in ("setup", "config", "flat", "db_bytes")})
    other = {ph: min((p[ph] for p in others), key=lambda r: r["wall"]) for ph in ("cold", "warm")} if others else None

    cfg = pipe["config"]
    print(f"\nconcurrency {cfg['concurrency']} (both sides), pipeline per_host {cfg['per_host']}; "
          f"pipeline set-up (store migrate + Analyser) {pipe['setup']:.2f} s, not counted below")
    trace_hdr = "  tm-peak" if args.tracemalloc else ""
    print(f"\n  {'':<22} {'wall s':>8} {'cpu s':>8} {'items':>8} {'items/s':>9} {'200':>5} {'304':>5} {'err':>4} "
          f"{'alerts':>6} {'rss0MB':>6} {'peakMB':>6} {'rssMB':>6}{trace_hdr}")
    for phase in ("cold", "warm"):
        print(_row(f"feedparser-only {phase}", yard[phase]))
        print(_row(f"pipeline {phase}", pipe[phase]))
        if other:
            print(_row(f"compared {phase}", other[phase]))
    if other:
        print(f"  (compared = the pipeline in {others[-1]['bot']}, set-up {others[-1]['setup']:.2f} s; "
              f"pipeline = {pipes[-1]['bot']})")
    if args.repeat > 1:
        for name, runs in (("feedparser-only", yards), ("pipeline", pipes), ("compared", others)):
            if not runs:
                continue
            print(f"  {name} wall per run: " + "; ".join(
                f"{ph} " + " ".join(f"{r[ph]['wall']:.2f}" for r in runs) for ph in ("cold", "warm")))
        print(f"  (each row: the fastest of {args.repeat} runs, each run in a fresh process with a fresh store)")
    print("  (peakMB = VmHWM/ru_maxrss of that side's process during the phase"
          + ("" if pipe["cold"]["peak_is_phase"] else ", lifetime peak: /proc/self/clear_refs not writable")
          + "; rss0MB/rssMB = VmRSS before/after it; items = entries parsed)")
    for phase in ("cold", "warm"):
        p, y = pipe[phase], yard[phase]
        srv = p["server"]["stats"]
        print(f"  {phase}: server answered {srv.get('200', 0)} x 200, {srv.get('304', 0)} x 304 to the pipeline; "
              f"pipeline: {p['relevant']} relevant, {p['new_alerts']} new alerts, {p['updated_alerts']} updated, "
              f"stored items/alerts {p['stored'][0]}/{p['stored'][1]}"
              + (f"; errors e.g. {p['errors']}" if p["errors"] else ""))

    print("\nratio pipeline / feedparser-only:")
    for phase in ("cold", "warm"):
        p, y = pipe[phase], yard[phase]
        goal = "  (goal: at most 1.3x)"
        print(f"  {phase}: wall {p['wall'] / y['wall']:.2f}x, cpu {p['cpu'] / y['cpu']:.2f}x, "
              f"peak RSS {p['peak_kb'] / y['peak_kb']:.2f}x{goal}")
        if other:
            o = other[phase]
            print(f"  {phase}, compared: wall {o['wall'] / y['wall']:.2f}x, cpu {o['cpu'] / y['cpu']:.2f}x, "
                  f"peak RSS {o['peak_kb'] / y['peak_kb']:.2f}x")

    if pipe["flat"]:
        print(f"\nmemory over {args.cycles} further warm cycles (pipeline process):")
        print(f"  {'cycle':>5} {'VmRSS MB':>9} {'stored items':>13} {'alerts':>7} {'new items published':>20} "
              f"{'304s':>5} {'mean wall s':>12} {'mean cpu s':>11}")
        for f in pipe["flat"]:
            print(f"  {f['cycle']:5d} {f['rss_kb'] / 1024:9.1f} {f['stored_items']:13d} {f['alerts']:7d} "
                  f"{f['new_items_published']:20d} {f['not_modified']:5d} {f['mean_wall']:12.2f} {f['mean_cpu']:11.2f}")
        first, last = pipe["flat"][0], pipe["flat"][-1]
        print(f"  RSS change cycle {first['cycle']} -> {last['cycle']}: {(last['rss_kb'] - first['rss_kb']) / 1024:+.1f} MB "
              f"while stored items went {first['stored_items']} -> {last['stored_items']}; "
              f"database {pipe['db_bytes'] / 2**20:.1f} MiB")
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
