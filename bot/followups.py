"""Whether a later item of a known story brings something new: a bidder, a changed status, a new figure."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.events import TITLE, Features
from bot.models import BidderMention, BidderStanding

# What can make a follow-up, in the order a follow-up lists it: a discovered bidder a second outlet
# confirmed ("Neuer Bieter"), a configured bidder new to the story, a changed status, a new figure.
KINDS = ("confirmed", "bidder", "status", "figure")
# Figures that state a fact of the deal. "number:" (any other number) and "due:" (a date computed from
# a duration) are left out: the first is too often a page count or a year, the second repeats "days:".
FIGURES = ("amount", "days", "date", "percent", "vote")
# How far apart two figures of one kind may be and still be the same fact: outlets round ("rund
# 14 Milliarden", "13,8 Milliarden"), give weeks for days ("sechs Wochen" = 42 of 45 days) and shift
# a date by its time zone.
# Figures that count from a teaser too: a share or a vote is the news wherever it is written, while a
# teaser's amounts, durations and dates are as often background ("170 Millionen Nutzer", "seit 2020").
TEASER_FIGURES = ("percent", "vote")
NEAR = {"amount": 0.1, "days": 0.1, "percent": 0.1}
NEAR_DAYS = 1


@dataclass(frozen=True)
class Fact:
    kind: str  # one of KINDS
    subject: str  # the bidder's name, or the figure as the story model keys it ("days:90")
    status: str | None = None  # the bidder's status (bidder, status)
    before: str | None = None  # the status it had in the story before (status)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "status": self.status, "before": self.before}


def dumps(facts: Iterable[Fact]) -> str:
    return json.dumps([f.as_dict() for f in facts], ensure_ascii=False)


def loads(text: str) -> tuple[Fact, ...]:
    return tuple(Fact(**d) for d in json.loads(text))


@dataclass
class StoryFacts:
    """What a story has said so far: each bidder's latest status, and every figure of its items."""

    bidders: dict[str, str | None] = field(default_factory=dict)
    figures: set[str] = field(default_factory=set)

    def add(self, features: Features | None, bidders: Iterable[BidderMention]) -> None:
        """Take in one item of the story, in publishing order."""
        for b in bidders:
            if b.role or b.name not in self.bidders:
                self.bidders[b.name] = b.role
        if features:
            self.figures.update(k for k in features.facts if k.split(":", 1)[0] in FIGURES)


def confirmations(standings: Iterable[BidderStanding]) -> tuple[Fact, ...]:
    """Discovered bidders that this report made confirmed bidders: a "Neuer Bieter" follow-up each."""
    return tuple(Fact("confirmed", b.name, b.status) for b in standings)


def new_facts(story: StoryFacts, features: Features | None, bidders: Iterable[BidderMention]) -> tuple[Fact, ...]:
    """What this item adds to the story; empty when it only reports what the story said already.

    A bidder counts only with a status (a name dropped in passing is no news), a figure from the
    headline, or a share or vote from the teaser."""
    out: list[Fact] = []
    for b in bidders:
        if not b.role:
            continue
        if b.name not in story.bidders and not b.discovered:  # a discovered one waits for a second outlet
            out.append(Fact("bidder", b.name, b.role))
        elif b.name in story.bidders and story.bidders[b.name] != b.role:
            out.append(Fact("status", b.name, b.role, story.bidders[b.name]))
    if features:
        for key, weight in features.facts.items():
            kind = key.split(":", 1)[0]
            if kind in (FIGURES if weight >= TITLE else TEASER_FIGURES) and not _known(key, story.figures):
                out.append(Fact("figure", key))
    return tuple(sorted(dict.fromkeys(out), key=lambda f: KINDS.index(f.kind)))


def _known(key: str, figures: set[str]) -> bool:
    if key in figures:
        return True
    kind, value = key.split(":", 1)
    for other in figures:
        other_kind, other_value = other.split(":", 1)
        if other_kind != kind:
            continue
        if kind == "date" and _day_of_year(value) is not None and _day_of_year(other_value) is not None:
            if abs(_day_of_year(value) - _day_of_year(other_value)) <= NEAR_DAYS:
                return True
        elif kind in NEAR and _float(value) and _float(other_value):
            a, b = _float(value), _float(other_value)
            if abs(a - b) <= NEAR[kind] * max(a, b):
                return True
    return False


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _day_of_year(value: str) -> int | None:
    try:
        month, day = (int(p) for p in value.split("-"))
    except ValueError:
        return None
    return month * 31 + day
