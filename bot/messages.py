"""The message model every reply and alert is written in once, and each platform renders."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.feedstate import HEALTH, TROUBLED, health, problem_text
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
    # A list of whole stories a platform may show fewer of: `shorter(k)` is this reply with only
    # its first k, its heading and closing line saying so (see `fit`).
    stories: int = 0
    shorter: Callable[[int], Reply] | None = field(default=None, compare=False, repr=False)

    def plain(self) -> str:
        return "\n\n".join("".join(s.text for s in p) for p in self.paragraphs)


CUT = (Span("… (der Rest passt nicht in eine Nachricht)", "italic"),)


def fit(reply: Reply, fits: Callable[[Reply], bool]) -> Reply:
    """The most of `reply` one message can hold, decided here for every platform (`fits` is the
    platform's own measure): all of it; else as many whole stories as fit, their closing line
    saying how many more there are; else whole paragraphs and a line saying the rest is missing.
    A single paragraph too long for any message is left to the renderer."""
    if fits(reply):
        return reply
    if reply.shorter is not None:
        for k in range(reply.stories - 1, 0, -1):
            if fits(shorter := reply.shorter(k)):
                return shorter
        reply = reply.shorter(1) if reply.stories > 1 else reply
    for k in range(len(reply.paragraphs) - 1, 0, -1):
        if fits(shorter := replace(reply, paragraphs=reply.paragraphs[:k] + (CUT,), shorter=None)):
            return shorter
    return reply


def text(*lines: str, private: bool = False, is_error: bool = False,
         buttons: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(tuple((Span(line),) for line in lines), private=private, is_error=is_error, buttons=buttons)


def local_time(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


def bidder_line(bidders: tuple[BidderMention, ...]) -> str:
    return ", ".join(f"{b.name} ({ROLE_LABELS.get(b.role, 'genannt')})" for b in bidders)


def outlets_line(alert: Alert, tz: str) -> str:
    """"SPIEGEL · 20.09.2025 10:00", or "3 Quellen: SPIEGEL, FAZ, heise · zuletzt 20.09.2025 14:30"."""
    outlets = list(dict.fromkeys(s for s, _ in alert.sources)) or [alert.source]
    when = local_time(alert.last_report or alert.published, tz)
    if len(outlets) == 1:
        return f"{outlets[0]} · {when}"
    names = ", ".join(outlets[:5]) + (" u. a." if len(outlets) > 5 else "")
    return f"{len(outlets)} Quellen: {names} · zuletzt {when}"


def alert_paragraphs(alert: Alert, tz: str) -> tuple[tuple[Span, ...], ...]:
    """The story block used by pushed alerts and by /latest: headline, outlets and time of the
    latest report, then summary and bidders together (one Slack block fewer per story)."""
    body: list[Span] = []
    if alert.summary and alert.summary != alert.title:
        body.append(Span(alert.summary))
    if alert.bidders:
        body += [Span("\n")] if body else []
        body += [Span("Bieter: ", "bold"), Span(bidder_line(alert.bidders))]
    paragraphs = ((Span(alert.title, "bold", alert.link or None),), (Span(outlets_line(alert, tz), "italic"),))
    return paragraphs + ((tuple(body),) if body else ())


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
    if h in TROUBLED:
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
