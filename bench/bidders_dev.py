"""Bidder status agreement on tests/data/bidders_dev.jsonl, split into a development and a held-out half.

Usage: .venv/bin/python bench/bidders_dev.py [--config config/dealticker.toml] [--show-errors | --show-all-errors]
       [--no-relevance]

Halves by id: odd ids (bid-001, bid-003, …) are the half the rules were first written from, even ids the
half held out then (--show-errors prints the odd half only). Since a fresh held-out set was written
(tests/data/bidders_holdout.jsonl, measured by whoever did not write the rules), both halves are development
data: --show-all-errors prints the errors of both halves and of the other deals' sets.
Figures per half:
- status agreement: of the (item, labelled bidder) pairs whose bidder the finder finds, the share whose
  status equals the label (None = named without status counts as a status);
- bidder precision / recall, counted only for labelled names that the config's bidder list knows
  (the canonical name or one of its aliases), since the finder cannot find names it is not given;
- the labelled bidders the config does not know;
- ms per item for `find` (title and teaser): first pass (the text layer's model loaded, each new word
  analysed once) and a second pass (every word cached).
Then the relevance set's figure as bench/relevance.py prints it ("role agreement"), and the same
figures on the two other deals' sets (tests/data/deal_commerzbank_dev.jsonl, deal_covestro_dev.jsonl:
relevant items only, split the same way), with the shipped status cues and only the target and acquirer
configured as tests/data/bidders_dev.md gives them: German takeover language beyond the TikTok sale.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bidders import BidderFinder  # noqa: E402
from bot.config import BidderConfig, load_config  # noqa: E402

DATA = ROOT / "tests" / "data" / "bidders_dev.jsonl"
# Written after the rules of issue 9 by someone who had not seen them; measured once (0.669), then released
# as development data when a third fresh set was written elsewhere (--show-holdout-errors).
HOLDOUT = ROOT / "tests" / "data" / "bidders_holdout.jsonl"
# The third set, written while the second was being developed on, by someone who saw no rule, in more varied
# German (long teasers, Konjunktiv I, nominal style): 0.550 when released as development data (status3 rules,
# --show-holdout2-errors), while a fourth set is written and measured elsewhere.
HOLDOUT2 = ROOT / "tests" / "data" / "bidders_holdout2.jsonl"
# The fourth set, written elsewhere while the third was developed on, never developed on: 0.697 before the
# status3 rules, 0.705 after. Only its totals are printed.
HOLDOUT3 = ROOT / "tests" / "data" / "bidders_holdout3.jsonl"
# The other deals, configured by names only (tests/data/bidders_dev.md, "Config blocks").
DEALS = {
    "commerzbank": (("Commerzbank", "Coba"), BidderConfig(
        "UniCredit", ("UniCredit", "Unicredit", "Andrea Orcel", "Orcel", "HypoVereinsbank", "HVB"))),
    "covestro": (("Covestro",), BidderConfig(
        "ADNOC", ("ADNOC", "Adnoc", "Abu Dhabi National Oil Company", "XRG", "Sultan Al Jaber", "Al Jaber"))),
}


def load(path: Path = DATA) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def half(items: list[dict], which: str) -> list[dict]:
    """'dev' = odd ids, 'held-out' = even ids."""
    odd = which == "dev"
    return [i for i in items if (int(i["id"].rsplit("-", 1)[1]) % 2 == 1) == odd]


def canonical(deal) -> dict[str, str]:
    """Any spelling of a configured bidder (name or alias, lower case) -> its configured name."""
    out = {}
    for b in deal.bidders:
        for a in (b.name,) + tuple(b.aliases):
            out[a.lower()] = b.name
    return out


def evaluate(finder: BidderFinder, items: list[dict], known: dict[str, str]) -> dict:
    pairs = agree = labelled_known = found_total = found_labelled = 0
    unknown: Counter = Counter()
    errors = []
    confusion: Counter = Counter()
    started = time.perf_counter()
    results = [finder.find(i["title"], i["teaser"]) for i in items]
    ms = 1000 * (time.perf_counter() - started) / max(1, len(items))
    started = time.perf_counter()  # again: every word now in the text layer's cache
    for i in items:
        finder.find(i["title"], i["teaser"])
    warm = 1000 * (time.perf_counter() - started) / max(1, len(items))
    for item, mentions in zip(items, results):
        found = {m.name: m.role for m in mentions}
        expected = {}
        for b in item["bidders"]:
            name = known.get(b["name"].lower())
            if name is None:
                unknown[b["name"]] += 1
            else:
                expected[name] = b["status"]
        labelled_known += len(expected)
        found_total += len(found)
        found_labelled += len(found.keys() & expected.keys())
        for name in expected.keys() & found.keys():
            pairs += 1
            agree += expected[name] == found[name]
            if expected[name] != found[name]:
                confusion[(expected[name], found[name])] += 1
        wrong = {n: (expected.get(n, "-"), found.get(n, "-")) for n in expected.keys() | found.keys()
                 if expected.get(n, "-") != found.get(n, "-")}
        if wrong:
            errors.append((item, dict(sorted(wrong.items()))))
    return {"items": len(items), "pairs": pairs, "agree": agree,
            "agreement": agree / pairs if pairs else 1.0,
            "precision": found_labelled / found_total if found_total else 1.0,
            "recall": found_labelled / labelled_known if labelled_known else 1.0,
            "found": found_total, "labelled": labelled_known, "hits": found_labelled,
            "unknown": unknown, "ms": ms, "warm": warm, "errors": errors, "confusion": confusion}


def report(name: str, r: dict) -> None:
    print(f"{name}: {r['items']} items  status agreement {r['agreement']:.3f} ({r['agree']}/{r['pairs']})  "
          f"bidder precision {r['precision']:.3f} ({r['hits']}/{r['found']})  "
          f"recall {r['recall']:.3f} ({r['hits']}/{r['labelled']})  {r['ms']:.1f} ms/item, {r['warm']:.1f} warm")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "dealticker.toml"))
    parser.add_argument("--show-errors", action="store_true", help="development half only")
    parser.add_argument("--show-all-errors", action="store_true",
                        help="both halves and the other deals' sets (once a fresh held-out set exists elsewhere)")
    parser.add_argument("--show-holdout-errors", action="store_true",
                        help="bidders_holdout.jsonl (released as development data once a third fresh set exists)")
    parser.add_argument("--show-holdout2-errors", action="store_true",
                        help="bidders_holdout2.jsonl (released as development data once a fourth set exists)")
    parser.add_argument("--no-relevance", action="store_true")
    args = parser.parse_args()
    config = load_config(Path(args.config), env={})
    finder = BidderFinder.build(config.deal)
    known = canonical(config.deal)
    items = load()
    finder.find(items[0]["title"], items[0]["teaser"])  # load the text layer before timing
    finder.find(items[0]["title"], items[0]["teaser"])
    results = {}
    for which in ("dev", "held-out", "all"):
        results[which] = evaluate(finder, items if which == "all" else half(items, which), known)
        report(f"{which:8}", results[which])
    fresh = evaluate(finder, load(HOLDOUT), known)
    report("second set (bidders_holdout.jsonl, developed on since)", fresh)
    third = evaluate(finder, load(HOLDOUT2), known)
    report("third set (bidders_holdout2.jsonl, developed on since)", third)
    report("fresh held-out (bidders_holdout3.jsonl)", evaluate(finder, load(HOLDOUT3), known))
    unknown = results["all"]["unknown"]
    print(f"labelled bidders not in the config ({sum(unknown.values())} mentions): "
          + ", ".join(f"{n} {c}" for n, c in unknown.most_common()))
    if args.show_errors or args.show_all_errors:
        r = results["all" if args.show_all_errors else "dev"]
        print("all" if args.show_all_errors else "dev", "confusions (label -> found):", ", ".join(
            f"{a}->{b} {c}" for (a, b), c in r["confusion"].most_common()))
        for item, wrong in r["errors"]:
            print(f"{item['id']} {wrong}\n   T: {item['title']}\n   S: {item['teaser']}")
    if args.show_holdout_errors or args.show_all_errors:
        print("holdout confusions (label -> found):", ", ".join(
            f"{a}->{b} {c}" for (a, b), c in fresh["confusion"].most_common()))
        for item, wrong in fresh["errors"]:
            print(f"{item['id']} {wrong}\n   T: {item['title']}\n   S: {item['teaser']}")
    if args.show_holdout2_errors:
        print("holdout2 confusions (label -> found):", ", ".join(
            f"{a}->{b} {c}" for (a, b), c in third["confusion"].most_common()))
        for item, wrong in third["errors"]:
            print(f"{item['id']} {wrong}\n   T: {item['title']}\n   S: {item['teaser']}")
    for deal, (subject, bidder) in DEALS.items():
        other = dataclasses.replace(config.deal, subject=subject, bidders=(bidder,))
        deal_items = [i for i in load(ROOT / "tests" / "data" / f"deal_{deal}_dev.jsonl") if i.get("relevant")]
        for which in ("dev", "held-out"):
            report(f"{deal} {which}", evaluate(BidderFinder.build(other), half(deal_items, which),
                                               canonical(other)))
        if args.show_errors or args.show_all_errors:
            shown = deal_items if args.show_all_errors else half(deal_items, "dev")
            for item, wrong in evaluate(BidderFinder.build(other), shown, canonical(other))["errors"]:
                print(f"{item['id']} {wrong}\n   T: {item['title']}\n   S: {item['teaser']}")
    if not args.no_relevance:
        from bench.relevance import evaluate as relevance
        rel = relevance(ROOT / "tests" / "data" / "relevance_dev.jsonl", Path(args.config), repeat=1)
        print(f"relevance_dev.jsonl, bidders on relevant items: precision {rel['bidder_precision']:.3f}  "
              f"recall {rel['bidder_recall']:.3f}  bidder status agrees with label {rel['role_accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
