"""Time the summary (boilerplate cleaning + sentence splitting) on teasers from 1 KB to 10 MB.

Usage: python bench/summary.py [--sizes 1000,72000,400000,10000000]
Feeds cut teasers at 2,000 characters, but `classify` and hostile feeds can hand over anything,
so the cost per teaser must not grow with its length. Prints milliseconds per call (best of 3).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.summary import summarise  # noqa: E402

SENTENCE = "Oracle und Silver Lake verhandeln weiter über die Zukunft der Plattform in den USA, sagte ein Sprecher. "
# Repeated starts of boilerplate patterns without their ends: what made the old regex quadratic.
KINDS = {
    "German sentences": SENTENCE,
    "'The post' without its end": "the post ",
    "'mehr lesen' before a newline": "mehr lesen ",
    "no sentence end at all": "Wort ",
}


def teaser(kind: str, size: int) -> str:
    unit = KINDS[kind]
    text = (unit * (size // len(unit) + 1))[:size]
    return text[:-2] + "\n." if "newline" in kind else text


def best_ms(text: str, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        summarise("Titel", text)
        best = min(best, time.perf_counter() - started)
    return 1000 * best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,72000,400000,10000000", help="teaser sizes in characters")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    summarise("Titel", SENTENCE)  # load pysbd's rules once, outside the timing
    print(f"{'teaser':32}" + "".join(f"{size:>12,}" for size in sizes) + "  (characters; ms per summary)")
    for kind in KINDS:
        cells = [best_ms(teaser(kind, size), 3 if size <= 400_000 else 1) for size in sizes]
        print(f"{kind:32}" + "".join(f"{ms:12.1f}" for ms in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
