"""Who an item cites as its source: "laut Reuters", "wie Bloomberg berichtet", "(dpa)", "berichtete die Zeitung X"."""
from __future__ import annotations

import re

# News agencies and outlets German coverage cites for takeover news, as they are written. Not deal
# specific; an outlet not listed is still found when the text calls it a newspaper, agency, … (below).
MEDIA = (
    "Reuters", "Bloomberg", "dpa", "AFP", "AP", "Associated Press", "Dow Jones", "Wall Street Journal", "WSJ",
    "New York Times", "NYT", "Financial Times", "FT", "Washington Post", "CNBC", "CNN", "NBC", "NBC News",
    "CBS", "ABC", "Fox Business", "Fox News", "NPR", "Axios", "Politico", "Semafor", "The Information",
    "Business Insider", "Bloomberg News", "Yahoo Finance", "TechCrunch", "The Verge", "Guardian", "BBC",
    "Caixin", "South China Morning Post", "Global Times", "Xinhua", "Nikkei", "Handelsblatt", "Spiegel",
    "FAZ", "Süddeutsche Zeitung", "SZ", "tagesschau", "ZDF", "ARD", "heise", "Golem", "t3n",
)
# Words that introduce a medium by kind ("die Nachrichtenagentur Reuters", "das Portal Semafor").
KINDS = ("Nachrichtenagentur", "Agentur", "Zeitung", "Tageszeitung", "Wirtschaftszeitung", "Finanzzeitung",
         "Sender", "Fernsehsender", "Nachrichtensender", "Magazin", "Nachrichtenmagazin", "Portal",
         "Nachrichtenportal", "Onlineportal", "Blatt", "Wirtschaftsblatt", "Finanzdienst", "Wirtschaftsdienst",
         "Nachrichtendienst", "Newsletter", "Website", "Nachrichtenseite", "Medium", "Branchendienst")
# Reporting cues: a medium within a few words of one of these is cited, not the subject of the news
# ("Reuters-Chef tritt zurück" is not "laut Reuters").
CUES = re.compile(r"\b(?:laut|zufolge|berichte\w*|berichtet\w*|Bericht\w*|meldet\w*|meldete\w*|schreib\w*|"
                  r"schrieb\w*|erfahren|erfuhr|Informationen|Angaben|Berufung|Interview|sagte\w*|"
                  r"according|reported|reports)\b")
WINDOW = 6  # words either side of the name

_NAME = r"(?:[A-ZÄÖÜ][\w&.-]*|dpa|heise|tagesschau|t3n)(?:\s+(?:[A-ZÄÖÜ][\w&.-]*|of|and))*"
_KNOWN = re.compile(r"(?<![\w-])(" + "|".join(re.escape(m) for m in sorted(MEDIA, key=len, reverse=True))
                    + r")(?=$|[^\w-]|-(?:Informationen|Bericht|Angaben|Recherche))")
_BY_KIND = re.compile(r"\b(?:" + "|".join(KINDS) + r")\s+[„\"“']?(" + _NAME + r")[“\"”']?")
_DATELINE = re.compile(r"\((" + "|".join(re.escape(m) for m in MEDIA) + r")\)")
_WORD = re.compile(r"\S+")


def cited_sources(title: str, teaser: str, own: str = "") -> tuple[str, ...]:
    """The media an item cites, in order of appearance, each once, never the outlet itself."""
    found: dict[str, None] = {}
    for text in (title, teaser):
        spots = [(m.start(), m.end(), m.group(1)) for m in _KNOWN.finditer(text)]
        spots += [(m.start(1), m.end(1), _trim(m.group(1))) for m in _BY_KIND.finditer(text)]
        for start, end, name in sorted(spots):
            if name and (_DATELINE.search(text, max(0, start - 1), end + 1) or _cued(text, start, end)):
                found.setdefault(_canonical(name), None)
    own_key = own.casefold()
    return tuple(n for n in found if n.casefold() != own_key and not own_key.startswith(n.casefold() + " "))


def _cued(text: str, start: int, end: int) -> bool:
    before = _WORD.findall(text[:start])[-WINDOW:]
    after = _WORD.findall(text[end:])[:WINDOW]
    return bool(CUES.search(" ".join(before + after)))


def _trim(name: str) -> str:
    """"Semafor berichtet" was caught by the name pattern only up to the first lower-case word, but
    a trailing capitalised verb or noun at a sentence start must not stick to the name."""
    words = name.split()
    while len(words) > 1 and CUES.fullmatch(words[-1]):
        words.pop()
    return " ".join(words[:4]).rstrip(".")


def _canonical(name: str) -> str:
    if known := _KNOWN.match(name):
        name = known.group(1)
    for medium in MEDIA:
        if medium.casefold() == name.casefold():
            return medium
    return name
