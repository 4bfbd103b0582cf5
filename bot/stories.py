"""The event model of a story, and the decision whether a new item joins one.

A story is one event: who acts, what they do, when. Outlets word the same event differently ("Senat
billigt Tiktok-Gesetz" / "Zweite Kammer will Bytedance zum Verkauf zwingen") and different events of one
deal share most words ("Tiktok", "USA", "Trump", "Verkauf"), so words alone cannot decide. The model:

* Every item is described by `bot.events.Features` from its title and teaser through the German text
  layer: content lemmas and compound heads, actors (names, configured bidders, institutions), action
  classes (ban, approve, sign, extend, sue, ...) and facts (durations in days, dates, amounts, votes).
  Title features count twice: the title states the event, the teaser adds background.
* Words, actors and facts are weighted by how rare they are in the deal's own recent coverage (the
  `Corpus` the store hands over): the deal's name, "USA" or "Präsident" weigh nothing, "Mnuchin",
  "Senat" or "45 Tage" weigh a lot. A young corpus is padded, so early words are not all rare.
* A new item is compared with every item of each story in the time window (the story grows; the best
  pair counts), not only with the story's first headline. A pair scores by the weighted overlap of words,
  plus shared rare facts, plus the same main action with the same main actor; the same actor with a
  different main action (the Senate passes, then the President signs) counts against, and so does a
  gap in time that outlets rarely leave between reports of one event.
* An item from a news-search feed (it names its outlet) that repeats the headline of that outlet's
  item is that article, not news: it joins it whatever the rest says.
* The item joins the best-scoring story at or above `JOIN`; otherwise it opens a new one. The decision
  carries the score and the reasons, logged at DEBUG.

The store hands the candidates and the corpus in and saves what `decide` returns; it decides nothing.
"""
from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Iterable

from bot.config import DealConfig
from bot.events import TITLE, FeatureExtractor, Features
from bot.german import GermanText
from bot.match import normalise

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rules:
    """The weights of the event model; measured on the labelled events set (bench/story_grouping.py)."""

    join: float = 0.45  # a story's best pair must score this much
    words: float = 1.0  # weighted cosine of lemmas and compound heads, 0..1
    facts: float = 0.35  # per shared rare fact (days, date, amount, vote), scaled by rarity
    facts_cap: float = 0.5
    same_action: float = 0.15  # same main action class in both titles
    same_actor: float = 0.1  # same rare main actor in both titles
    other_action: float = 0.25  # same main actor, different main action: a later step
    hours_free: float = 12.0  # no time penalty within this gap
    per_hour: float = 0.01  # then this much per hour
    min_corpus: int = 30  # a corpus smaller than this counts as this big (unseen words are rare)


@dataclass(frozen=True)
class Item:
    """One item as the story model sees it, stored or new."""

    story: int | None  # its alert, for stored items
    published: datetime
    source: str
    title: str
    teaser: str = ""
    features: Features | None = None  # None: read from title and teaser when needed


@dataclass(frozen=True)
class Decision:
    story: int | None  # a stored story (alert id) to join
    score: float
    reasons: tuple[str, ...]
    joins: int | None = None  # or the story that the batch's item at this index opened; both None: new story

    @property
    def opens(self) -> bool:
        return self.story is None and self.joins is None


class Corpus:
    """How many items of the deal's recent coverage have each word, actor and fact."""

    def __init__(self, features: Iterable[Features], min_size: int = 30):
        self.df: Counter = Counter()
        self.size = 0
        self.min_size = min_size
        for f in features:
            self.add(f)

    def add(self, f: Features) -> None:
        self.size += 1
        self.df.update({f"w:{k}" for k in f.terms} | {f"a:{k}" for k in f.actors} | {f"f:{k}" for k in f.facts})

    def rarity(self, key: str) -> float:
        """0 for what every item has, 1 for what none has; smoothed IDF."""
        n = max(self.size, self.min_size)
        return math.log((n + 1) / (self.df.get(key, 0) + 1)) / math.log(n + 1)


class StoryModel:
    """Built once per process (it holds the text layer through `extractor`) and handed to the store."""

    def __init__(self, extractor: FeatureExtractor, rules: Rules = Rules(), horizon: timedelta = timedelta(days=30)):
        self.extractor = extractor
        self.rules = rules
        self.horizon = horizon  # how far back the store's coverage counts for rarity

    @classmethod
    def build(cls, deal: DealConfig, german: GermanText, rules: Rules = Rules()) -> "StoryModel":
        """The model for one deal: its subject weighs nothing, its bidders are actors."""
        bidders = {alias: b.name for b in deal.bidders for alias in b.aliases}
        return cls(FeatureExtractor(german, deal.subject, bidders), rules)

    def features(self, title: str, teaser: str, published: datetime | None = None) -> Features:
        return self.extractor.extract(title, teaser, published)

    def assign(self, new: list[Item], stored: list[Item], window: timedelta) -> list[Decision]:
        """A decision for each new item, in order; later items of the batch may join stories that
        earlier ones opened. `stored`: the coverage since `horizon` before the first new item."""
        stored = [s if s.features else replace(s, features=self.features(s.title, s.teaser, s.published)) for s in stored]
        corpus = Corpus((s.features for s in stored), self.rules.min_corpus)
        candidates = list(stored)
        story_of: list[int] = []  # per new item: the stored story, or -(index + 1) of the batch item that opened it
        decisions = []
        for index, item in enumerate(new):
            if item.features is None:
                item = replace(item, features=self.features(item.title, item.teaser, item.published))
            corpus.add(item.features)
            decision = self.decide(item, candidates, corpus, window)
            story = decision.story
            if story is not None and story < 0:
                decision = replace(decision, story=None, joins=-story - 1)
            decisions.append(decision)
            story_of.append(story if story is not None else -(index + 1))
            candidates.append(replace(item, story=story_of[-1]))
        return decisions

    def decide(self, item: Item, recent: list[Item], corpus: Corpus, window: timedelta) -> Decision:
        """Which story `item` belongs to among the `recent` items' stories, or a new one."""
        best: tuple[float, int | None, tuple[str, ...]] = (0.0, None, ())
        for other in recent:
            if other.story is None or abs(other.published - item.published) > window:
                continue
            score, reasons = self.pair(item, other, corpus)
            if score > best[0]:
                best = (score, other.story, reasons)
        score, story, reasons = best
        joins = story is not None and score >= self.rules.join
        log.debug("story decision for %r: %s (score %.3f: %s)", item.title[:80],
                  "joins a story" if joins else "new story", score, "; ".join(reasons))
        return Decision(story if joins else None, round(score, 3), reasons)

    def pair(self, a: Item, b: Item, corpus: Corpus) -> tuple[float, tuple[str, ...]]:
        """How strongly two items report one event, and why."""
        r = self.rules
        if same_article(a, b):
            return 1.0, (f"same article as {b.source}'s",)
        fa, fb = a.features, b.features
        reasons = []
        words = _cosine(fa.terms, fb.terms, lambda k: corpus.rarity(f"w:{k}"))
        score = r.words * words
        reasons.append(f"words {words:.2f}")
        facts = [k for k in fa.facts if _fact_in(k, fb.facts)]
        if facts:
            gain = min(r.facts_cap, sum(r.facts * corpus.rarity(f"f:{k}") for k in facts))
            score += gain
            reasons.append(f"facts {','.join(facts)} +{gain:.2f}")
        actors_a, actors_b = _main(fa.actors), _main(fb.actors)
        actions_a, actions_b = _main(fa.actions), _main(fb.actions)
        shared_actors = {k for k in actors_a & actors_b if corpus.rarity(f"a:{k}") > 0.3}
        if actions_a & actions_b:
            score += r.same_action
            reasons.append(f"same action {','.join(sorted(actions_a & actions_b))}")
            if shared_actors:
                score += r.same_actor
                reasons.append(f"same actor {','.join(sorted(shared_actors))}")
        elif actions_a and actions_b and shared_actors:
            score -= r.other_action
            reasons.append(f"{','.join(sorted(shared_actors))}: {','.join(sorted(actions_a))} "
                           f"vs {','.join(sorted(actions_b))}")
        hours = abs((a.published - b.published).total_seconds()) / 3600
        if hours > r.hours_free:
            score -= r.per_hour * (hours - r.hours_free)
            reasons.append(f"{hours:.0f} h apart")
        return score, tuple(reasons)


def same_article(a: Item, b: Item) -> bool:
    """A news-search copy names the outlet whose item it repeats: same outlet, same headline."""
    return _outlet(a.source) & _outlet(b.source) != set() and _headline(a.title) == _headline(b.title)


_GENERIC_OUTLET = frozenset("de at ch com net online zeitung wirtschaft digital netzwelt news nachrichten "
                            "magazin allgemeine www the der die das".split())


def _outlet(source: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", normalise(source)) if len(w) > 2 and w not in _GENERIC_OUTLET}


def _headline(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", normalise(title)))


def _main(weights: dict[str, float]) -> set[str]:
    """What the title names (the teaser's mentions are background)."""
    return {k for k, w in weights.items() if w >= TITLE}


def _cosine(a: dict[str, float], b: dict[str, float], rarity) -> float:
    if not a or not b:
        return 0.0
    va = {k: w * rarity(k) for k, w in a.items()}
    vb = {k: w * rarity(k) for k, w in b.items()}
    dot = sum(v * vb[k] for k, v in va.items() if k in vb)
    norm = math.sqrt(sum(v * v for v in va.values()) * sum(v * v for v in vb.values()))
    return dot / norm if norm else 0.0


def _fact_in(fact: str, facts: dict[str, float]) -> bool:
    """Durations agree within 10 % ("sechs Wochen" and "45 Tage"); a date agrees with a date that a
    duration or "Mitte September" gives (kind "due") within three days; everything else exactly."""
    if fact in facts:
        return True
    kind, _, value = fact.partition(":")
    if kind == "days":
        days = float(value)
        return any(k.startswith("days:") and abs(float(k[5:]) - days) <= 0.1 * days for k in facts)
    if kind in ("date", "due"):
        day = _day_of_year(value)
        return any(k.startswith(("date:", "due:")) and (kind == "due" or k.startswith("due:"))
                   and min(abs(_day_of_year(k.partition(":")[2]) - day),
                           365 - abs(_day_of_year(k.partition(":")[2]) - day)) <= 3 for k in facts)
    return False


def _day_of_year(month_day: str) -> int:
    month, day = month_day.split("-")
    return (int(month) - 1) * 30.5 + int(day)
