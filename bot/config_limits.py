"""The range, length or set of values every configuration option must keep, defined once."""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Limit:
    """Inclusive bounds on a number, or on the length of a string ("characters") or list ("entries").
    `doc` is the option under whose comment in config/dealticker.toml the range is stated."""

    low: float
    high: float
    unit: str = ""
    doc: str = ""

    def text(self) -> str:
        return f"{_num(self.low)} to {_num(self.high)}" + (f" {self.unit}" if self.unit else "")

    def problem(self, value) -> str | None:
        size = len(value) if self.unit else value
        if self.low <= size <= self.high:
            return None
        low, high = _num(self.low), _num(self.high)
        if self.unit == "characters":
            return f"must be {low} to {high} characters long, not {size}"
        if self.unit:
            return f"must have {low} to {high} entries, not {size}"
        return f"must be between {low} and {high}, not {value}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# List sizes: several times what following one deal needs (the shipped file has 80 deal terms,
# 25 bidders, 18 cues), small enough that matching an item stays in milliseconds.
_CUES = Limit(0, 100, "entries")

# Keys are option paths; `x[]` is each entry of list or table x (for a table: each value),
# `x[].y` the field y of each.
LIMITS: dict[str, Limit] = {
    # Every term (subject, deal and negative terms, aliases, cues, role words): a word or a phrase.
    "term": Limit(1, 100, "characters", doc="deal.subject"),
    # The purge keeps this much history; ten years outlasts any deal, and far larger values push
    # the purge's cut-off date before year 1 (OverflowError).
    "bot.retention_days": Limit(1, 3650),
    "storage.delivery_retention_days": Limit(1, 3650),  # the same, for the delivery records
    # Outlets report one story within a day or two; a month is generous. Larger values overflow
    # the date arithmetic of story matching as well.
    "bot.story_window_hours": Limit(1, 720),
    # Teasers are cut at 2,000 characters (bot/parse.py); title, summary and sources must fit a
    # Slack section (3,000) and a Telegram message (4,096).
    "bot.summary_max_chars": Limit(80, 1000),
    "bot.summary_max_sentences": Limit(1, 10),
    # Polling a news feed less than daily misses the news; APScheduler overflows far above that.
    "poll.interval_seconds": Limit(30, 86_400),
    "poll.jitter_seconds": Limit(0, 3_600),  # and below interval_seconds
    # The cycle waits twice this for one feed; a feed slower than 5 minutes is down.
    "poll.timeout_seconds": Limit(1, 300),
    # Responses are held in memory, up to `concurrency` at once: 128 × 20 MB is the worst case.
    "poll.max_bytes": Limit(10_000, 20_000_000),
    "poll.concurrency": Limit(1, 128),
    # More than a few requests at once to one site is impolite and gets a bot blocked.
    "poll.per_host": Limit(1, 16),
    # After a week a failing feed is as good as off, and it is still retried at that pace.
    "poll.max_backoff_seconds": Limit(60, 604_800),
    # Sent as an HTTP header with every request: printable ASCII, one short line.
    "poll.user_agent": Limit(1, 200, "characters"),
    "telegram.webhook_port": Limit(1, 65_535),
    "slack.http_port": Limit(1, 65_535),
    "server.port": Limit(1, 65_535),
    "telegram.webhook_listen": Limit(1, 253, "characters"),  # a host name has at most 253
    "slack.http_listen": Limit(1, 253, "characters"),
    "telegram.channels": Limit(0, 100, "entries"),
    "slack.channels": Limit(0, 100, "entries"),
    "deal.name": Limit(1, 100, "characters"),
    "deal.subject": Limit(1, 50, "entries"),
    # The score is capped at 1 and the threshold is on that scale: above 1 nothing is relevant.
    "deal.threshold": Limit(0, 1),
    # Added once per item: 1 alone reaches any threshold, more changes nothing, and below 0 a
    # named bidder would count against the item.
    "deal.bidder_weight": Limit(0, 1),
    # At least one deal term here or in [vocabulary.deal_terms] (checked once both are read).
    "deal.deal_terms": Limit(0, 300, "entries"),
    # One term counts at most the whole scale; the three strongest add up (each next one half),
    # so weaker terms combine to reach the threshold.
    "deal.deal_terms[]": Limit(0.01, 1),
    "deal.negative_terms": Limit(0, 300, "entries"),
    # -1 cancels the strongest single term, as the built-in "the subject is the buyer" penalty
    # does; strong evidence can still win, which a larger penalty would forbid.
    "deal.negative_terms[]": Limit(-1, -0.01),
    "deal.not_bidder_cues": _CUES,
    "deal.not_bidders": Limit(0, 200, "entries"),
    "deal.ignore": Limit(0, 200, "entries"),
    "deal.subject_references": _CUES,
    # The shipped file lists these verbs in [vocabulary]; [deal] may add the deal's own.
    "deal.subject_as_buyer": Limit(0, 100, "entries", doc="vocabulary.subject_as_buyer"),
    "deal.subject_as_seller": Limit(0, 100, "entries", doc="vocabulary.subject_as_seller"),
    # Drivers are scored like deal terms, so the same scale and the same budget apply.
    "deal.drivers": Limit(0, 300, "entries"),
    "deal.drivers[]": Limit(0.01, 1),
    "deal.not_driver_cues": _CUES,
    "deal.roles[]": Limit(0, 100, "entries"),
    # The generic vocabulary: the same scales and budgets as the deal's own tables and lists.
    "vocabulary.deal_terms": Limit(0, 300, "entries"),
    "vocabulary.deal_terms[]": Limit(0.01, 1),
    "vocabulary.drivers": Limit(0, 300, "entries"),
    "vocabulary.drivers[]": Limit(0.01, 1),
    "vocabulary.negative_terms": Limit(0, 300, "entries"),
    "vocabulary.negative_terms[]": Limit(-1, -0.01),
    "vocabulary.subject_references": _CUES,
    "vocabulary.subject_as_buyer": _CUES,
    "vocabulary.subject_as_seller": _CUES,
    "vocabulary.subject_parts": _CUES,
    "deal.subject_parts": Limit(0, 100, "entries", doc="vocabulary.subject_parts"),
    "vocabulary.merger_terms": _CUES,
    "deal.merger_terms": Limit(0, 100, "entries", doc="vocabulary.merger_terms"),
    "deal.bidders": Limit(0, 60, "entries"),
    "deal.bidders[].name": Limit(1, 100, "characters"),
    "deal.bidders[].aliases": Limit(0, 10, "entries"),
    "feeds": Limit(1, 2000, "entries"),
    "feeds[].name": Limit(1, 200, "characters"),  # the database column feeds.name is varchar(200)
    "feeds[].url": Limit(9, 2000, "characters"),  # feeds.url is varchar(2000); file:///x has 9
}
URL_SCHEMES = ("http", "https", "file")
DATABASES = ("sqlite", "postgresql")
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*")
# Telegram: "@username" (5–32 characters) or a numeric chat id; Slack: a channel id such as C0123456789.
CHANNEL_FORMS = {"telegram": (re.compile(r"@[A-Za-z][A-Za-z0-9_]{4,31}|-?\d{1,20}"), "\"@name\" or a numeric chat id"),
                 "slack": (re.compile(r"[CGD][A-Z0-9]{6,20}"), "a channel id such as C0123456789")}


def limit_for(where: str) -> Limit | None:
    """The limit of an option path such as `feeds[3].name` (indices do not matter)."""
    return LIMITS.get(re.sub(r"\[\d+\]", "[]", where))


def doc_anchor(key: str) -> str:
    """The option whose comment in the shipped file states the limit of `key`."""
    return LIMITS[key].doc or key.replace("[]", "")


def known_languages() -> frozenset[str]:
    """The language codes langdetect can answer (ISO 639-1, plus zh-cn and zh-tw)."""
    from langdetect.detector_factory import PROFILES_DIRECTORY

    return frozenset(os.listdir(PROFILES_DIRECTORY))


def known_time_zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a feed address, or None."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "must not contain spaces or control characters (write them as %20 and so on)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        return f"is not a valid address ({exc})"
    if parts.scheme.lower() not in URL_SCHEMES:
        return "must be an http://, https:// or file:// address"
    if parts.scheme.lower() != "file" and not parts.hostname:
        return "names no host — write it like https://example.org/feed.xml"
    if parts.scheme.lower() == "file" and not parts.path.strip("/"):
        return "names no file — write it like file:///srv/feeds/feed.xml"
    return None


def listen_problem(address: str) -> str | None:
    try:
        ipaddress.ip_address(address)
        return None
    except ValueError:
        return None if _HOST.fullmatch(address) else "must be an IP address or a host name, e.g. 0.0.0.0"


def user_agent_problem(agent: str) -> str | None:
    return None if agent.isascii() and agent.isprintable() else "must be printable ASCII on one line"


def database_problem(url: str) -> str | None:
    """Why the store cannot open `url`, found before any command needs the database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        return "is not a database URL — e.g. sqlite:///data/dealticker.db or postgresql+psycopg://user@host/db"
    return None if backend in DATABASES else f"must be an SQLite or PostgreSQL URL, not {backend}"


def term_problem(term: str) -> str | None:
    if not re.search(r"\w", term.strip("*$ ")):  # re keeps the compiled pattern
        return "must contain a letter or digit (a bare * or $ would match everything)"
    return LIMITS["term"].problem(term)


def language_problem(code: str) -> str | None:
    known = known_languages()
    return None if code in known else (f"unknown language {code!r} — use a code langdetect knows: "
                                       f"{', '.join(sorted(known))}")
