"""Relevance on two other real German takeovers, configured only by names plus the shipped vocabulary.

Usage: python bench/other_deals.py [--config config/dealticker.toml] [--show-errors]
The deals are UniCredit/Commerzbank and ADNOC/Covestro (tests/data/deal_<x>_dev.jsonl); their `[deal]`
blocks are read from tests/data/bidders_dev.md exactly as a user would type them (target and acquirer
names, nothing else). Everything else comes from the shipped file: its `[deal]` tables are dropped, its
`[vocabulary]` (generic German deal language) and other sections are kept. The naive rule for comparison:
the target is named and (the acquirer is named or the text says "Übernahme").
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import load_config  # noqa: E402
from bot.relevance import RelevanceModel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
DEALS = (("commerzbank", "UniCredit/Commerzbank"), ("covestro", "ADNOC/Covestro"))
# The items after these were written after the vocabulary rules and never looked at while writing them:
# they are the held-out part ("later").
FIRST_BATCH = {"commerzbank": 74, "covestro": 73}
_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")


@dataclass(frozen=True)
class Figures:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def user_blocks() -> list[str]:
    """The two `[deal]` blocks of bidders_dev.md, in file order (Commerzbank, Covestro)."""
    text = (DATA / "bidders_dev.md").read_text(encoding="utf-8")
    return re.findall(r"```toml\n(.*?)```", text, re.S)


def without_deal(shipped: str) -> str:
    """The shipped file minus its `[deal]` tables (`[deal]`, `[deal.*]`, `[[deal.bidders]]`)."""
    out, skipping = [], False
    for line in shipped.splitlines():
        header = _HEADER.match(line)
        if header:
            skipping = header.group(1).split(".")[0] == "deal"
        if not skipping:
            out.append(line)
    return "\n".join(out)


def configure(block: str, shipped: Path, folder: Path) -> RelevanceModel:
    """The relevance model a user gets by pasting `block` into the shipped file in place of its deal."""
    path = folder / "deal.toml"
    path.write_text(without_deal(shipped.read_text(encoding="utf-8")) + "\n" + block, encoding="utf-8")
    return RelevanceModel.build(load_config(path, env={}).deal)


def naive(model: RelevanceModel):
    """target ∧ (acquirer ∨ "Übernahme"), on plain lower-cased text."""
    targets = [t.strip("*$").lower() for t in model.deal.subject]
    acquirers = [a.lower() for b in model.deal.bidders for a in b.aliases]

    def relevant(title: str, teaser: str) -> bool:
        text = f"{title} {teaser}".lower()
        return any(t in text for t in targets) and (any(a in text for a in acquirers) or "übernahme" in text)
    return relevant


def score(predicted: list[bool], truth: list[bool]) -> Figures:
    tp = sum(p and t for p, t in zip(predicted, truth))
    fp = sum(p and not t for p, t in zip(predicted, truth))
    fn = sum(t and not p for p, t in zip(predicted, truth))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Figures(precision, recall, f1, tp, fp, fn)


def measure(shipped: Path, folder: Path) -> dict[str, dict]:
    """Per deal: Dealticker's and the naive rule's figures, and Dealticker's errors."""
    results = {}
    for (key, label), block in zip(DEALS, user_blocks()):
        items = [json.loads(line) for line in (DATA / f"deal_{key}_dev.jsonl").read_text(encoding="utf-8")
                 .splitlines() if line.strip()]
        model = configure(block, shipped, folder)
        rule = naive(model)
        for part, chosen in (("all", items), ("later", [i for i in items if _number(i["id"]) > FIRST_BATCH[key]])):
            verdicts = [model.judge(i["title"], i["teaser"]) for i in chosen]
            truth = [bool(i["relevant"]) for i in chosen]
            errors = [("FP" if v.relevant else "FN", i, v) for i, v, t in zip(chosen, verdicts, truth)
                      if v.relevant != t]
            results[label if part == "all" else f"{label}, later items only"] = {
                "items": len(chosen), "dealticker": score([v.relevant for v in verdicts], truth),
                "naive": score([rule(i["title"], i["teaser"]) for i in chosen], truth),
                "errors": errors if part == "all" else []}
    return results


def _number(item_id: str) -> int:
    return int(re.sub(r"\D", "", item_id) or 0)


def main() -> int:
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=str(ROOT / "config" / "dealticker.toml"))
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = measure(Path(args.config), Path(folder))
    print("| deal | items | Dealticker P / R / F1 | naive rule P / R / F1 | F1 margin |")
    print("|---|---|---|---|---|")
    for label, r in results.items():
        d, n = r["dealticker"], r["naive"]
        print(f"| {label} | {r['items']} | {d.precision:.3f} / {d.recall:.3f} / {d.f1:.3f} | "
              f"{n.precision:.3f} / {n.recall:.3f} / {n.f1:.3f} | {d.f1 - n.f1:+.3f} |")
    if args.show_errors:
        for label, r in results.items():
            for kind, item, verdict in r["errors"]:
                print(f"{kind} {item['id']} {verdict.score:.2f} {item['title']!r} | {item['teaser'][:100]!r} "
                      f"{list(verdict.reasons)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
