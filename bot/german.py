"""The German text layer: lemmas, parts of speech, compound heads and proper nouns (HanTa), cached per word."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from bot.match import normalise

# Words, numbers with decimal points or dots ("14,5", "15."), and hyphenated compounds, which are split
# into their parts before analysis: HanTa tags "Tiktok-Verbot" and "US-Senat" as names when whole
# (bench/NOTES-german.md) but splits each part correctly.
_WORD = re.compile(r"\d+(?:[.,]\d+)*\.?|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?:]\s+|\s[-–]\s")
# Morpheme tags that carry no meaning of their own (HanTa's taglevel-3 analysis).
_GLUE = ("FUGE", "SUF", "PREF", "HYPHEN", "PTKVZ")
# Parts of speech that carry content; the rest (articles, pronouns, particles, ...) are function words.
CONTENT = ("NN", "NE", "VV", "ADJ", "CARD", "FM", "XY")
MODEL = "morphmodel_ger.pgz"
# Log-probability below which HanTa could not build the word from known morphemes.
_UNKNOWN = -25.0
_PARTICLES = frozenset("ab an auf aus bei ein fest mit nach vor zu zurueck weg los fort frei statt teil hoch vorbei".split())


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # as written
    lemma: str  # base form, lower case, umlauts folded: "erhält" -> "erhalten", "Kongress" -> "kongress"
    pos: str  # STTS tag as HanTa gives it, e.g. "NN", "NE", "VV(FIN)", "ADJ(A)", "CARD"
    head: str  # a compound's last meaningful part ("Zwangsverkauf" -> "verkauf"); the lemma otherwise
    proper: bool  # a name: tagged NE, an acronym, or a word HanTa cannot build for which NE is as likely
    start: int  # offset in the text
    joined: bool = False  # a part of a hyphenated compound after its first part ("Verbot" in "Tiktok-Verbot")
    initial: bool = False  # the first word of a sentence, quote or headline part
    parts: tuple[str, ...] = ()  # a compound's meaningful parts, folded: "Exportliste" -> ("export", "liste")

    @property
    def content(self) -> bool:
        return self.pos.startswith(CONTENT)


class GermanText:
    """Built once per process and passed to whoever reads text; the model loads on first use or `load`
    (~0.3 s, ~40 MB with numpy, once per process whatever the number of text layers) and a distinct
    word is analysed once while it is among the `cache_size` most recently read (~5 ms each)."""

    # Both caches live as long as the poller, so their bounds are its memory: a word's analysis takes
    # ~370 bytes (the 5,181 words of tests/data: 1.9 MB, traced once by hand), so the 50,000 words
    # allowed before would have grown the poller by ~19 MB as months of news add vocabulary; the most
    # frequent words are in the model's own cache anyway.
    # Texts are re-read within one item's analysis, rarely across items: 2,048 texts kept ~3.5 MB of
    # tokens at 1,000 feeds and cost ~6 MB of RSS after ten cycles against 256 (bench/memory.py).
    def __init__(self, cache_size: int = 10_000, texts: int = 256):
        self._tagger = None
        self._word = lru_cache(maxsize=cache_size)(self._analyse_word)
        # Every stage reads the same headline and sentences (the bidder finder per clause, discovery,
        # each status question, the story features): one item's text was tokenised ~30 times.
        self._text = lru_cache(maxsize=texts)(self._tokenise)

    def tokens(self, text: str) -> list[Token]:
        """The text's words in order, each with lemma, part of speech, compound head and name flag."""
        return list(self._text(text))

    def _tokenise(self, text: str) -> tuple[Token, ...]:
        out: list[Token] = []
        pos = 0
        for m in _WORD.finditer(text):
            gap = text[pos:m.start()]
            # A capital letter says "noun or name" except where a sentence, quote or headline part starts.
            initial = pos == 0 or bool(_SENTENCE_END.search(gap + " ")) or any(q in gap for q in '"„“»«')
            joined = pos > 0 and gap in ("-", "‐", "‑", "–")
            word = m.group()
            if word[0].isdigit():
                out.append(Token(word, word.rstrip(".").replace(",", "."), "CARD", word.rstrip("."), False,
                                 m.start(), joined, initial))
            else:
                lemma, tag, head, name_like, parts = self._word(word, initial and not joined)
                out.append(Token(word, lemma, tag, head, _proper(word, tag, name_like), m.start(), joined, initial,
                                 parts))
            pos = m.end()
        return tuple(_join_split_verbs(out, text))

    def lemmas(self, text: str, content_only: bool = True) -> list[str]:
        """Base forms, e.g. for matching configured terms whatever their inflection."""
        return [t.lemma for t in self.tokens(text) if t.content or not content_only]

    def names(self, text: str) -> list[str]:
        """Runs of proper nouns as written ("Shou Zi Chew", "Supreme Court"): candidates for actors."""
        runs: list[list[Token]] = []
        previous: Token | None = None
        for t in self.tokens(text):
            if t.proper and previous is not None and previous.proper and _adjacent(text, previous, t):
                runs[-1].append(t)
            elif t.proper:
                runs.append([t])
            previous = t
        return [" ".join(t.text for t in run) for run in runs]

    def load(self) -> None:
        """Load the model now rather than on the first word (a long-running poller pays it at start)."""
        self._model()

    # --- per word --------------------------------------------------------------------------
    def _model(self):
        if self._tagger is None:
            self._tagger = _shared_model()
        return self._tagger

    def _analyse_word(self, word: str, initial: bool) -> tuple[str, str, str, bool, tuple[str, ...]]:
        """(lemma, tag, compound head, looks like a name, compound parts) for one word, without context.

        Context-free on purpose: HanTa's sentence tagger costs 2-8 ms per sentence and cannot be cached,
        while headlines give little context anyway; per word, a word costs once per process."""
        tagger = self._model()
        tags = tagger.tag_word(word, casesensitive=not initial)
        tag = tags[0][0] if tags else "NN"
        lemma, _ = tagger.analyze(word, pos=tag, taglevel=1)
        _, morphemes, _ = tagger.analyze(word, pos=tag, taglevel=3)
        meaningful = [m for m, mtag in morphemes if not mtag.startswith(_GLUE)]
        lemma = normalise(lemma)
        if len(lemma) < 3 <= len(word):
            lemma = normalise(word)  # "App" came out as "ap"
        head = lemma
        if tag.startswith("NN") and len(meaningful) > 1:
            # The head is the last part; its inflection is already gone from the lemma's end.
            last = normalise(meaningful[-1])
            head = lemma[lemma.rfind(last):] if last in lemma else last
        # Words the model can build from German morphemes score far higher than words it cannot: an
        # unbuildable word for which "name" is about as likely as the best guess is most likely a name
        # ("Biden", "Bytedance", "Tencent" come out as nouns, "NE" a close second).
        best = tags[0][1] if tags else 0.0
        name_like = tag == "NE" or (best < _UNKNOWN and any(t == "NE" and p >= best - 1.0 for t, p in tags))
        if name_like and tag != "NE":
            lemma = head = normalise(word)  # a noun's inflection rules cut names: "Biden" came out as "bid"
        parts = tuple(normalise(m) for m in meaningful) if head != lemma else ()
        return lemma, tag, head, name_like, parts


@lru_cache(maxsize=1)
def _shared_model():
    """One model per process, however many pipelines or text layers are built: it is only read.
    (Two threads asking at the very first moment might both load it; one copy is then dropped.)"""
    from HanTa.HanoverTagger import HanoverTagger  # imports numpy: only when needed
    return HanoverTagger(MODEL)


def _join_split_verbs(tokens: list[Token], text: str = "") -> list[Token]:
    """German main clauses put a verb's particle at the end: "zieht ... zurück" is "zurückziehen",
    "hebt ... auf" is "aufheben". The finite verb gets the whole lemma, the particle keeps its own.
    Out of context HanTa often takes a clause-final "auf"/"ab"/"vor" for a preposition, so a particle word
    that ends its clause (sentence end or comma) counts as a particle too; and it takes a plural finite verb
    for an infinitive ("Microsoft und Walmart legen vor") or a participle ("Perplexity bessert nach"), which
    counts where no finite verb came before."""
    out = list(tokens)
    verb = None
    for i, t in enumerate(out):
        gap = text[out[i - 1].start + len(out[i - 1].text):t.start] if i and text else ""
        if t.initial or "," in gap:
            verb = None
        following = text[t.start + len(t.text):out[i + 1].start] if i + 1 < len(out) and text else ""
        last = i + 1 == len(out) or out[i + 1].initial or "," in following
        if t.pos == "VV(FIN)" or (t.pos in ("VV(INF)", "VV(PP)") and verb is None):
            verb = i
        elif verb is not None and (t.pos == "PTKVZ" or (last and t.lemma in _PARTICLES)):
            v = out[verb]
            out[verb] = replace(v, lemma=t.lemma + v.lemma, head=t.lemma + v.lemma)
            verb = None
    return out


def _proper(word: str, tag: str, name_like: bool) -> bool:
    # Acronyms, and capitalised foreign words and non-words ("Zi" in "Shou Zi Chew") are names too.
    return name_like or (len(word) > 1 and word.isupper()) or (tag in ("FM", "XY") and word[0].isupper())


def _adjacent(text: str, left: Token, right: Token) -> bool:
    return text[left.start + len(left.text):right.start] in (" ", "-")
