"""Term matching for German text: umlaut folding, compounds, inflection and split verbs."""
from __future__ import annotations

import re
from dataclasses import dataclass

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "–": "-", "—": "-", "‐": "-",
                       "‑": "-", "’": "'", "‘": "'", "„": '"', "“": '"', "”": '"', "«": '"', "»": '"'})
_LETTER = "a-z0-9àáâãåæçèéêëìíîïñòóôõøùúûýÿ"
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-ZÄÖÜ0-9])")


def normalise(text: str) -> str:
    """Lower-case and fold umlauts and dashes, so "Übernahme" and "Uebernahme" read the same."""
    return text.lower().translate(_FOLD)


def sentences(text: str) -> list[str]:
    """A cheap split for matching (the summary uses pysbd, which is exact but ~100x slower)."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def term_pattern(term: str, whole_word: bool = False) -> tuple[bool, str]:
    """Regex for one configured term, and whether it may start inside a word.

    Syntax: `*` in front lets the term stand inside a compound ("*verkauf" finds
    "Zwangsverkauf"); without it the term must start a word or a hyphenated part
    ("kauf" finds "TikTok-Kauf" and "kaufen" but not "Einkauf"). `$` at the end
    forbids any ending ("deal$" does not find "Dealer"). ` ... ` between two words
    allows up to six words in between, for split verbs ("zieht ... zurück").
    """
    term = normalise(term.strip())
    inside = term.startswith("*")
    exact = term.endswith("$") or whole_word
    term = term.strip("*$ ")
    pieces = [re.escape(p.strip()) for p in term.split("...")]
    words = [re.sub(r"(\\ |\\-)+", r"[\\s\\-]*", p) for p in pieces]
    body = rf"[{_LETTER}]*(?:[^{_LETTER}]+[{_LETTER}]+){{0,6}}?[^{_LETTER}]+".join(words)
    end = rf"(?:s|'s)?(?![{_LETTER}])" if exact else rf"[{_LETTER}]*"
    return inside, body + end


def loose_pattern(terms) -> re.Pattern:
    """The terms' letters only, with no word boundaries: a fast over-matching pre-check."""
    cores = [re.sub(r"(\\ |\\-)+", r"[\\s\\-]*", re.escape(normalise(t).strip("*$ "))) for t in terms]
    return re.compile("|".join(cores) or r"(?!x)x")


@dataclass(frozen=True)
class TermSet:
    """Many terms compiled into one regex; `find` returns (term, start, end) for each hit."""

    terms: tuple[str, ...]
    regex: re.Pattern

    @classmethod
    def build(cls, terms, whole_word: bool = False) -> "TermSet":
        terms = tuple(terms)
        if not terms:
            return cls((), re.compile(r"(?!x)x"))
        patterns = [term_pattern(t, whole_word) for t in terms]
        starting = "|".join(f"(?P<t{i}>{p})" for i, (inside, p) in enumerate(patterns) if not inside)
        anywhere = "|".join(f"(?P<t{i}>{p})" for i, (inside, p) in enumerate(patterns) if inside)
        # One word-start check in front of all the terms that need it: inside a word (most
        # positions) the engine then skips them all at once instead of trying each.
        parts = ([rf"(?<![{_LETTER}])(?:{starting})"] if starting else []) + ([anywhere] if anywhere else [])
        return cls(terms, re.compile("|".join(parts)))

    def find(self, text: str) -> list[tuple[str, int, int]]:
        hits = []
        for m in self.regex.finditer(text):
            index = int(m.lastgroup[1:])
            hits.append((self.terms[index], m.start(), m.end()))
        return hits

    def search(self, text: str) -> bool:
        return self.regex.search(text) is not None
