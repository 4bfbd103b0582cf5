"""The statuses a bidder can have, defined once: their names, how far along the deal each is, German labels."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    key: str  # as written in the configuration (`[deal.roles]`) and stored with each mention
    label: str  # as a chat shows it
    strength: int  # when one item gives a bidder several, the highest wins: the one furthest along


STATUSES = (
    Status("interested", "interessiert", 1),
    Status("negotiating", "in Verhandlungen", 2),
    Status("bid_submitted", "Angebot abgegeben", 3),
    Status("rejected", "abgelehnt", 4),
    Status("withdrawn", "zurückgezogen", 5),
    Status("approved", "Zuschlag/genehmigt", 6),
)
KEYS = tuple(s.key for s in STATUSES)
NAMED = "genannt"  # a bidder named without a status
_BY_KEY = {s.key: s for s in STATUSES}


def label(key: str | None) -> str:
    """The German label of a status key; a bidder without one is "genannt"."""
    status = _BY_KEY.get(key) if key else None
    return status.label if status else NAMED


def strength(key: str | None) -> int:
    status = _BY_KEY.get(key) if key else None
    return status.strength if status else 0
