"""The statuses a bidder can have, defined once: their names, how far along the deal each is, German labels."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    key: str  # as written in the configuration (`[deal.roles]`) and stored with each mention
    label: str  # as a chat shows it
    strength: int  # when one item gives a bidder several, the highest wins: the one furthest along
    colour: str  # in the /bidders race chart (bot/chart.py); Okabe-Ito hues, told apart by colour-blind readers


STATUSES = (
    Status("interested", "interessiert", 1, "#56B4E9"),
    Status("negotiating", "in Verhandlungen", 2, "#E69F00"),
    Status("bid_submitted", "Angebot abgegeben", 3, "#0072B2"),
    Status("rejected", "abgelehnt", 4, "#D55E00"),
    Status("withdrawn", "zurückgezogen", 5, "#CC79A7"),
    Status("approved", "Zuschlag/genehmigt", 6, "#009E73"),
)
KEYS = tuple(s.key for s in STATUSES)
NAMED = "genannt"  # a bidder named without a status
NAMED_COLOUR = "#B0B0B0"
_BY_KEY = {s.key: s for s in STATUSES}


def label(key: str | None) -> str:
    """The German label of a status key; a bidder without one is "genannt"."""
    status = _BY_KEY.get(key) if key else None
    return status.label if status else NAMED


def colour(key: str | None) -> str:
    """The chart colour of a status key; a bidder without one is grey."""
    status = _BY_KEY.get(key) if key else None
    return status.colour if status else NAMED_COLOUR


def strength(key: str | None) -> int:
    status = _BY_KEY.get(key) if key else None
    return status.strength if status else 0
