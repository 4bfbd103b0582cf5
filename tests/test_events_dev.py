"""The labelled events sets for story grouping (development and held-out) stay well-formed, and their
scoring counts pairs right."""
from __future__ import annotations

import dataclasses
from collections import Counter
from itertools import combinations

import pytest

from bench.story_grouping import evaluate, hard_negatives, load, store_grouping
from tests.conftest import DATA

FIELDS = {"event", "outlet", "published", "title", "teaser", "link"}


@pytest.fixture(scope="module")
def items():
    return load(DATA / "events_dev.jsonl")


@pytest.mark.parametrize("name, least", [("events_dev.jsonl", 40), ("events_holdout.jsonl", 15),
                                         ("events_holdout2.jsonl", 15)])
def test_every_event_has_two_to_five_items_from_outlets(name, least):
    items = load(DATA / name)
    sizes = Counter(i["event"] for i in items)
    assert len(sizes) >= least
    assert all(2 <= n <= 5 for n in sizes.values()), {e: n for e, n in sizes.items() if not 2 <= n <= 5}
    for item in items:
        assert FIELDS <= item.keys() and all(item[f] for f in FIELDS - {"teaser"}), item
        assert item["link"].startswith("https://"), item["link"]
        assert item["published"][-6] in "+-", f"{item['published']}: needs an offset"
        if item.get("via", "").startswith("Google News"):
            assert item["title"].endswith(f" - {item['outlet']}"), item["title"]


def test_set_holds_the_hard_cases(items):
    # Distinct events of the same Berlin day, and news-search copies of an article already in the set.
    same_day = {tuple(sorted((a["event"], b["event"]))) for a, b in combinations(items, 2)
                if a["event"] != b["event"] and a["published"][:10] == b["published"][:10]}
    assert len(same_day) >= 10
    assert hard_negatives(items) >= 100
    titles = {(i["event"], i["title"]) for i in items if not i.get("via")}
    copies = [i for i in items if i.get("via", "").startswith("Google News")
              and (i["event"], i["title"][: -len(i["outlet"]) - 3]) in titles]
    assert len(copies) >= 3


@pytest.mark.parametrize("name", ["events_holdout.jsonl", "events_holdout2.jsonl"])
def test_holdout_is_other_events_with_hard_neighbours(name):
    """A held-out set shares no event or item with the other sets, and holds distinct events that lie
    within one story window of each other."""
    held = load(DATA / name)
    others = [i for other in ("events_dev.jsonl", "events_holdout.jsonl", "events_holdout2.jsonl")
              if other != name for i in load(DATA / other)]
    assert not {i["event"] for i in others} & {i["event"] for i in held}
    assert not {i["link"] for i in others} & {i["link"] for i in held}
    near = {tuple(sorted((a["event"], b["event"]))) for a, b in combinations(held, 2)
            if a["event"] != b["event"] and abs(a["when"] - b["when"]).total_seconds() <= 48 * 3600}
    assert len(near) >= 6


def test_evaluate_counts_pairs():
    labels = {"a": "E1", "b": "E1", "c": "E1", "d": "E2", "e": "E3"}
    score = evaluate({"a": 1, "b": 1, "c": 2, "d": 2, "e": 3}, labels)
    assert (score.events, score.items, score.alerts, score.events_multi, score.events_whole) == (3, 5, 3, 1, 0)
    assert evaluate({"a": 1, "b": 1, "c": 1, "d": 2, "e": 3}, labels).events_whole == 1
    assert (score.true_pairs, score.grouped_pairs) == (3, 2)
    assert score.precision == 0.5 and score.recall == pytest.approx(1 / 3)
    assert score.merged == (("c", "d"),) and score.split == (("a", "c"), ("b", "c"))


def test_evaluate_refuses_an_incomplete_grouping():
    with pytest.raises(ValueError, match="1 labelled items have no group"):
        evaluate({"a": 1}, {"a": "E1", "b": "E1"})


def test_news_search_copy_joins_its_original_in_the_store(items, shipped_config, tmp_path):
    event = "2025-01-17-supreme-court-bestaetigt"
    chosen = [i for i in items if i["event"] == event and i["title"].startswith("Supreme Court bestätigt")]
    chosen += [i for i in items if i["event"] == "2025-01-19-tiktok-abgeschaltet"][:1]
    config = dataclasses.replace(shipped_config, database_url=f"sqlite:///{tmp_path / 'x.db'}")
    groups = store_grouping(chosen, config)
    original, copy, other = (groups[i["link"]] for i in chosen)
    assert original == copy != other
