"""Bidder discovery (bot/discovery.py) on the labelled sets: unlisted names found, and the recall proof.

Usage: .venv/bin/python bench/discovery.py [--config config/dealticker.toml] [--show-errors]

Per set and half (bidders_dev and the other deals split by id: odd = development, even = held-out, whose
errors are never shown; relevance_dev relevant items, split the same way):
(a) precision / recall of discovered names against the labelled bidders the config does not list;
(b) the proof: five bidders with many mentions (REMOVED) are deleted from the config, and the overall bidder
    recall (finder ∪ discovery against every labelled bidder) is compared with the full config's;
    for the other deals the single acquirer is deleted (discovery alone must find it);
(c) discovered names that the item labels as not_bidders.
Names match loosely: one contains the other, word for word, after normalising ("McCourt" ~ "Frank McCourt");
a finder mention matches through any alias of its configured bidder. ms/item is for `find` of discovery.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bidders_dev import DEALS, half, load  # noqa: E402
from bot.bidders import BidderFinder  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.discovery import Discovery  # noqa: E402
from bot.german import GermanText  # noqa: E402
from bot.match import normalise  # noqa: E402

DATA = ROOT / "tests" / "data"
# Five real bidders with many mentions in bidders_dev (67, 24, 20, 14 and 7 items).
REMOVED = ("Oracle", "Walmart", "Perplexity", "Project Liberty", "Blackstone")


def same(a: str, b: str) -> bool:
    x, y = normalise(a).replace("-", " ").split(), normalise(b).replace("-", " ").split()
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    return bool(short) and any(long_[k:k + len(short)] == short for k in range(len(long_) - len(short) + 1))


def sets(config) -> list[tuple[str, object, list[dict], tuple[str, ...]]]:
    """(label, deal config, items in published order, bidders the proof removes) per set. The items run
    as one stream (discovery remembers what it found); each half is scored apart."""
    relevance = [i for i in load(DATA / "relevance_dev.jsonl") if i.get("relevant")]
    for i in relevance:
        i.setdefault("teaser", i.get("summary", ""))
        i["bidders"] = [{"name": b["name"], "status": b.get("role")} for b in i["bidders"]]
    out = [("tiktok", config.deal, load(DATA / "bidders_dev.jsonl"), REMOVED),
           ("relevance", config.deal, relevance, REMOVED)]
    for deal, (subject, bidder) in DEALS.items():
        items = [i for i in load(DATA / f"deal_{deal}_dev.jsonl") if i.get("relevant")]
        other = dataclasses.replace(config.deal, subject=subject, bidders=(bidder,), not_bidders=())
        out.append((deal, other, sorted(items, key=lambda i: (i.get("published", ""), i["id"])), (bidder.name,)))
    return out


def without(deal, names) -> object:
    return dataclasses.replace(deal, bidders=tuple(b for b in deal.bidders if b.name not in names))


def run(deal, items, german, memory=True) -> list[tuple[dict, list, list]]:
    """Per item: (item, finder mentions with their aliases, discovered mentions)."""
    finder, discovery = BidderFinder.build(deal, german), Discovery.build(deal, german, memory=memory)
    aliases = {b.name: (b.name, *b.aliases) for b in deal.bidders}
    return [(i, [aliases[m.name] for m in finder.find(i["title"], i["teaser"])],
             list(discovery.find(i["title"], i["teaser"]))) for i in items]


def figures(deal, results, spellings: dict) -> dict:
    """`spellings`: a labelled name -> its aliases in the full config (a discovered "McCourt" is the
    labelled "Project Liberty", as a found alias is for the finder)."""
    listed = [a for b in deal.bidders for a in (b.name, *b.aliases)]

    def hit(label: str, name: str) -> bool:
        return any(same(s, name) for s in spellings.get(label, (label,)))
    tp = fp = fn = hits = total = not_bidder = agree = 0
    errors = []
    for item, found, discovered in results:
        labels = [b["name"] for b in item["bidders"]]
        unlisted = [n for n in labels if not any(same(n, a) for a in listed)]
        names = [m.name for m in discovered]
        status = {b["name"]: b.get("status") for b in item["bidders"]}
        for n in unlisted:
            if any(hit(n, d) for d in names):
                tp += 1
                agree += status[n] == next(d.role for d in discovered if hit(n, d.name))
            else:
                fn += 1
                errors.append(f"  miss {item['id']}: {n} | {item['title']}")
        for d in discovered:
            if not any(hit(n, d.name) for n in labels):
                fp += 1
                errors.append(f"  extra {item['id']}: {d.name} ({d.role}) | {item['title']}")
            if any(same(n, d.name) for n in item.get("not_bidders", ())):
                not_bidder += 1
        for n in labels:
            total += 1
            hits += any(same(n, a) for aliases in found for a in aliases) or any(hit(n, d) for d in names)
    return {"tp": tp, "fp": fp, "fn": fn, "recall_all": hits / max(1, total), "labels": total,
            "not_bidder": not_bidder, "errors": errors,
            "agree": agree}


def pr(f: dict) -> str:
    p = f["tp"] / (f["tp"] + f["fp"]) if f["tp"] + f["fp"] else float("nan")
    r = f["tp"] / (f["tp"] + f["fn"]) if f["tp"] + f["fn"] else float("nan")
    a = f["agree"] / f["tp"] if f["tp"] else float("nan")
    return f"P {p:.2f} R {r:.2f} (tp {f['tp']} fp {f['fp']} fn {f['fn']}); status agrees {a:.2f}"


def proof(config, german, memory: bool = True) -> list[dict]:
    """Per set and half: full config vs the config without the removed bidders."""
    rows = []
    for label, deal, items, removed in sets(config):
        spellings = {b.name: (b.name, *b.aliases) for b in deal.bidders}
        started = time.perf_counter()
        full_run = run(deal, items, german, memory)
        ms = 1000 * (time.perf_counter() - started) / max(1, len(items))
        cut_deal = without(deal, removed)
        cut_run = run(cut_deal, items, german, memory)
        for which in ("dev", "held-out"):
            keep = {i["id"] for i in half(items, which)}
            full = figures(deal, [r for r in full_run if r[0]["id"] in keep], spellings)
            cut = figures(cut_deal, [r for r in cut_run if r[0]["id"] in keep], spellings)
            rows.append({"set": f"{label} {which}", "items": len(keep), "full": full, "cut": cut,
                         "removed": removed, "ms": ms})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "config" / "dealticker.toml"))
    ap.add_argument("--show-errors", action="store_true")
    ap.add_argument("--no-memory", action="store_true", help="each item alone: no names remembered")
    args = ap.parse_args()
    config = load_config(args.config, env={})
    german = GermanText()
    german.load()
    print(f"memory: {'off' if args.no_memory else 'on'}")
    for row in proof(config, german, not args.no_memory):
        full, cut = row["full"], row["cut"]
        print(f"{row['set']:22s} {row['items']:3d} items, {row['ms']:.1f} ms/item (finder + discovery, whole set)")
        print(f"  (a) unlisted, full config:     {pr(full)}")
        print(f"  (a) unlisted, without {len(row['removed'])}:     {pr(cut)}")
        print(f"  (b) recall of all {full['labels']} labelled bidders: full {full['recall_all']:.3f}, "
              f"without {', '.join(row['removed'])}: {cut['recall_all']:.3f} "
              f"(drop {full['recall_all'] - cut['recall_all']:+.3f})")
        print(f"  (c) discovered names labelled not_bidders: full {full['not_bidder']}, without {cut['not_bidder']}")
        if args.show_errors and "held-out" not in row["set"]:
            for line in sorted(set(full["errors"] + cut["errors"])):
                print(line)
    timing(config, german)


def timing(config, german) -> None:
    """Discovery alone, every word already in the text layer's cache: the cost per relevant item."""
    items = load(DATA / "bidders_dev.jsonl")
    for label, deal in (("full config", config.deal), ("without the five", without(config.deal, REMOVED))):
        finder, discovery = BidderFinder.build(deal, german), Discovery.build(deal, german)
        for name, call in (("finder.find", finder.find), ("discovery.find", discovery.find)):
            started = time.perf_counter()
            for _ in range(3):
                for i in items:
                    call(i["title"], i["teaser"])
            ms = 1000 * (time.perf_counter() - started) / (3 * len(items))
            print(f"{label:17s} {name:15s} {ms:.2f} ms/item (warm, {len(items)} items x 3)")


if __name__ == "__main__":
    main()
