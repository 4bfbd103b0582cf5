"""The deal's coverage as the story model weighs it (rarity of words, actors, facts); each item's side of a pair."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from bot.events import TITLE, Features
from bot.lexicon import FAMILIES
from bot.match import normalise

if TYPE_CHECKING:
    from bot.stories import Item


class Corpus:
    """How many items of the deal's recent coverage have each word, actor and fact."""

    def __init__(self, features: Iterable[Features], min_size: int = 30):
        self.df: Counter = Counter()
        self.size = 0
        self.min_size = min_size
        self._vectors: dict[tuple[int, str], object] = {}  # derived per features object, per poll
        for f in features:
            self.add(f)

    def add(self, f: Features) -> None:
        self.size += 1
        self.df.update({f"w:{k}" for k in f.terms} | {f"a:{k}" for k in f.actors} | {f"f:{k}" for k in f.facts})
        self._vectors.clear()

    def rarity(self, key: str) -> float:
        """0 for what every item has, 1 for what none has; smoothed IDF."""
        n = max(self.size, self.min_size)
        return math.log((n + 1) / (self.df.get(key, 0) + 1)) / math.log(n + 1)

    def main(self, weights: dict[str, float]) -> set[str]:
        """What the title names (the teaser's mentions are background); kept like `vector`."""
        key = (id(weights), "main")
        if key not in self._vectors:
            self._vectors[key] = main_keys(weights)
        return self._vectors[key]

    def keys(self, item: Item) -> frozenset[str]:
        """Everything a pair of items can have in common (words, actors, main actions, facts, the
        headline): a story none of whose items shares one of these with a new item cannot score
        above "nothing in common", so it need not be compared pair by pair."""
        key = (id(item.features), "keys")
        if key not in self._vectors:
            f = item.features
            facts = {"f:when" if k.startswith(("days:", "date:", "due:")) else f"f:{k}" for k in f.facts}
            self._vectors[key] = frozenset({f"w:{k}" for k in f.terms} | {f"a:{k}" for k in f.actors}
                                           | {f"c:{k}" for k in self.main(f.actions)} | facts
                                           | {f"h:{headline(item.title)}"})
        return self._vectors[key]

    def title_keys(self, f: Features, rare: float = 0.5) -> frozenset[str]:
        """The title's rare words and actors: what ties two headlines to one event."""
        key = (id(f), "title", rare)
        if key not in self._vectors:
            self._vectors[key] = frozenset(
                {f"w:{k}" for k in main_keys(f.terms) if self.rarity(f"w:{k}") >= rare}
                | {f"a:{k}" for k in main_keys(f.actors) if self.rarity(f"a:{k}") >= rare})
        return self._vectors[key]

    def memo(self, key: tuple, compute):
        """Anything derived from one item's features, kept like `vector` until the corpus changes."""
        if key not in self._vectors:
            self._vectors[key] = compute()
        return self._vectors[key]

    def plain(self, weights: dict[str, float]) -> tuple[dict[str, float], float]:
        key = (id(weights), "plain")
        if key not in self._vectors:
            self._vectors[key] = _plain(weights)
        return self._vectors[key]

    def vector(self, weights: dict[str, float], kind: str) -> tuple[dict[str, float], float]:
        """`weights` scaled by rarity, and the vector's length; kept until the corpus changes (a poll
        compares each item with many, so each is weighted once)."""
        key = (id(weights), kind)
        if key not in self._vectors:
            vector = {k: w * self.rarity(f"{kind}:{k}") for k, w in weights.items()}
            self._vectors[key] = (vector, math.sqrt(sum(v * v for v in vector.values())))
        return self._vectors[key]


@lru_cache(maxsize=4096)
def headline(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", normalise(title)))


def main_keys(weights: dict[str, float]) -> set[str]:
    """What the title names (the teaser's mentions are background)."""
    return {k for k, w in weights.items() if w >= TITLE}


def cosine(a: tuple[dict[str, float], float], b: tuple[dict[str, float], float]) -> float:
    (va, na), (vb, nb) = a, b
    if not na or not nb:
        return 0.0
    if len(vb) < len(va):
        va, vb = vb, va
    return sum(v * vb[k] for k, v in va.items() if k in vb) / (na * nb)


def _plain(weights: dict[str, float]) -> tuple[dict[str, float], float]:
    return weights, math.sqrt(sum(v * v for v in weights.values()))


@dataclass(frozen=True)
class Side:
    """One item's half of every pair it is in, read once per poll instead of once per pair (a cold
    poll compares about 100,000 pairs; this took the batch from about 1.2 to 0.9 s of CPU)."""

    actors: set[str]
    actions: set[str]
    sides: set[str]
    words: tuple
    actor_vector: tuple | None
    plain_actions: tuple | None
    outlet: frozenset[str]


def side(item: Item, corpus: Corpus) -> Side:
    return corpus.memo((id(item.features), "side", item.source), lambda: _read_side(item, corpus))


def _read_side(item: Item, corpus: Corpus) -> Side:
    f = item.features
    actors = corpus.main(f.actors)
    return Side(actors, corpus.main(f.actions), _sides(actors), corpus.vector(f.terms, "w"),
                 corpus.vector(f.actors, "a") if f.actors else None,
                 corpus.plain(f.actions) if f.actions else None, outlet(item.source))


_GENERIC_OUTLET = frozenset("de at ch com net online zeitung wirtschaft digital netzwelt news nachrichten "
                            "magazin allgemeine www the der die das".split())


@lru_cache(maxsize=4096)  # a poll compares every pair of items: each outlet's name is read once
def outlet(source: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z0-9]+", normalise(source)) if len(w) > 2 and w not in _GENERIC_OUTLET)


def _sides(actors: set[str]) -> set[str]:
    """Actors as the sides that act: a ministry and the government are one side."""
    return {FAMILIES.get(k, k) for k in actors}
