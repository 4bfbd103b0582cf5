"""Feed health: what a fetch or parse outcome does to a feed's state, and how that reads in German."""
from __future__ import annotations

import dataclasses
import logging
import re
from datetime import datetime, timedelta

from bot.config import PollConfig
from bot.fetch import FetchResult, backoff_seconds
from bot.models import FeedState

log = logging.getLogger(__name__)

# Every way a feed can fail, with what a user is told; fetch and parse name one of these keys. Chats
# see only these phrases; the technical detail (often an English exception text) goes to the log
# and to `dealticker feeds`.
PROBLEMS = {
    "timeout": "antwortet nicht rechtzeitig",
    "unreachable": "Server nicht erreichbar",
    "network": "Netzwerkfehler",
    "http": "Fehlerantwort des Servers",
    "too_large": "Antwort zu groß",
    "redirects": "zu viele Weiterleitungen",
    "gone": "vom Anbieter abgeschaltet (410 Gone), wird nicht mehr abgerufen",
    "file": "Datei nicht lesbar",
    "empty": "leere Antwort",
    "not_a_feed": "kein RSS- oder Atom-Feed",
    "malformed": "fehlerhaftes XML, kein Eintrag lesbar",
    "entities": "XML-Entities über dem Limit",
    "internal": "interner Fehler bei der Verarbeitung",
}

# What a feed's state amounts to, for /status and `dealticker feeds`, in the order they are listed:
# the German phrase for one feed and for several ("1 wartet", "2 warten").
HEALTH = {"failing": ("gestört", "gestört"), "gone": ("abgeschaltet", "abgeschaltet"),
          "new": ("wartet auf den nächsten Abruf", "warten auf den nächsten Abruf"),
          "ok": ("in Ordnung", "in Ordnung")}
TROUBLED = ("failing", "gone")


def health(state: FeedState) -> str:
    if state.status == "gone":
        return "gone"
    if state.error_count:
        return "failing"
    return "ok" if state.last_ok else "new"


def troubled(state: FeedState) -> bool:
    """Failing or switched off: what /status lists and `feeds --retry` acts on."""
    return health(state) in TROUBLED


def problem_label(state: FeedState) -> str:
    """The German reason a feed is failing, as a chat shows it: no exception text, only an HTTP
    status code where the server sent one."""
    label = PROBLEMS.get(state.error_kind or "", "Fehler")
    code = re.match(r"HTTP (\d{3})\b", state.last_error or "") if state.error_kind == "http" else None
    return f"{label} (HTTP {code.group(1)})" if code else label


def problem_text(state: FeedState) -> str:
    """The German reason a feed is failing, with the technical detail in brackets (logs, `dealticker feeds`)."""
    label = PROBLEMS.get(state.error_kind or "", "Fehler")
    return f"{label} ({state.last_error})" if state.last_error else label


def next_state(state: FeedState, result: FetchResult, problem: str | None, error: str | None,
               now: datetime, poll: PollConfig) -> FeedState:
    """The feed's state after one poll (rss2email's rules): 410 switches it off, any other failure
    backs off exponentially (at least as long as Retry-After asks), a success clears the errors."""
    moved = result.moved_to or state.moved_to
    if result.moved_to and result.moved_to != state.moved_to:
        log.warning("feed %r moved permanently to %s; update its url in the configuration", state.name,
                    result.moved_to)
    if result.status == "gone":
        log.error("feed %r (%s) answered 410 Gone and is switched off", state.name, state.url)
        return dataclasses.replace(state, status="gone", last_error=result.error, error_kind="gone",
                                   last_polled=now, moved_to=moved)
    if problem:
        errors = state.error_count + 1
        delay = backoff_seconds(errors, poll.interval_seconds, poll.max_backoff_seconds)
        if result.retry_after:
            delay = max(delay, int(min(result.retry_after, poll.max_backoff_seconds)))
        log.warning("feed %r (%s) failed (%d in a row, next try in %d s): %s", state.name,
                    (moved or state.url)[:200], errors, delay, error)
        return dataclasses.replace(state, error_count=errors, last_error=error, error_kind=problem,
                                   last_polled=now, moved_to=moved, next_attempt=now + timedelta(seconds=delay))
    changed = result.status == "ok"
    return dataclasses.replace(
        state, error_count=0, last_error=None, error_kind=None, last_polled=now, last_ok=now, next_attempt=None,
        moved_to=moved, etag=result.etag if changed else state.etag,
        last_modified=result.last_modified if changed else state.last_modified)


def retried(state: FeedState) -> FeedState:
    """An operator's `feeds --retry`: no back-off, and a feed switched off by 410 is tried again."""
    return dataclasses.replace(state, status="active", error_count=0, next_attempt=None, last_error=None,
                               error_kind=None)
