"""Parse fetched feed bytes with feedparser and normalise each entry into an Entry."""
from __future__ import annotations

import calendar
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import feedparser

from bot.models import Entry
from bot.text import canonical_link, fold, html_to_text, safe_link, truncate

log = logging.getLogger(__name__)
MAX_TITLE = 300
MAX_TEASER = 2000
# A field is cut to this many characters before any HTML work: enough for every teaser we
# keep, and a 1 MB title costs no more than a normal one.
MAX_RAW = 20 * MAX_TEASER
# News on the web is younger than this; an older date is a publisher's placeholder ("0001-01-01").
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
# Internal XML entities may add at most this many characters to a document: feedparser keeps
# "safe" entity declarations, and one 4 KB entity used 100,000 times stays under expat's
# amplification limit while costing gigabytes of memory.
MAX_EXPANSION = 2_000_000
MAX_ENTITIES = 64
_ENTITY = re.compile(rb"<!ENTITY\s+(\w+)\s+\"([^\"]*)\"\s*>")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
# feedparser's notices that the document parsed anyway (a missing content type, an encoding it
# had to correct); anything else in `bozo` means the XML itself is broken.
_NOTICES = ("CharacterEncodingOverride", "NonXMLContentType", "CharacterEncodingUnknown")


class FeedParseError(Exception):
    """The bytes are not a usable feed; `problem` is a key of feedstate.PROBLEMS."""

    def __init__(self, problem: str, message: str):
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[Entry, ...]
    seen: int  # entries in the document, including those `keep` turned away
    title: str
    language: str | None
    bozo: str | None  # why the XML was not well-formed, when feedparser recovered items anyway


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _when(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                when = datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
            if when < EARLIEST:
                continue  # the item keeps its fetch time
            # A date in the future is a publisher's clock or time-zone error, not news from tomorrow.
            return min(when, now)
    return None


def _plain(entry: Any, field: str) -> str:
    detail = entry.get(f"{field}_detail") or {}
    value = (entry.get(field) or "")[:MAX_RAW]
    if detail.get("type") == "text/plain":
        return fold(value)
    return html_to_text(value)


def _teaser(entry: Any) -> str:
    if entry.get("summary"):
        return _plain(entry, "summary")
    for content in entry.get("content") or ():
        if content.get("value"):
            value = content["value"][:MAX_RAW]
            return html_to_text(value) if "html" in content.get("type", "html") else fold(value)
    return ""


def normalise(entry: Any, feed_url: str, source: str, language: str | None, now: datetime) -> Entry:
    title = _plain(entry, "title")
    outlet = fold((entry.get("source") or {}).get("title") or "")
    # News-search feeds append " - Outlet" to every title and name the outlet separately.
    if outlet and title.endswith(f" - {outlet}"):
        title = title[: -len(outlet) - 3].rstrip()
    teaser = _teaser(entry)
    if outlet and teaser.startswith(title):
        teaser = ""  # aggregator teasers only list headlines and outlets again
    link = safe_link(entry.get("link") or "")
    canon = canonical_link(link)
    guid = fold(entry.get("id") or "")
    if guid:
        key = _digest(guid if ":" in guid else f"{feed_url}#{guid}")
    elif canon:
        key = _digest(canon)
    else:
        key = _digest(feed_url, title, teaser)
    return Entry(
        key=key, link_key=_digest(canon) if canon else key, feed_url=feed_url,
        source=truncate(outlet or source, 80), title=truncate(title, MAX_TITLE),
        teaser=truncate(teaser, MAX_TEASER), link=link, published=_when(entry, now),
        declared_language=language,
    )


def _raw_text(entry: Any) -> str:
    content = entry.get("content") or ({},)
    return f"{(entry.get('title') or '')[:MAX_RAW]} {(entry.get('summary') or content[0].get('value') or '')[:MAX_RAW]}"


def _check_entities(body: bytes) -> None:
    """Refuse a document whose internal entities would expand past MAX_EXPANSION characters,
    before feedparser expands them (the declarations can only stand before the first element)."""
    start = re.search(rb"<[A-Za-z]", body)
    head = body[: start.start()] if start else body
    if b"<!ENTITY" not in head:
        return
    declared = _ENTITY.findall(head)
    if len(declared) > MAX_ENTITIES:
        raise FeedParseError("entities", f"{len(declared)} entity declarations (at most {MAX_ENTITIES})")
    rest = body[len(head):]
    added = sum(len(value) * rest.count(b"&" + name + b";") for name, value in declared)
    if added > MAX_EXPANSION:
        raise FeedParseError("entities", f"entities would add {added:,} characters (at most {MAX_EXPANSION:,})")


def _language(value: str) -> str | None:
    code = value.split("-")[0].split("_")[0].strip().lower()
    return code if _LANGUAGE.fullmatch(code) else None


def parse_feed(body: bytes, feed_url: str, source: str, headers: dict[str, str] | None = None,
               now: datetime | None = None, keep: Callable[[str], bool] | None = None) -> ParsedFeed:
    """Parse one response body; raise FeedParseError when nothing feed-like is in it.

    `keep` sees each entry's raw title and teaser first; entries it turns away are not
    normalised at all (most items of a news feed are not about the deal)."""
    now = now or datetime.now(timezone.utc)
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    response_headers.setdefault("content-location", feed_url)
    if not body.strip():
        raise FeedParseError("empty", "empty response body")
    _check_entities(body)
    # No sanitising or URI rewriting inside HTML: html_to_text drops scripts and all markup anyway.
    parsed = feedparser.parse(body, response_headers=response_headers, sanitize_html=False,
                              resolve_relative_uris=False)
    bozo = parsed.get("bozo_exception")
    broken = bozo is not None and type(bozo).__name__ not in _NOTICES
    if not parsed.entries:
        if parsed.get("version") == "" and bozo is not None:
            raise FeedParseError("not_a_feed", f"not a feed ({type(bozo).__name__}: {bozo})")
        if parsed.get("version") == "":
            raise FeedParseError("not_a_feed", "not an RSS or Atom feed")
        if broken:
            raise FeedParseError("malformed", f"no item could be read ({type(bozo).__name__}: {bozo})")
        if not parsed.get("feed"):
            raise FeedParseError("not_a_feed", f"an {parsed.get('version') or 'XML'} document with neither "
                                               "a channel nor items")
    feed = parsed.get("feed") or {}
    language = _language(feed.get("language") or "")
    entries: dict[str, Entry] = {}
    for raw in parsed.entries:
        try:
            if keep is not None and not keep(_raw_text(raw)):
                continue
            entry = normalise(raw, feed_url, source, language, now)
        except Exception:  # one odd item costs only itself
            log.exception("feed %s: skipping an item that could not be read", feed_url)
            continue
        if not entry.title and not entry.teaser:
            continue
        earlier = entries.get(entry.key)
        # The same guid twice in one document: the later version is the publisher's update.
        if earlier is None or (entry.published or now) > (earlier.published or now):
            entries[entry.key] = entry
    return ParsedFeed(tuple(entries.values()), len(parsed.entries), fold(feed.get("title") or ""), language,
                      f"{type(bozo).__name__}: {bozo}" if broken else None)
