"""Term matching for German text: umlaut folding, compounds, inflection and split verbs."""
from __future__ import annotations

import re
from dataclasses import dataclass

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "–": "-", "—": "-", "‐": "-",
                       "‑": "-", "’": "'", "‘": "'", "„": '"', "“": '"', "”": '"', "«": '"', "»": '"'})
_LETTER = "a-z0-9àáâãåæçèéêëìíîïñòóôõøùúûýÿ"
_NOTHING = r"(?!x)x"
_WORD_END = re.compile(rf"[^{_LETTER}]|$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-ZÄÖÜ0-9])")
# Separable verb particles. Split off, one closes its clause ("Oracle steigt bei Tiktok ein."), so a
# split term ending in one needs the clause to end there: "steigt ... ein" must not read "steigt um
# ein Prozent". Written out because no German tool here marks particles (see README, term syntax).
_PARTICLES = frozenset("ab an auf aus bei dar ein fest fort her hin los mit nach vor weg zu zurueck zusammen "
                       "weiter heraus hinaus vorbei durch um".split())
_CLAUSE_END = rf"(?![{_LETTER}])(?=\s*(?:$|[^\s{_LETTER}])|\s+(?:und|oder|sowie|aber)(?![{_LETTER}]))"
# A term as the last part of a compound ("Anteil" in "Stimmrechtsanteil", "Fusion" in "Konzernfusionen") may
# only take a case or plural ending: "Anteilseigner" is not a kind of "Anteil". What stands before it must
# not be a verb prefix, or the word is a derivation, not a compound: "Anbieter" is no "Bieter", "Einkauf"
# no "Kauf", "Vereinigung" no "Einigung". Prefixes that also end ordinary words ("zu", "be", "er") count
# only as the whole front part ("Zukauf"), the others also at its end ("Zahlungsanbieter").
_HEAD_ENDING_REVERSED = r"(?:nre|nen|ne|re|se|sn|e|n|s)?"  # ern nen en er es ns e n s
_PREFIX_AT_END = tuple("an ab auf aus ein ver vor mit nach rueck ueber unter wieder ent zer miss des".split())
_PREFIX_WHOLE = frozenset("zu um be ge er bei her hin weg durch".split())
_FRONT = re.compile(rf"[{_LETTER}]*$")


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
    ("kauf" finds "TikTok-Kauf" and "kaufen"; see head_pattern for "Aktienkauf"). `^` in
    front keeps it there, never as a compound's last part. `$` at the end
    forbids any ending ("deal$" does not find "Dealer"). ` ... ` between two words
    allows up to six words in between, for split verbs; every part but the last may take
    an ending, so a stem finds all persons ("steig ... ein": steigt, steigen … ein). A
    separable particle as the last part must close the clause (see _PARTICLES).
    """
    term = normalise(term.strip())
    inside = term.startswith("*")
    exact = term.endswith("$") or whole_word
    term = term.strip("*^$ ")
    pieces = [re.escape(p.strip()) for p in term.split("...")]
    words = [re.sub(r"(\\ |\\-)+", r"[\\s\\-]*", p) for p in pieces]
    body = rf"[{_LETTER}]*(?:[^{_LETTER}]+[{_LETTER}]+){{0,6}}?[^{_LETTER}]+".join(words)
    end = rf"(?:s|'s)?(?![{_LETTER}])" if exact else rf"[{_LETTER}]*"
    if len(pieces) > 1 and term.split("...")[-1].strip() in _PARTICLES:
        end = _CLAUSE_END
    return inside, body + end


def head_pattern(term: str) -> tuple[bool, str] | None:
    """For a term as the last part of a longer word ("Anteil" in "Stimmrechtsanteilen"): whether it
    forbids endings (`$`) and its reversed letters, escaped; None for a term that cannot stand there:
    one marked `*` (it matches inside words anyway) or `^`, a phrase, a split verb."""
    term = normalise(term.strip())
    if term.startswith(("*", "^")) or any(c in term for c in " -.'") or len(term.strip("$")) < 4:
        return None
    return term.endswith("$"), term.rstrip("$")[::-1]


def _heads_regex(tails: list[tuple[int, tuple[bool, str]]]) -> re.Pattern | None:
    """One regex over reversed text for every compound head. Reversed, a head starts a word (after its
    ending), so terms are tried only where a word ends, and grouped by their last letter as in
    _alternatives; searched forwards, every letter of every word had to try them all (ten times slower)."""
    if not tails:
        return None
    branches = []
    for exact, ending in ((False, _HEAD_ENDING_REVERSED), (True, r"(?:s'|s)?")):
        groups: dict[str, list[str]] = {}
        for i, (e, letters) in tails:
            if e == exact:
                groups.setdefault(letters[0], []).append(f"(?P<h{i}>{re.escape(letters[1:])})")
        alts = "|".join(f"{re.escape(first)}(?:{'|'.join(g)})" for first, g in groups.items())
        if alts:
            branches.append(f"{ending}(?:{alts})")
    # \b (a word character after a non-word one) is checked faster than a look-behind class.
    return re.compile(rf"\b(?:{'|'.join(branches)})(?=[{_LETTER}]{{2}})")


def _after_prefix(text: str, start: int) -> bool:
    """True when the letters before `start` end in a verb prefix (see _PREFIX_AT_END, _PREFIX_WHOLE)."""
    front = _FRONT.search(text, max(0, start - 8), start).group()  # the longest prefix has 6 letters
    whole = len(front) < start - max(0, start - 8) or start <= 8
    return front.endswith(_PREFIX_AT_END) or (whole and front in _PREFIX_WHOLE)


def loose_pattern(terms) -> re.Pattern:
    """The terms' letters only, with no word boundaries: a fast over-matching pre-check."""
    cores = [re.sub(r"(\\ |\\-)+", r"[\\s\\-]*", re.escape(normalise(t).strip("*$ "))) for t in terms]
    return re.compile("|".join(cores) or _NOTHING)


def _alternatives(patterns: list[tuple[str, str]], word_start: bool = False) -> str:
    """One alternation, grouped by first character: Python's engine skips a branch that opens
    with a literal at once and scans ahead for possible first characters, which a branch that
    opens with a named group or a look-behind defeats; ungrouped, 250 terms matched three times
    slower. Only terms with the same first character can match at one position, and within a
    group the configured order stays, so the same term wins as in one plain alternation."""
    groups: dict[str, list[str]] = {}
    for i, p in patterns:
        # term_pattern opens with the term's first character, escaped if need be, or with a
        # class when the term starts with a hyphen; such patterns go in one group of their own.
        first = p[:2] if p.startswith("\\") else "" if p.startswith("[") else p[:1]
        groups.setdefault(first, []).append(f"(?P<{i}>{p[len(first):]})")
    branches = []
    for first, alts in groups.items():
        # The word-start check sits after the first letter, so every branch still opens with it.
        guard = rf"(?<![{_LETTER}]{first})" if word_start and first else (
            rf"(?<![{_LETTER}])" if word_start else "")
        branches.append(f"{first}{guard}(?:{'|'.join(alts)})")
    return "|".join(branches) or _NOTHING


@dataclass(frozen=True)
class TermSet:
    """Many terms compiled into two regexes: those that must start a word and those that may stand
    inside one. `find` returns (term, start, end) for each hit, as one leftmost-first regex over
    both would: a word gives one hit, and at one position a word-start term goes first; only a
    split term's hit spans other words, which give hits of their own."""

    terms: tuple[str, ...]
    starting: re.Pattern
    anywhere: re.Pattern
    heads: re.Pattern | None = None  # on reversed text: terms as a compound's last part

    @classmethod
    def build(cls, terms, whole_word: bool = False, heads: bool = False) -> "TermSet":
        """`heads`: a term also matches as a compound's last part (head_pattern); it comes after the
        terms that may stand inside words, so where both could match at one position, those win."""
        terms = tuple(terms)
        patterns = [term_pattern(t, whole_word) for t in terms]
        tails = [(i, p) for i, p in enumerate(map(head_pattern, terms)) if p] if heads and not whole_word else []
        return cls(terms, re.compile(_alternatives([(f"t{i}", p) for i, (inside, p) in enumerate(patterns)
                                                    if not inside], word_start=True)),
                   re.compile(_alternatives([(f"t{i}", p) for i, (inside, p) in enumerate(patterns) if inside])),
                   _heads_regex(tails))

    def find(self, text: str) -> list[tuple[str, int, int]]:
        hits = []
        pos = 0
        s, a = self.starting.search(text), self.anywhere.search(text)
        tails = self._heads(text)
        while s or a or tails:
            # Each regex searches again from where the last hit ended, never inside it.
            if s and s.start() < pos:
                s = self.starting.search(text, pos)
            if a and a.start() < pos:
                a = self.anywhere.search(text, pos)
            while tails and tails[-1][1] < pos:
                tails.pop()
            m = s if s and (not a or s.start() <= a.start()) else a
            if tails and (m is None or tails[-1][1] < m.start()):
                hit = tails.pop()  # a compound's head, only where no other term starts first
            elif m is None:
                break
            else:
                hit = (self.terms[int(m.lastgroup[1:])], m.start(), m.end())
            hits.append(hit)
            # The words inside a split verb are words of their own: "setzt Tiktok-Verbot aus"
            # also holds "Verbot". So the search goes on after the verb's first word.
            pos = _WORD_END.search(text, hit[1]).start() if "..." in hit[0] else hit[2]
        return hits

    def _heads(self, text: str) -> list[tuple[str, int, int]]:
        """Compound heads, last first, minus those after a verb prefix ("Anbieter" is no "Bieter")."""
        if self.heads is None:
            return []
        n, found = len(text), []
        for m in self.heads.finditer(text[::-1]):
            name = m.lastgroup
            start = n - m.end(name)  # where the reversed term ends, the term starts
            if not _after_prefix(text, start):
                found.append((self.terms[int(name[1:])], start, n - m.start()))
        return found

    def search(self, text: str) -> bool:
        return (self.starting.search(text) is not None or self.anywhere.search(text) is not None
                or bool(self._heads(text)))

    def match_at(self, text: str, pos: int) -> re.Match | None:
        """A term that starts exactly at `pos`, or None."""
        return self.starting.match(text, pos) or self.anywhere.match(text, pos)
