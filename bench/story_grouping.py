"""Pair precision and recall of story grouping on a labelled set of real events (one alert per event).

The grouping measured is the real one: bot.stories.StoryModel (built as the pipeline builds it) deciding,
Store.add_articles on a temporary SQLite database saving.

Usage: python bench/story_grouping.py [events.jsonl | --holdout] [--config config/dealticker.toml] [--quiet]
           [--through-relevance]
The default set is tests/data/events_dev.jsonl (rules are tuned on it); --holdout measures
tests/data/events_holdout.jsonl, written before the second round of rules and never tuned on.
Each line: {"event", "outlet", "published", "title", "teaser", "link", "via"?, "note"?}; "via" names the
news-search feed an item came through. `evaluate` scores any grouping, so a new grouping can be measured
with the same figures: call it with {item link: group id} and {item link: event id}.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path
from typing import Hashable, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bot import schema  # noqa: E402
from bot.config import Config, load_config  # noqa: E402
from bot.models import Article, Verdict  # noqa: E402
from bot.parse import normalise  # noqa: E402
from bot.relevance import RelevanceModel  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.german import GermanText  # noqa: E402
from bot.stories import StoryModel  # noqa: E402

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "events_dev.jsonl"
HOLDOUT_SET = DEFAULT_SET.with_name("events_holdout.jsonl")


@dataclass(frozen=True)
class Score:
    events: int
    items: int
    alerts: int  # groups the items ended up in: ideally one per event
    events_multi: int  # events with two or more items: the ones grouping can get right or wrong
    events_whole: int  # of those, events whose items make up exactly one group
    true_pairs: int  # item pairs of the same event
    grouped_pairs: int  # item pairs put in the same group
    precision: float
    recall: float
    merged: tuple[tuple[str, str], ...]  # pairs of different events put together
    split: tuple[tuple[str, str], ...]  # pairs of one event kept apart


def evaluate(assignment: Mapping[str, Hashable], labels: Mapping[str, str]) -> Score:
    """Score a grouping (item -> group) against the labels (item -> event), over the labelled items."""
    missing = labels.keys() - assignment.keys()
    if missing:
        raise ValueError(f"{len(missing)} labelled items have no group, e.g. {sorted(missing)[0]}")
    keys = sorted(labels)
    merged, split, true_pairs, grouped_pairs = [], [], 0, 0
    for a, b in combinations(keys, 2):
        same_event, same_group = labels[a] == labels[b], assignment[a] == assignment[b]
        true_pairs += same_event
        grouped_pairs += same_group
        if same_group and not same_event:
            merged.append((a, b))
        elif same_event and not same_group:
            split.append((a, b))
    correct = grouped_pairs - len(merged)
    members: dict[Hashable, set[str]] = defaultdict(set)
    by_event: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        members[assignment[k]].add(k)
        by_event[labels[k]].add(k)
    multi = [items for items in by_event.values() if len(items) > 1]
    whole = sum(1 for items in multi if members[assignment[next(iter(items))]] == items)
    return Score(events=len(by_event), items=len(keys), alerts=len(members), events_multi=len(multi),
                 events_whole=whole,
                 true_pairs=true_pairs, grouped_pairs=grouped_pairs,
                 precision=correct / grouped_pairs if grouped_pairs else 1.0,
                 recall=correct / true_pairs if true_pairs else 1.0,
                 merged=tuple(merged), split=tuple(split))


def load(path: Path) -> list[dict]:
    """The labelled items in published order (the order feeds would deliver them)."""
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            item = json.loads(line)
            item["when"] = datetime.fromisoformat(item["published"]).astimezone(timezone.utc)
            items.append(item)
    links = [i["link"] for i in items]
    if len(set(links)) != len(links):
        raise ValueError(f"{path}: links must be unique, they identify the items")
    return sorted(items, key=lambda i: i["when"])


def hard_negatives(items: list[dict], hours: float = 24) -> int:
    """Pairs of different events published within `hours` of each other."""
    return sum(1 for a, b in combinations(items, 2)
               if a["event"] != b["event"] and abs(a["when"] - b["when"]) <= timedelta(hours=hours))


def _article(item: dict) -> Article:
    # The real feed normaliser, so news-search titles lose their " - Outlet" suffix as in production.
    raw = {"title": item["title"], "summary": item["teaser"], "link": item["link"], "id": item["link"],
           "published_parsed": item["when"].utctimetuple()}
    if item.get("via") and item["title"].endswith(f" - {item['outlet']}"):
        raw["source"] = {"title": item["outlet"]}
    entry = normalise(raw, "https://bench.invalid/" + (item.get("via") or item["outlet"]),
                      item.get("via") or item["outlet"], "de", datetime.now(timezone.utc))
    return Article(entry, Verdict(True, 1.0, ("bench",)), "de", (), item["teaser"] or entry.title)


def store_grouping(items: list[dict], config: Config, model: StoryModel | None = None) -> dict[str, int]:
    """Feed the items one by one through Store.add_articles with the pipeline's story model, as polls
    would; item link -> alert id."""
    model = model or StoryModel.build(config.deal, GermanText())
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        try:
            store.migrate()
            for item in items:
                store.add_articles([_article(item)], config.story_window_hours, model)
            with store.engine.connect() as conn:
                rows = conn.execute(select(schema.items.c.link, schema.items.c.alert_id)).all()
        finally:
            store.close()
    return {link: alert for link, alert in rows}


def through_relevance(items: list[dict], config: Config) -> list[dict]:
    """The items the relevance stage keeps, as in production (only those reach the story model)."""
    relevance = RelevanceModel.build(config.deal)
    entries = {i["link"]: _article(i).entry for i in items}
    return [i for i in items if relevance.judge(entries[i["link"]].title, entries[i["link"]].teaser).relevant]


def _short(item: dict) -> str:
    return f"{item['outlet'][:14]}: {item['title'][:60]}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", nargs="?", default=str(DEFAULT_SET))
    parser.add_argument("--holdout", action="store_true", help=f"measure {HOLDOUT_SET.name} instead")
    parser.add_argument("--config", default=None)
    parser.add_argument("--quiet", action="store_true", help="figures only, no pair lists")
    parser.add_argument("--through-relevance", action="store_true",
                        help="group only the items the relevance stage keeps, as in production")
    args = parser.parse_args()
    config = load_config(Path(args.config) if args.config else None, env={})
    if args.holdout:
        args.events = str(HOLDOUT_SET)
    items = load(Path(args.events))
    kept = through_relevance(items, config)
    print(f"the relevance stage keeps {len(kept)} of {len(items)} items "
          f"({len({i['event'] for i in kept})} of {len({i['event'] for i in items})} events keep at least one)")
    if args.through_relevance:
        items = kept
    by_link = {i["link"]: i for i in items}
    started = time.perf_counter()
    assignment = store_grouping(items, config)
    elapsed = time.perf_counter() - started
    s = evaluate(assignment, {i["link"]: i["event"] for i in items})
    print(f"set {args.events}: {s.events} events, {s.items} items, {s.true_pairs} same-event pairs; "
          f"different-event pairs within 24 h: {hard_negatives(items)}, within the "
          f"{config.story_window_hours} h window: {hard_negatives(items, config.story_window_hours)}")
    print(f"store grouping (window {config.story_window_hours} h): {s.alerts} alerts for {s.events} events, "
          f"{s.events_whole} of {s.events_multi} events with several items as exactly one alert")
    print(f"pair precision {s.precision:.3f}  pair recall {s.recall:.3f}  "
          f"({s.grouped_pairs - len(s.merged)} of {s.true_pairs} same-event pairs grouped, "
          f"{len(s.merged)} wrongly merged)  {1000 * elapsed / max(1, s.items):.1f} ms/item")
    # The model's weights were fitted on the development set's 2020 events; its later ones show how it
    # does on events it was not fitted to (pairs within each part; the grouping ran over the whole set).
    dev = Path(args.events).resolve() == DEFAULT_SET
    parts = (("2020 (weights fitted on)" if dev else "2020", lambda e: e < "2021"),
             ("2021-2025 (weights not fitted on)" if dev else "2021 and later", lambda e: e >= "2021"))
    for name, keep in parts:
        part = {i["link"]: i["event"] for i in items if keep(i["event"])}
        if part:
            p = evaluate(assignment, part)
            print(f"  {name}: {p.alerts} alerts for {p.events} events, pair precision {p.precision:.3f}, "
                  f"pair recall {p.recall:.3f}")
    if not args.quiet:
        order = {link: n for n, link in enumerate(by_link)}  # published order
        chrono = [sorted(p, key=order.get) for p in s.merged]
        for a, b in sorted(chrono, key=lambda p: (order[p[0]], order[p[1]])):
            print(f"MERGED {by_link[a]['event']} | {_short(by_link[a])}\n"
                  f"    <> {by_link[b]['event']} | {_short(by_link[b])}")
        chrono = [sorted(p, key=order.get) for p in s.split]
        for a, b in sorted(chrono, key=lambda p: (by_link[p[0]]["event"], order[p[0]], order[p[1]])):
            print(f"SPLIT  {by_link[a]['event']}: {_short(by_link[a])}  <>  {_short(by_link[b])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
