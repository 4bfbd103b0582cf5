"""Precision and recall of the relevance stage (and bidder accuracy) on a labelled JSONL corpus.

Usage: python bench/relevance.py [corpus.jsonl] [--config config/dealticker.toml] [--show-errors] [--repeat N]
Each line: {"id", "title", "summary", "relevant": bool, "bidders": [{"name", "role"}], ...}
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import load_config  # noqa: E402
from bot.pipeline import Analyser  # noqa: E402


def evaluate(corpus: Path, config_path: Path | None = None, repeat: int = 1) -> dict:
    analyser = Analyser(load_config(config_path, env={}))
    items = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    tp = fp = fn = tn = 0
    bidder_hits = bidder_total = bidder_predicted = role_hits = 0
    errors = []
    for item in items:
        verdict = analyser.relevance.judge(item["title"], item["summary"])
        truth = bool(item["relevant"])
        if verdict.relevant and truth:
            tp += 1
        elif verdict.relevant:
            fp += 1
            errors.append(("FP", item, verdict))
        elif truth:
            fn += 1
            errors.append(("FN", item, verdict))
        else:
            tn += 1
        if truth:
            expected = {b["name"]: b.get("role") for b in item.get("bidders", [])}
            found = {b.name: b.role for b in analyser.bidders.find(item["title"], item["summary"])}
            bidder_total += len(expected)
            bidder_predicted += len(found)
            bidder_hits += len(expected.keys() & found.keys())
            role_hits += sum(1 for k in expected.keys() & found.keys() if expected[k] == found[k])
    return {
        "items": len(items), "positives": tp + fn, "negatives": fp + tn,
        "hard_negatives": sum(1 for i in items if i.get("kind") == "hard_negative"),
        "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "bidder_recall": bidder_hits / bidder_total if bidder_total else 1.0,
        "bidder_precision": bidder_hits / bidder_predicted if bidder_predicted else 1.0,
        "role_accuracy": role_hits / bidder_hits if bidder_hits else 1.0,
        "ms_per_item": _ms_per_item(analyser.relevance, items, repeat), "errors": errors,
    }


def _ms_per_item(relevance, items: list[dict], repeat: int) -> float:
    """The relevance stage alone, fastest of `repeat` passes: other work on this machine only
    ever makes a pass slower, so the fastest is the closest to the stage's own cost."""
    fastest = float("inf")
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        for item in items:
            relevance.judge(item["title"], item["summary"])
        fastest = min(fastest, time.perf_counter() - started)
    return 1000 * fastest / max(1, len(items))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default="tests/data/relevance_dev.jsonl")
    parser.add_argument("--config", default=None)
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--repeat", type=int, default=20, help="timing passes; the fastest counts")
    args = parser.parse_args()
    r = evaluate(Path(args.corpus), Path(args.config) if args.config else None, args.repeat)
    print(f"corpus {args.corpus}: {r['items']} items, {r['positives']} relevant, {r['negatives']} not "
          f"({r['hard_negatives']} hard negatives)")
    print(f"relevance: precision {r['precision']:.3f}  recall {r['recall']:.3f}  "
          f"(tp {r['tp']}, fp {r['fp']}, fn {r['fn']}, tn {r['tn']})  {r['ms_per_item']:.3f} ms/item (judge only)")
    print(f"bidders on relevant items: precision {r['bidder_precision']:.3f}  recall {r['bidder_recall']:.3f}  "
          f"role agreement {r['role_accuracy']:.3f}")
    if args.show_errors:
        for kind, item, verdict in r["errors"]:
            print(f"{kind} {item['id']} {verdict.score:.2f} {item['title']!r} | {item['summary'][:120]!r} "
                  f"{list(verdict.reasons)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
