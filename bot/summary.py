"""Write the alert's short German summary: whole sentences, no boilerplate, bounded length."""
from __future__ import annotations

import re
from functools import lru_cache

import pysbd

from bot.text import fold, truncate

# Feed teasers end in calls to action and photo credits that say nothing about the story.
_BOILERPLATE = re.compile(
    r"(\b(mehr|weiter)\s*(lesen|zum artikel|erfahren)\b.*$|\bweiterlesen\b.*$|\[…\]|\[\.\.\.\]|"
    r"\b(foto|bild|fotos|grafik|quelle)\s*:\s*[^.!?]*?(?=$|[.!?]|\s[A-ZÄÖÜ][a-zäöü]+\s)|"
    r"\(?©[^.!?]*|\bthe post .* appeared first on .*$|\bder beitrag .* erschien zuerst auf .*$|"
    r"\bzum (vollständigen )?artikel\b.*$|\bhier klicken\b.*$)",
    re.I,
)


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    # pysbd knows "z. B.", "Dr.", "U.S." and ordinal dates ("15. September") in German.
    try:
        return pysbd.Segmenter(language=language, clean=False)
    except ValueError:
        return pysbd.Segmenter(language="de", clean=False)


def clean_teaser(text: str) -> str:
    return fold(_BOILERPLATE.sub(" ", text)).strip(" -–|·")


def summarise(title: str, teaser: str, max_chars: int = 300, max_sentences: int = 2,
              language: str = "de") -> str:
    """At most `max_sentences` whole sentences within `max_chars`; cut at a word only when
    the first sentence alone is too long."""
    text = clean_teaser(teaser)
    if not text or text == title:
        return truncate(title, max_chars)
    sentences = [s.strip() for s in _segmenter(language).segment(text) if s.strip()]
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
