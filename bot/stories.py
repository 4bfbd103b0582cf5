"""Tell whether two headlines from different outlets report the same story."""
from __future__ import annotations

import re

from bot.match import normalise

_TOKEN = re.compile(r"[a-z0-9]+")
# Function words carry no story; the first six letters of a word stand for its stem
# ("verhandelt"/"verhandeln"), a crude German stemmer that is enough for overlap.
_STOP = frozenset(
    "der die das den dem des ein eine einer eines einem einen und oder aber mit von fuer auf aus bei "
    "nach ueber unter vor zum zur im in am an als auch noch nun jetzt wie was wer will soll kann "
    "sich sein seine ist sind wird werden wurde hat haben nicht kein keine mehr neue neuer neues "
    "the a an of to for on in and with over is are be will".split())
_STEM = 6
SAME_STORY = 0.45


def fingerprint(title: str, ignore: frozenset[str] = frozenset()) -> str:
    """Space-separated stems of a headline's content words, minus words every story shares."""
    stems = {w[:_STEM] for w in _TOKEN.findall(normalise(title)) if len(w) > 2 and w not in _STOP}
    return " ".join(sorted(stems - ignore))


def similarity(a: str, b: str) -> float:
    left, right = set(a.split()), set(b.split())
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def subject_stems(subject_terms: tuple[str, ...]) -> frozenset[str]:
    """The deal's own name ("tiktok") is in every headline: it must not make stories alike."""
    return frozenset(w[:_STEM] for t in subject_terms for w in _TOKEN.findall(normalise(t.strip("*$"))))
