"""The message model every reply and alert is written in once, and each platform renders."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.feedstate import HEALTH, health, problem_text
from bot.models import Alert, BidderMention, FeedState

ROLE_LABELS = {
    "interested": "interessiert", "negotiating": "in Verhandlungen", "bid_submitted": "Angebot abgegeben",
    "rejected": "abgelehnt", "withdrawn": "zurückgezogen", "approved": "Zuschlag/genehmigt", None: "genannt",
}


@dataclass(frozen=True)
class Span:
    text: str
    style: str = "plain"  # plain | bold | italic | code
    url: str | None = None


@dataclass(frozen=True)
class Reply:
    """Paragraphs of spans; `private` replies go only to the person who asked (Slack: ephemeral)."""

    paragraphs: tuple[tuple[Span, ...], ...]
    private: bool = False
    buttons: tuple[tuple[str, str], ...] = ()  # (label, command) pairs
    is_error: bool = False

    def plain(self) -> str:
        return "\n\n".join("".join(s.text for s in p) for p in self.paragraphs)


def text(*lines: str, private: bool = False, is_error: bool = False,
         buttons: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(tuple((Span(line),) for line in lines), private=private, is_error=is_error, buttons=buttons)


def local_time(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


def bidder_line(bidders: tuple[BidderMention, ...]) -> str:
    return ", ".join(f"{b.name} ({ROLE_LABELS.get(b.role, 'genannt')})" for b in bidders)


def alert_paragraphs(alert: Alert, tz: str) -> tuple[tuple[Span, ...], ...]:
    """The story block used by pushed alerts and by /latest."""
    head = (Span(alert.title, "bold", alert.link or None),)
    outlets = list(dict.fromkeys(s for s, _ in alert.sources)) or [alert.source]
    meta = f"{', '.join(outlets[:5])}{' u. a.' if len(outlets) > 5 else ''} · {local_time(alert.published, tz)}"
    paragraphs: list[tuple[Span, ...]] = [head, (Span(meta, "italic"),)]
    if alert.summary and alert.summary != alert.title:
        paragraphs.append((Span(alert.summary),))
    if alert.bidders:
        paragraphs.append((Span("Bieter: ", "bold"), Span(bidder_line(alert.bidders))))
    return tuple(paragraphs)


def alert_message(alert: Alert, tz: str) -> Reply:
    prefix = ((Span("Update: weitere Quelle berichtet", "italic"),),) if alert.is_update else ()
    return Reply(prefix + alert_paragraphs(alert, tz))


def feed_counts(states: list[FeedState]) -> str:
    """"17 in Ordnung, 2 gestört (20 Feeds)": every health that occurs, in HEALTH's order."""
    found = [health(s) for s in states]
    parts = [f"{found.count(h)} {label}" for h, label in HEALTH.items() if h in found]
    return f"{', '.join(parts) or 'keine'} ({len(states)} {'Feed' if len(states) == 1 else 'Feeds'})"


def feed_line(state: FeedState, tz: str) -> str:
    """One feed: its health, and for a failing one what is wrong, since when and when it is tried next."""
    h = health(state)
    line = f"{state.name}: {HEALTH[h]}"
    if h in ("failing", "gone"):
        line += f" – {problem_text(state)}"
    if h == "failing":
        tries = "1 Fehlversuch" if state.error_count == 1 else f"{state.error_count} Fehlversuche in Folge"
        line += f"; {tries}"
        if state.last_ok:
            line += f", zuletzt in Ordnung {local_time(state.last_ok, tz)}"
        if state.next_attempt:
            line += f"; nächster Versuch {local_time(state.next_attempt, tz)}"
    elif state.last_ok:
        line += f", zuletzt abgerufen {local_time(state.last_ok, tz)}"
    return line
