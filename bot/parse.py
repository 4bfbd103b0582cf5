"""Parse fetched feed bytes with feedparser and normalise each entry into an Entry."""
from __future__ import annotations

import calendar
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import feedparser

from bot.models import Entry
from bot.text import canonical_link, fold, html_to_text, safe_link, truncate

log = logging.getLogger(__name__)
MAX_TITLE = 300
MAX_TEASER = 2000


class FeedParseError(Exception):
    """The bytes are not a feed at all (an HTML page, an empty body, garbage)."""


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[Entry, ...]
    seen: int  # entries in the document, including those `keep` turned away
    title: str
    language: str | None
    bozo: str | None  # why the XML was not well-formed, when feedparser recovered anyway


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _when(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                when = datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, ValueError, TypeError):
                continue
            # A date in the future is a publisher's clock or time-zone error, not news from tomorrow.
            return min(when, now)
    return None


def _plain(entry: Any, field: str) -> str:
    detail = entry.get(f"{field}_detail") or {}
    value = entry.get(field) or ""
    if detail.get("type") == "text/plain":
        return fold(value)
    return html_to_text(value)


def _teaser(entry: Any) -> str:
    if entry.get("summary"):
        return _plain(entry, "summary")
    for content in entry.get("content") or ():
        if content.get("value"):
            return html_to_text(content["value"]) if "html" in content.get("type", "html") else fold(content["value"])
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
    return f"{entry.get('title') or ''} {entry.get('summary') or content[0].get('value') or ''}"


def parse_feed(body: bytes, feed_url: str, source: str, headers: dict[str, str] | None = None,
               now: datetime | None = None, keep: Callable[[str], bool] | None = None) -> ParsedFeed:
    """Parse one response body; raise FeedParseError when nothing feed-like is in it.

    `keep` sees each entry's raw title and teaser first; entries it turns away are not
    normalised at all (most items of a news feed are not about the deal)."""
    now = now or datetime.now(timezone.utc)
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    response_headers.setdefault("content-location", feed_url)
    # No sanitising or URI rewriting inside HTML: html_to_text drops scripts and all markup anyway.
    parsed = feedparser.parse(body, response_headers=response_headers, sanitize_html=False,
                              resolve_relative_uris=False)
    bozo = parsed.get("bozo_exception")
    if not parsed.entries:
        if not body.strip():
            raise FeedParseError("empty response body")
        if parsed.get("version") == "" and bozo is not None:
            raise FeedParseError(f"not a feed ({type(bozo).__name__}: {bozo})")
        if parsed.get("version") == "":
            raise FeedParseError("not an RSS or Atom feed")
    feed = parsed.get("feed") or {}
    language = (feed.get("language") or "").split("-")[0].lower() or None
    entries: dict[str, Entry] = {}
    for raw in parsed.entries:
        if keep is not None and not keep(_raw_text(raw)):
            continue
        entry = normalise(raw, feed_url, source, language, now)
        if not entry.title and not entry.teaser:
            continue
        earlier = entries.get(entry.key)
        # The same guid twice in one document: the later version is the publisher's update.
        if earlier is None or (entry.published or now) > (earlier.published or now):
            entries[entry.key] = entry
    return ParsedFeed(tuple(entries.values()), len(parsed.entries), fold(feed.get("title") or ""), language,
                      f"{type(bozo).__name__}: {bozo}" if bozo is not None else None)
