"""Language detection with all 55 langdetect profiles against the subset the shipped configuration loads.

Usage: .venv/bin/python bench/language.py [--repeat 3]

Each detector is built in a fresh process, so its memory is its own: the RSS the build added (MB) and
the time it took, then ms per item over every development item (tests/data/*.jsonl, title and teaser as
the Analyser joins them, with the feed's hint "de"), and how many answers differ from the full detector's.
It also lists which languages the full detector answered without a hint, the evidence for the neighbours
loaded besides the configured ones (bot/language.py). Prints figures only.
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def _items() -> list[str]:
    out = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out.append(f"{row['title']}. {row.get('teaser') or row.get('summary') or ''}")
    return out


def _side(subset: bool, repeat: int, out) -> None:
    import gc

    from bot.config import load_config
    from bot.language import LanguageDetector

    config = load_config(ROOT / "config" / "dealticker.toml", env={})
    items = _items()
    gc.collect()
    before, start = _rss_mb(), time.perf_counter()
    detector = (LanguageDetector.for_languages(config.languages + tuple(f.language for f in config.feeds))
                if subset else LanguageDetector())
    build = time.perf_counter() - start
    gc.collect()
    grown = _rss_mb() - before
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        answers = [detector.detect(text, "de") for text in items]
        best = min(best, time.perf_counter() - start)
    bare = collections.Counter(detector.detect(text) for text in items)
    out.send({"profiles": len(detector.languages), "mb": grown, "build": build, "ms": best * 1000 / len(items),
              "answers": answers, "bare": bare, "items": len(items)})
    out.close()


def _run(ctx, subset: bool, repeat: int) -> dict:
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_side, args=(subset, repeat, send))
    proc.start()
    send.close()
    result = recv.recv()
    proc.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the items; the fastest counts")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    full, subset = _run(ctx, False, args.repeat), _run(ctx, True, args.repeat)
    print(f"{full['items']} development items, hint \"de\", best of {args.repeat} passes")
    for label, r in (("full", full), ("subset", subset)):
        print(f"  {label:<7} {r['profiles']:3d} profiles   +{r['mb']:5.1f} MB RSS   "
              f"built in {r['build'] * 1000:5.0f} ms"
              f"   {r['ms']:5.2f} ms/item")
    differ = sum(a != b for a, b in zip(full["answers"], subset["answers"]))
    print(f"  answers that differ: {differ} of {full['items']}")
    print(f"  without a hint, full detector answered: {dict(full['bare'].most_common())}")
    print(f"  without a hint, subset answered:        {dict(subset['bare'].most_common())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
