"""Detect an item's language with langdetect, deterministically, using the feed's language as a prior."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

from langdetect import DetectorFactory, LangDetectException
from langdetect.detector_factory import PROFILES_DIRECTORY

from bot.config_limits import known_languages

_LETTERS = re.compile(r"[^\W\d_]{2,}")
# Headlines are short and langdetect is shaky on them: below this many letters the
# feed's declared language wins unless the detector is very sure.
_SHORT = 60
# langdetect averages 7 random trials by default; 4 agreed with all 241 labels of the development
# set (as did 3) at a little over half the cost, and detection is the costliest step per relevant item.
_TRIALS = 4
# Share of a text's n-grams that only profiles left out know, above which the text is in a language the
# detector was not built for and the answer is "unknown" (or the feed's hint if that is one of them). On
# the 1,037 development items it is at most 0.052; Polish, Czech, Hungarian, Turkish, Romanian, Finnish,
# Vietnamese, Russian and Chinese sentences gave 0.10 to 0.75.
_FOREIGN = 0.08

# Which profiles to load besides the languages asked for. Detection can only answer a language it has
# loaded, so the subset must hold every language that would beat the wanted one, else an item in it
# comes out as the wanted language and is sent. Two kinds:
# - Always: English (the language of agency copy, quotes and loanwords in every feed) and the
#   languages the development items are in or that the full detector answered for a German or
#   English item there (Norwegian, Dutch, Swedish, Afrikaans, Danish and French; bench/language.py
#   prints them), plus the other big Western European news languages, Spanish, Italian, Portuguese.
# - Per family: a wanted language brings the languages langdetect confuses it with (its close
#   relatives in langdetect's profiles), so that a Slovak item is not read as Czech, and so on.
# A text in a language left out can still come out as a loaded one ("Rząd w Warszawie rozważa zakaz…"
# scored German): see _FOREIGN.
_ALWAYS = ("en", "de", "fr", "nl", "no", "sv", "da", "af", "es", "it", "pt")
_FAMILIES = (
    ("de", "nl", "af", "da", "no", "sv"),
    ("fr", "es", "it", "pt", "ca", "ro"),
    ("cs", "sk", "pl", "sl", "hr"),
    ("ru", "uk", "bg", "mk"),
    ("fi", "et"),
    ("lt", "lv"),
    ("id", "tl", "sw", "so"),
    ("hi", "mr", "ne"),
    ("ar", "fa", "ur"),
    ("zh-cn", "zh-tw", "ja", "ko"),
)


def profile_languages(wanted: Iterable[str]) -> tuple[str, ...]:
    """The profiles a detector for `wanted` (configured and hinted languages) loads, sorted."""
    wanted = {w.lower() for w in wanted if w}
    chosen = set(_ALWAYS) | wanted
    for family in _FAMILIES:
        if wanted & set(family):
            chosen.update(family)
    return tuple(sorted(chosen & known_languages()))


def _profile(code: str) -> Path:
    return Path(PROFILES_DIRECTORY) / code


class LanguageDetector:
    """Owns one seeded langdetect factory so results never vary between runs."""

    def __init__(self, languages: Iterable[str] | None = None, seed: int = 0):
        """`languages`: the profiles to load (see profile_languages); None loads all 55."""
        # Our own factory, not langdetect's module-global one: loading the profiles happens once when
        # the pipeline is built, and seeding it touches no shared state. Each profile costs about 1 MB
        # and 6 ms to load, and every detection step updates one probability per loaded language.
        self._factory = DetectorFactory()
        self._zeros: list[float] | None = None  # the weights of n-grams only the profiles left out know
        if languages is None:
            self._factory.load_profile(PROFILES_DIRECTORY)
        else:
            self._factory.load_json_profile([_profile(code).read_text(encoding="utf-8")
                                             for code in sorted(set(languages))])
            self._know_all_ngrams()
        self._factory.set_seed(seed)
        self.languages = tuple(sorted(self._factory.langlist))

    def _know_all_ngrams(self) -> None:
        """Give every n-gram of the other profiles a weight of 0 for the loaded languages.

        langdetect draws n-grams of the text at random from those its profiles know, its seeded
        generator picking by position. Knowing only the subset's n-grams shifts every draw and changed
        the answer for 6 of the 1,037 development items; with the full list the draws are the same as
        the full detector's and only the loaded languages are scored, which gave the same answer for
        every item and hint (tests/test_language.py). What costs memory is one list of 55
        probabilities per n-gram; here all other n-grams share one list of zeros (14 MB, not 61 MB)."""
        known = self._factory.word_lang_prob_map
        zeros = self._zeros = [0.0] * len(self._factory.langlist)
        for code in sorted(known_languages()):
            if code not in self._factory.langlist:
                for ngram in json.loads(_profile(code).read_text(encoding="utf-8"))["freq"]:
                    if 1 <= len(ngram) <= 3:  # langdetect skips longer ones as well
                        known.setdefault(ngram, zeros)

    @classmethod
    def for_languages(cls, wanted: Iterable[str], seed: int = 0) -> "LanguageDetector":
        """A detector for the configured and hinted languages and their neighbours."""
        return cls(profile_languages(wanted), seed)

    def detect(self, text: str, hint: str | None = None) -> str:
        """ISO 639-1 code of `text`, or `hint` (else "unknown") when the text says too little."""
        letters = " ".join(_LETTERS.findall(text))
        hint = (hint or "").split("-")[0].lower() or None
        if not letters:
            return hint or "unknown"
        detector = self._factory.create()
        detector.n_trial = _TRIALS
        detector.append(text)
        if self._zeros is not None and self._foreign(detector) > _FOREIGN:
            return hint if hint and hint not in self.languages else "unknown"
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:
            return hint or "unknown"
        if not ranked:
            return hint or "unknown"
        best = ranked[0]
        if hint and best.lang != hint:
            hinted = next((p.prob for p in ranked if p.lang == hint), 0.0)
            sure = 0.99 if len(letters) < _SHORT else 0.90
            if best.prob < sure or hinted > 0.2:
                return hint
        return best.lang

    def _foreign(self, detector) -> float:
        """Share of the text's n-grams known only to profiles not loaded. Uses langdetect's own n-gram
        extraction (a private method; langdetect 1.0.9 is the last release, in 2021) so the count is of
        exactly the n-grams detection draws from."""
        detector.cleaning_text()
        ngrams = detector._extract_ngrams()
        known = self._factory.word_lang_prob_map
        return sum(known[g] is self._zeros for g in ngrams) / len(ngrams) if ngrams else 0.0
