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
* A new item is compared with every item of each story in the time window (the story grows), not only
  with the story's first headline. Each pair gives signals (`SIGNALS`): words in common, facts in
  common, the same main action, the same main actor, other actors doing other things in the titles (the
  Senate passes, the President signs: another event), hours apart, the same outlet (an outlet reports an
  event once), and the cosine of actors and of action classes. A story scores by its best and its mean
  pair on each signal, weighted (`Rules`, fitted on labelled events), as log-odds of "same event".
* Another step of one process is not a report of the story's event (`title_clash`): the item's
  headline reports another action than the story's headlines usually do, one side's teaser tells the
  other side's action as an earlier or coming step ("Nach der Zustimmung von Präsident Trump ...",
  "Nun muss der Senat zustimmen"), and the headlines share no rare word, actor or fact. Such teaser
  overlap must not carry an item in; the score drops by `Rules.clash`.
* Who acts is read as a side: a ministry, the government, the country and its capital are one side,
  the chambers of parliament another, the courts a third, the head of state a fourth (`FAMILIES`).
  What a headline names after "nach" (the cause) or "gegen" (the target) is background, not who acts.
* A story that shares nothing with the item but the time is never joined.
* An item from a news-search feed (it names its outlet) that repeats the headline of that outlet's
  item is that article, not news: it joins it whatever the rest says.
* The item joins the best-scoring story at or above `Rules.join`; otherwise it opens a new one. The
  decision carries the score and the reasons, logged at DEBUG.

The store hands the candidates and the corpus in and saves what `decide` returns; it decides nothing.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.config import DealConfig
from bot.events import PRIOR, FeatureExtractor, Features
from bot.corpus import Corpus, cosine, headline, main_keys, outlet, side
from bot.german import GermanText

log = logging.getLogger(__name__)


# What a pair of items is compared on (`StoryModel.pair`); a story scores by its best pair and its
# average pair on each of them (a story of several outlets speaks with more voices than one).
SIGNALS = ("words", "facts", "same_action", "same_actor", "other_event", "hours", "same_outlet", "actors", "actions")


@dataclass(frozen=True)
class Rules:
    """The event model's weights. Fitted by logistic regression (join / not join) on the 2020 part of
    the labelled events set, rounded, and checked on the 2021-2025 part (bench/NOTES-german.md)."""

    best: tuple[float, ...] = (0.33, 0.2, 0.78, -0.18, -0.59, -1.32, -0.31, 0.87, 1.08)  # per SIGNALS
    mean: tuple[float, ...] = (0.25, 0.55, 0.65, 0.54, -0.57, -1.22, -0.08, 0.5, 0.78)
    size: float = -0.45  # per five items: a big story needs more to join
    bias: float = 0.07
    join: float = 0.0  # join the best story whose score is at least this (log-odds)
    min_words: float = 0.1  # below this, words in common are no evidence of their own
    neutral: float = 0.35  # actor/action similarity when one side names none: unknown, not different
    min_corpus: int = 30  # a corpus smaller than this counts as this big (unseen words are rare)
    clash: float = 2.0  # set by hand, not fitted: another step of the process (`title_clash`)
    title_rare: float = 0.5  # how rare a headline word must be to tie two headlines together (title clash)


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
    features: Features | None = None  # what the model read from the item, for the store to keep

    @property
    def opens(self) -> bool:
        return self.story is None and self.joins is None


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

    def _read(self, item: Item) -> Features:
        try:
            return self.features(item.title, item.teaser, item.published)
        except Exception:  # an item the text layer cannot read opens its own story; it is never lost
            log.exception("could not read story features of %r from %s", item.title[:80], item.source)
            return Features()

    def assign(self, new: list[Item], stored: list[Item], window: timedelta) -> list[Decision]:
        """A decision for each new item, in order; later items of the batch may join stories that
        earlier ones opened. `stored`: the coverage since `horizon` before the first new item."""
        stored = [s if s.features else replace(s, features=self._read(s)) for s in stored]
        new = [item if item.features else replace(item, features=self._read(item)) for item in new]
        # The batch counts as coverage from the start, so the rarity of words stays fixed while the
        # batch's items are compared with each other and with the stored ones.
        corpus = Corpus([s.features for s in stored] + [i.features for i in new], self.rules.min_corpus)
        candidates = list(stored)
        story_of: list[int] = []  # per new item: the stored story, or -(index + 1) of the batch item that opened it
        decisions = []
        for index, item in enumerate(new):
            decision = replace(self.decide(item, candidates, corpus, window), features=item.features)
            story = decision.story
            if story is not None and story < 0:
                decision = replace(decision, story=None, joins=-story - 1)
            decisions.append(decision)
            story_of.append(story if story is not None else -(index + 1))
            candidates.append(replace(item, story=story_of[-1]))
        return decisions

    def decide(self, item: Item, recent: list[Item], corpus: Corpus, window: timedelta) -> Decision:
        """Which story `item` belongs to among the `recent` items' stories, or a new one."""
        members: dict[int, list[Item]] = {}
        for other in recent:
            if other.story is not None and abs(other.published - item.published) <= window:
                members.setdefault(other.story, []).append(other)
        best: tuple[float, int | None, tuple[str, ...]] = (float("-inf"), None, ())
        keys = corpus.keys(item)
        for story, items in members.items():
            if not any(keys & corpus.keys(m) for m in items):
                continue  # shares nothing but the time: it could never be joined
            score, reasons = self.story_score(item, items, corpus)
            if score > best[0]:
                best = (score, story, reasons)
        score, story, reasons = best
        joins = story is not None and score >= self.rules.join
        log.debug("story decision for %r: %s (score %.2f: %s)", item.title[:80],
                  "joins a story" if joins else "new story", score, "; ".join(reasons))
        return Decision(story if joins else None, round(score, 3) if story is not None else 0.0, reasons)

    def story_score(self, item: Item, members: list[Item], corpus: Corpus) -> tuple[float, tuple[str, ...]]:
        """Log-odds that `item` reports the event of the story that `members` report, and why."""
        for m in members:
            if same_article(item, m):
                return 99.0, (f"same article as {m.source}'s",)
        r = self.rules
        pairs = [self.pair(item, m, corpus) for m in members]
        best = [max(p[k] for p in pairs) for k in SIGNALS]
        mean = [sum(p[k] for p in pairs) / len(pairs) for k in SIGNALS]
        score = (sum(w * v for w, v in zip(r.best, best)) + sum(w * v for w, v in zip(r.mean, mean))
                 + r.size * min(len(members), 5) / 5 + r.bias)
        reasons = tuple(f"{k} {v:.2f}" for k, v in zip(SIGNALS, best) if v) + (f"{len(members)} items",)
        if self.title_clash(item, members, corpus):
            score -= r.clash
            reasons += ("title reports another action",)
        if not any(p["words"] >= r.min_words or p["facts"] or p["same_action"] or p["same_actor"]
                   or (p["actors"] and p["actors"] != r.neutral) for p in pairs):
            # Nothing in common but the time: being close in time alone makes no event.
            return min(score, r.join - 1.0), reasons + ("nothing in common",)
        return score, reasons

    def title_clash(self, item: Item, members: list[Item], corpus: Corpus) -> bool:
        """Two steps of one process, not two reports of one event: the item's title reports another
        action than the story's titles usually do, one side's teaser tells the other side's action as
        an earlier step, and the titles share no rare word, actor or fact. "Verbot um eine Woche
        verschoben" (teaser: "Nach der Zustimmung von Präsident Trump ...") is not a report of "Trump
        gibt Deal seinen Segen", and a late "Trump stimmt Deal zu" is not a report of the postponement.
        Teaser overlap alone must not carry such an item into the story."""
        actions = corpus.main(item.features.actions)
        if not actions:
            return False
        counts = Counter(k for m in members for k in corpus.main(m.features.actions))
        voiced = sum(1 for m in members if corpus.main(m.features.actions))
        usual = {k for k, n in counts.items() if 2 * n >= voiced}
        if not usual or actions & usual:
            return False
        before = _earlier(item.features) & usual  # the item tells the story's action as earlier
        after = actions & set().union(*(_earlier(m.features) for m in members))  # the story tells the item's
        if not before and not after:
            return False
        mine = corpus.title_keys(item.features, self.rules.title_rare)
        return not any(mine & corpus.title_keys(m.features, self.rules.title_rare)
                       or _title_facts_agree(item.features, m.features) for m in members)

    def pair(self, a: Item, b: Item, corpus: Corpus) -> dict[str, float]:
        """The signals that two items report one event (or not), each 0..1 (facts up to 1.5)."""
        r = self.rules
        sa, sb = side(a, corpus), side(b, corpus)
        shared = {k for k in sa.actors & sb.actors if corpus.rarity(f"a:{k}") > 0.3}
        differ = bool(sa.actions and sb.actions and not sa.actions & sb.actions)
        return {
            "words": cosine(sa.words, sb.words),
            "facts": min(1.5, sum(corpus.rarity(f"f:{k}") for k in a.features.facts if _fact_in(k, b.features.facts))),
            "same_action": float(bool(sa.actions & sb.actions)),
            "same_actor": float(bool(shared)),
            # Different main actors doing different things: the Senate passes, the President signs.
            "other_event": float(differ and bool(sa.sides) and bool(sb.sides) and not sa.sides & sb.sides),
            "hours": min(48.0, abs((a.published - b.published).total_seconds()) / 3600) / 24,
            "same_outlet": float(bool(sa.outlet & sb.outlet)),
            "actors": cosine(sa.actor_vector, sb.actor_vector) if sa.actor_vector and sb.actor_vector else r.neutral,
            "actions": cosine(sa.plain_actions, sb.plain_actions) if sa.plain_actions and sb.plain_actions
            else r.neutral,
        }


def same_article(a: Item, b: Item) -> bool:
    """A news-search copy names the outlet whose item it repeats: same outlet, same headline."""
    return outlet(a.source) & outlet(b.source) != set() and headline(a.title) == headline(b.title)


def _earlier(f: Features) -> set[str]:
    """The actions a teaser tells as earlier steps."""
    return {k for k, w in f.actions.items() if w <= PRIOR}


def _title_facts_agree(a: Features, b: Features) -> bool:
    return any(_fact_in(k, main_keys(b.facts)) for k in main_keys(a.facts))


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
