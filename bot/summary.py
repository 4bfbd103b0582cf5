"""Write the alert's short German summary: whole sentences, no boilerplate, bounded length."""
from __future__ import annotations

import re
from functools import lru_cache

import pysbd

from bot.text import fold, truncate

# Feed teasers end in calls to action and photo credits that say nothing about the story.
# Every pattern here does bounded work per position, so cleaning is linear in the text:
# the calls to action that run to the end of the teaser are found once and cut off (a
# `.*$` per candidate rescanned the rest of the text each time, quadratic on hostile input).
_INLINE = re.compile(
    r"\[…\]|\[\.\.\.\]|\(?©[^.!?]*|"
    r"\b(?:foto|bild|fotos|grafik|quelle)\s*:\s*[^.!?]*?(?=$|[.!?]|\s[A-ZÄÖÜ][a-zäöü]+\s)",
    re.I,
)
_CALL_TO_ACTION = re.compile(
    r"\b(?:(?:mehr|weiter)\s*(?:lesen|zum artikel|erfahren)|weiterlesen|zum (?:vollständigen )?artikel|"
    r"hier klicken)\b",
    re.I,
)
# Blog-engine footers: "The post <title> appeared first on <site>." cut from their start.
_FOOTERS = tuple((re.compile(start, re.I), re.compile(end, re.I)) for start, end in (
    (r"\bthe post\b", r"\bappeared first on\b"), (r"\bder beitrag\b", r"\berschien zuerst auf\b")))
# pysbd's cost grows faster than the text (72 KB took 2 s, 400 KB 32 s) and a summary needs only
# the first few sentences: segment a prefix this many times the summary's length.
_WINDOW = 4


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    # pysbd knows "z. B.", "Dr.", "U.S." and ordinal dates ("15. September") in German.
    try:
        return pysbd.Segmenter(language=language, clean=False)
    except ValueError:
        return pysbd.Segmenter(language="de", clean=False)


def clean_teaser(text: str) -> str:
    text = fold(text)
    cut = _CALL_TO_ACTION.search(text)
    if cut:
        text = text[:cut.start()]
    for start, end in _FOOTERS:
        footer_end = end.search(text)
        if footer_end:
            starts = [m.start() for m in start.finditer(text, 0, footer_end.start())]
            if starts:
                text = text[:starts[-1]]
    return fold(_INLINE.sub(" ", text)).strip(" -–|·")


def summarise(title: str, teaser: str, max_chars: int = 300, max_sentences: int = 2,
              language: str = "de") -> str:
    """At most `max_sentences` whole sentences within `max_chars`; cut at a word only when
    the first sentence alone is too long."""
    window = _WINDOW * max_chars
    cut = len(teaser) > window
    text = clean_teaser(teaser[:window] if cut else teaser)
    if not text or text == title:
        return truncate(title, max_chars)
    sentences = [s.strip() for s in _segmenter(language).segment(text) if s.strip()]
    if cut and len(sentences) > 1:
        sentences.pop()  # ends where the window did, not where the sentence does
    chosen: list[str] = []
    for sentence in sentences:
        if len(chosen) >= max_sentences:
            break
        candidate = " ".join(chosen + [sentence])
        if len(candidate) > max_chars:
            break
        chosen.append(sentence)
    if not chosen:
        return truncate(sentences[0] if sentences else text, max_chars)
    return " ".join(chosen)
