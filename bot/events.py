"""What an item says happened: weighted words, who acts, what they do, and the numbers and dates it gives."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.german import GermanText, Token
from bot.lexicon import ACTIONS, ACTORS, LOANWORDS, REPORTERS, compile_lexicon, find
from bot.match import normalise

# The title states the event; the teaser adds context, background and earlier steps.
TITLE, TEASER = 2.0, 1.0
PART = 0.75  # a compound's modifier ("Zoll" in "Zollstreit") counts less than the whole word
PRIOR = 0.5  # an action the teaser tells as another step, earlier or coming ("Nach der Zustimmung ...")

# The deal's subject as the one who acts: "Bytedance stoppt Verhandlungen", "Tiktok klagt".
SUBJECT = "@subject"
_RECEIVING = frozenset("bekommen erhalten kriegen".split())  # "Tiktok bekommt mehr Zeit": others act
_MONTHS = {m: i for i, m in enumerate("januar februar maerz april mai juni juli august september oktober "
                                      "november dezember".split(), 1)}
_PART_OF_MONTH = {"anfang": 1, "mitte": 15, "ende": 28}
_WORD_NUMBERS = {"zwei": 2, "drei": 3, "vier": 4, "fuenf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9,
                 "zehn": 10, "elf": 11, "zwoelf": 12, "zwanzig": 20, "dreissig": 30, "hundert": 100,
                 "anderthalb": 1.5, "eineinhalb": 1.5, "zweieinhalb": 2.5, "dreieinhalb": 3.5}
_DAYS = {"tag": 1, "woche": 7, "monat": 30, "jahr": 365, "stunde": 1 / 24}
_AMOUNTS = {"milliarde": 1e9, "mrd": 1e9, "million": 1e6, "mio": 1e6}
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Features:
    """Everything the story model compares, per item; stored as JSON with the item."""

    terms: dict[str, float] = field(default_factory=dict)  # content lemma or compound head -> weight
    actors: dict[str, float] = field(default_factory=dict)
    actions: dict[str, float] = field(default_factory=dict)
    facts: dict[str, float] = field(default_factory=dict)  # "days:45", "date:09-15", "amount:1.4e10", ...

    def dumps(self) -> str:
        return json.dumps({"terms": self.terms, "actors": self.actors, "actions": self.actions,
                           "facts": self.facts}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> "Features":
        data = json.loads(text)
        return cls(data["terms"], data["actors"], data["actions"], data["facts"])


class FeatureExtractor:
    """Title and teaser -> Features, with the deal's own names (subject, bidders) known."""

    def __init__(self, german: GermanText, subject: tuple[str, ...] = (), bidders: dict[str, str] | None = None):
        self.german = german
        # The deal's own name is in every item: it says nothing about which event an item reports.
        self.ignore = frozenset(w for term in subject for w in normalise(term.strip("*$")).split())
        self.bidders = {normalise(alias): name for alias, name in (bidders or {}).items()}
        self._actors = compile_lexicon(ACTORS)
        self._actions = compile_lexicon(ACTIONS)

    def extract(self, title: str, teaser: str, published: datetime | None = None) -> Features:
        """`published` turns durations into the dates they end on ("binnen 45 Tagen" on 7 August is
        "bis 21. September"), so a report that gives the date agrees with one that gives the days."""
        terms: dict[str, float] = {}
        actors: dict[str, float] = {}
        actions: dict[str, float] = {}
        facts: dict[str, float] = {}
        for text, weight in ((title, TITLE), (teaser, TEASER)):
            tokens = self.german.tokens(text)
            # In a headline, "nach Trumps Zollpaket" names the cause and "gegen das Verbot" the target:
            # who and what they name is background, like the teaser's, not who acts now or what they do.
            aside = _aside(tokens) if weight == TITLE else [False] * len(tokens)
            previous = None
            for i, t in enumerate(tokens):
                if t.content and t.lemma not in self.ignore and len(t.lemma) > 1 and t.pos != "CARD":
                    _put(terms, t.lemma, weight)
                    if t.head != t.lemma and t.head not in self.ignore:
                        _put(terms, t.head, weight)
                    # A compound's other parts tie it to other wordings: "Exportliste", "Exportkontrolle".
                    for part in t.parts[:-1]:
                        if len(part) > 3 and part not in self.ignore:
                            _put(terms, part, weight * PART)
                if (t.proper and t.lemma not in self.ignore and t.lemma not in REPORTERS
                        and t.lemma not in LOANWORDS and t.pos != "CARD" and not self._names_subject(previous, t)
                        and not _place(tokens, i)):
                    _put(actors, t.lemma, TEASER if aside[i] else weight)
                previous = t
            if weight == TITLE and _subject_acts(tokens, self.ignore):
                _put(actors, SUBJECT, weight)
            if weight == TITLE:
                for part, part_weight in (([t for t, a in zip(tokens, aside) if not a], TITLE),
                                          ([t for t, a in zip(tokens, aside) if a], TEASER)):
                    self._lexicons(part, part_weight, actors, actions)
            else:  # the teaser, sentence by sentence: what it tells as another step is background
                for sentence in _sentences(tokens):
                    self._lexicons(sentence, PRIOR if _earlier(sentence) else weight, actors, actions, TEASER)
            normalised = f" {normalise(text)} "
            for alias, bidder in self.bidders.items():
                if f" {alias} " in normalised or f" {alias}-" in normalised or f" {alias}s " in normalised:
                    _put(actors, normalise(bidder), weight)
            for fact in _facts(tokens):
                _put(facts, fact, weight)
                if fact.startswith("days:") and published is not None and float(fact[5:]) >= 2:
                    _put(facts, f"due:{published + timedelta(days=float(fact[5:])):%m-%d}", weight)
        return Features(terms, actors, actions, facts)

    def _lexicons(self, tokens: list[Token], weight: float, actors: dict, actions: dict,
                  actor_weight: float | None = None) -> None:
        """Institutions and action classes named in `tokens`."""
        lemmas, heads = [t.lemma for t in tokens], [t.head for t in tokens]
        for key in find(self._actors, lemmas, heads):
            _put(actors, key, actor_weight or weight)
        for key in find(self._actions, lemmas, heads):
            _put(actions, key, weight)

    def _names_subject(self, previous: Token | None, t: Token) -> bool:
        """A name right after the subject's, without a hyphen, is part of it: "Tiktok USA", "Tiktok Global"."""
        return previous is not None and previous.lemma in self.ignore and not t.joined and not t.initial


def _aside(tokens: list[Token]) -> list[bool]:
    """Per headline word: inside a "nach ..." or "gegen ..." phrase (up to a verb or the next headline
    part: "Tiktok will gegen Verkaufsgesetz klagen" still sues)."""
    out, inside = [], False
    for t in tokens:
        inside = (t.lemma in ("nach", "gegen") and t.pos.startswith("APPR")
                  or inside and not t.initial and not t.pos.startswith(("VV", "VM", "VA")))
        out.append(inside)
    return out


def _place(tokens: list[Token], i: int) -> bool:
    """A name after "in" ("in den USA", "in Madrid") is where something happens, not who acts."""
    before = [t.lemma for t in tokens[max(0, i - 2):i]]
    return bool(before) and (before[-1] in ("in", "im") or len(before) == 2 and before[0] == "in"
                             and tokens[i - 1].pos == "ART")


def _subject_acts(tokens: list[Token], ignore: frozenset[str]) -> bool:
    """The headline opens with the subject's name and a full verb: the company itself acts."""
    return (len(tokens) > 1 and tokens[0].lemma in ignore and tokens[1].pos.startswith("VV")
            and tokens[1].lemma not in _RECEIVING)


def _sentences(tokens: list[Token]) -> list[list[Token]]:
    out: list[list[Token]] = []
    for t in tokens:
        if t.initial or not out:
            out.append([])
        out[-1].append(t)
    return out


# What marks a sentence as telling another step than the report's own: an earlier one ("Nach der
# Zustimmung ...", "nachdem", "zuvor", "bereits", the pluperfect "hatte ... gebilligt") or a coming one
# ("Nun muss der Senat zustimmen", "Biden will es noch heute unterschreiben": a modal with nun/noch).
_EARLIER = frozenset("nachdem zuvor bereits vorher".split())
_PLUPERFECT = frozenset("hatte hatten".split())
_COMING = frozenset("nun noch demnaechst anschliessend".split())


def _earlier(sentence: list[Token]) -> bool:
    if sentence[0].lemma == "nach" or any(t.lemma in _EARLIER or t.text.lower() in _PLUPERFECT for t in sentence):
        return True
    return any(t.pos.startswith("VM") for t in sentence) and any(t.lemma in _COMING for t in sentence)


def _put(target: dict[str, float], key: str, weight: float) -> None:
    target[key] = max(target.get(key, 0.0), weight)


def _value(t: Token) -> float | None:
    if t.pos == "CARD" and _NUMBER.match(t.lemma):
        return float(t.lemma)
    return _WORD_NUMBERS.get(t.lemma)


def _facts(tokens: list[Token]) -> list[str]:
    """Numbers with what they count, normalised so that different wordings of one fact agree:
    "45 Tage", "45-Tage-Frist" and "binnen 45 Tagen" are all days:45; "sechs Wochen" is days:42 (near
    enough, see stories); "Mitte September" is due:09-15, near date:09-15 ("15. September")."""
    out = []
    for i, t in enumerate(tokens):
        following = [n.head for n in tokens[i + 1:i + 3]]
        if t.lemma in _PART_OF_MONTH and following and following[0] in _MONTHS:
            out.append(f"due:{_MONTHS[following[0]]:02d}-{_PART_OF_MONTH[t.lemma]:02d}")
            continue
        value = _value(t)
        if value is None:
            continue
        if t.text.endswith(".") and following and following[0] in _MONTHS and value <= 31:
            out.append(f"date:{_MONTHS[following[0]]:02d}-{int(value):02d}")
        elif following and following[0] in _DAYS:
            out.append(f"days:{round(value * _DAYS[following[0]])}")
        elif following and following[0] in _AMOUNTS:
            out.append(f"amount:{value * _AMOUNTS[following[0]]:.3g}")
        elif following and following[0] in ("prozent", "%"):
            out.append(f"percent:{value:g}")
        elif len(tokens) > i + 2 and tokens[i + 1].lemma == "zu" and _value(tokens[i + 2]) is not None:
            out.append(f"vote:{value:g}-{_value(tokens[i + 2]):g}")
        elif t.pos == "CARD" and not 1900 <= value <= 2100 and value >= 10:
            out.append(f"number:{value:g}")
    return out
