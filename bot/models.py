"""Plain data passed between the pipeline stages."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args, get_origin, get_type_hints

if TYPE_CHECKING:
    from bot.events import Features


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, normalised: plain text, absolute link, UTC time."""

    key: str
    link_key: str
    feed_url: str
    source: str
    title: str
    teaser: str
    link: str
    published: datetime | None
    declared_language: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    relevant: bool
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BidderMention:
    name: str
    role: str | None = None
    discovered: bool = False  # not a configured bidder: found by its role in the text (bot.discovery)


@dataclass(frozen=True, slots=True)
class Article:
    """An entry that passed relevance, with everything the alert shows."""

    entry: Entry
    verdict: Verdict
    language: str
    bidders: tuple[BidderMention, ...]
    summary: str
    features: Features | None = None  # what the story model reads; None: read when the item is stored
    cited: tuple[str, ...] = ()  # media the item cites ("laut Reuters")
    tentative: bool = False  # not the deal by itself: kept only as a later report of a known story


@dataclass(frozen=True, slots=True)
class Alert:
    """One story as users see it; `sources` grows as more outlets report it."""

    id: int
    title: str
    link: str
    source: str
    published: datetime
    summary: str
    bidders: tuple[BidderMention, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    reasons: tuple[str, ...] = ()
    is_update: bool = False
    last_report: datetime | None = None  # publication time of its newest item; None: `published`
    first_report: datetime | None = None  # of its earliest item, by `sources[0]`; None: `published`
    cited: tuple[str, ...] = ()  # media its items cite, in order of first mention


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A later item of a story that brought something new; posted as a reply to the story's message."""

    id: int
    alert_id: int
    story_title: str
    title: str
    link: str
    source: str
    published: datetime
    facts: tuple  # bot.followups.Fact, in the order a follow-up lists them
    cited: tuple[str, ...] = ()

    @property
    def announces(self) -> bool:
        """It announces newly confirmed bidders: its own alert, not a reply in the story's thread."""
        return bool(self.facts) and all(f.kind == "confirmed" for f in self.facts)


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about one feed between polls."""

    url: str
    name: str
    etag: str | None = None
    last_modified: str | None = None
    status: str = "active"  # active | gone (410: never asked again until `feeds --retry`)
    error_count: int = 0
    last_error: str | None = None
    error_kind: str | None = None  # a key of feedstate.PROBLEMS
    next_attempt: datetime | None = None
    last_polled: datetime | None = None
    last_ok: datetime | None = None
    moved_to: str | None = None


@dataclass(frozen=True, slots=True)
class BidderStanding:
    """Where one bidder stands, kept up to date as items are stored (bot.bidders.advance)."""

    name: str
    status: str | None  # a bot.statuses key; None: named, no status stated yet
    status_at: datetime | None  # publication time of the report that stated the status last
    since: datetime | None  # since when the status holds (the report that changed it to this)
    partners: tuple[str, ...]  # who bids with it, per that report ("Walmart mit Microsoft")
    articles: int
    outlets: int
    first_seen: datetime
    last_seen: datetime
    last_link: str
    last_title: str
    last_source: str
    listed: bool = True  # configured; else discovered in the text and confirmed by a second outlet

    @property
    def confirmed(self) -> bool:
        """A discovered bidder is a bidder once a second, independent outlet names it in a bidder role."""
        return self.listed or self.outlets >= 2


@dataclass(frozen=True, slots=True)
class Sighting:
    """One report naming a bidder, as the standings take it in."""

    bidder: str
    status: str | None
    published: datetime
    source: str
    link: str
    title: str
    partners: tuple[str, ...] = ()
    discovered: bool = False


@dataclass(frozen=True)
class PollReport:
    """What one poll cycle did, for logs, `status` and `poll --json`."""

    started: datetime
    finished: datetime
    feeds_ok: int = 0
    feeds_unchanged: int = 0
    feeds_failed: int = 0
    feeds_skipped: int = 0
    entries: int = 0
    relevant: int = 0
    new_alerts: tuple[Alert, ...] = ()
    updated_alerts: tuple[Alert, ...] = ()
    errors: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def summary(self, feeds: int, followups: int = 0) -> PollSummary:
        return PollSummary(finished=self.finished, started=self.started, feeds=feeds, ok=self.feeds_ok,
                           unchanged=self.feeds_unchanged, failed=self.feeds_failed, skipped=self.feeds_skipped,
                           entries=self.entries, relevant=self.relevant, new_alerts=len(self.new_alerts),
                           updated_alerts=len(self.updated_alerts), followups=followups,
                           errors=self.errors[:ERRORS_KEPT])


ERRORS_KEPT = 20  # failing feeds remembered with the last poll; `dealticker feeds` lists them all


@dataclass(frozen=True)
class PollSummary:
    """The last poll cycle as the store keeps it (one JSON record), for /status, /readyz and /metrics.
    Every field but `finished` has a default, so a record written by an older version still reads."""

    finished: datetime
    started: datetime | None = None
    feeds: int = 0
    ok: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    entries: int = 0
    relevant: int = 0
    new_alerts: int = 0
    updated_alerts: int = 0
    followups: int = 0
    errors: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Built from the fields: a field added here is stored without anyone writing its key twice."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PollSummary:
        """The inverse of to_json; keys it does not know (from a newer or older version) are left out."""
        hints = get_type_hints(cls)
        return cls(**{k: _typed(v, hints[k]) for k, v in data.items() if k in hints})


def _typed(value: Any, hint: Any) -> Any:
    """A JSON value back in the type a field is annotated with (datetimes, nested tuples)."""
    if isinstance(value, str) and datetime in (hint, *get_args(hint)):
        return datetime.fromisoformat(value)
    if isinstance(value, list) and get_origin(hint) is tuple:
        inner = get_args(hint)[0]
        return tuple(_typed(v, inner) for v in value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
