"""The message model every reply and alert is written in once, and each platform renders."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.feedstate import HEALTH, TROUBLED, health, problem_label, problem_text
from bot.models import Alert, BidderMention, BidderStanding, FeedState, FollowUp, Sighting
from bot.statuses import label as status_label



MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")


@dataclass(frozen=True)
class Span:
    text: str
    style: str = "plain"  # plain | bold | italic | code
    url: str | None = None


@dataclass(frozen=True)
class Image:
    """A picture that follows a reply's text (Telegram: a photo; Slack: an uploaded file)."""

    png: bytes = field(repr=False)
    caption: str  # short German line: the photo's caption, the file's title
    alt: str = ""  # what it shows, in words, for screen readers (Slack's alt text)


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
    image: Image | None = field(default=None, compare=False, repr=False)  # sent after the text; may fail alone

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


def count(n: int, one: str, many: str) -> str:
    """"1 Feed", "2 Feeds", "0 Feeds": the number with the German singular or plural."""
    return f"{n} {one if n == 1 else many}"


def text(*lines: str, private: bool = False, is_error: bool = False,
         buttons: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(tuple((Span(line),) for line in lines), private=private, is_error=is_error, buttons=buttons)


def local_time(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


def bidder_line(bidders: tuple[BidderMention, ...]) -> str:
    return ", ".join(f"{b.name} ({status_label(b.role)}{', neu' if b.discovered else ''})" for b in bidders)


def outlets_line(alert: Alert, tz: str) -> str:
    """"SPIEGEL · 20.09.2025 10:00", or "3 Quellen: SPIEGEL, FAZ, heise · zuletzt 20.09.2025 14:30"."""
    outlets = list(dict.fromkeys(s for s, _ in alert.sources)) or [alert.source]
    when = local_time(alert.last_report or alert.published, tz)
    if len(outlets) == 1:
        return f"{outlets[0]} · {when}"
    names = ", ".join(outlets[:5]) + (" u. a." if len(outlets) > 5 else "")
    return f"{len(outlets)} Quellen: {names} · zuletzt {when}"


def alert_paragraphs(alert: Alert, tz: str, sources: Callable[[Alert, str], str] | None = None
                     ) -> tuple[tuple[Span, ...], ...]:
    """The story block used by pushed alerts and by /latest: headline, who reported it (`sources`;
    by default how many outlets and the time of the latest report), then summary and bidders together
    (one Slack block fewer per story)."""
    body: list[Span] = []
    if alert.summary and alert.summary != alert.title:
        body.append(Span(alert.summary))
    if alert.bidders:
        body += [Span("\n")] if body else []
        body += [Span("Bieter: ", "bold"), Span(bidder_line(alert.bidders))]
    paragraphs = ((Span(alert.title, "bold", alert.link or None),),
                  (Span((sources or outlets_line)(alert, tz), "italic"),))
    return paragraphs + ((tuple(body),) if body else ())


def names(outlets: list[str], most: int = 8) -> str:
    shown = ", ".join(outlets[:most])
    return shown + (f" und {len(outlets) - most} weitere" if len(outlets) > most else "")


def provenance(alert: Alert, tz: str) -> str:
    """Who reported first and when, whom they cite, and who reported it since:
    "zuerst: Handelsblatt, 14.09.2020 14:02 · laut Reuters" / "Auch bei: FAZ, tagesschau"."""
    outlets = list(dict.fromkeys(s for s, _ in alert.sources)) or [alert.source]
    when = local_time(alert.first_report or alert.published, tz)
    line = f"zuerst: {outlets[0]}, {when}" if len(outlets) > 1 else f"{outlets[0]} · {when}"
    if alert.cited:
        line += " · laut " + names(list(alert.cited), 3)
    if len(outlets) > 1:
        line += "\nAuch bei: " + names(outlets[1:])
    return line


def alert_message(alert: Alert, tz: str) -> Reply:
    """A pushed story. It is edited in place as more outlets report it, so it reads the same
    whether a chat got it early or late; what is new later comes as a follow-up in its thread."""
    return Reply(alert_paragraphs(alert, tz, provenance))


def figure(key: str) -> str:
    """A figure as the story model keys it, written for readers: "days:90" -> "90 Tage"."""
    kind, value = key.split(":", 1)
    try:
        if kind == "amount":
            number = float(value)
            unit, size = ("Mrd.", 1e9) if number >= 1e9 else ("Mio.", 1e6) if number >= 1e6 else ("", 1)
            return f"{number / size:.3g}".replace(".", ",") + (f" {unit}" if unit else "")
        if kind == "days":
            days = round(float(value))
            return "1 Tag" if days == 1 else f"{days} Tage"
        if kind == "date":
            month, day = (int(p) for p in value.split("-"))
            return f"{day}. {MONTHS[month - 1]}"
        if kind == "percent":
            return f"{float(value):g} %".replace(".", ",")
        if kind == "vote":
            return "Abstimmung " + value.replace("-", " zu ")
    except (ValueError, IndexError):
        pass
    return value


def fact_text(fact) -> str:
    """One bot.followups.Fact in words."""
    if fact.kind == "bidder":
        return f"neuer Bieter {fact.subject} ({status_label(fact.status)})"
    if fact.kind == "status":
        return (f"{fact.subject} jetzt {status_label(fact.status)} "
                f"(bisher {status_label(fact.before)})")
    return figure(fact.subject)


def followup_message(followup: FollowUp, tz: str, in_thread: bool = True) -> Reply:
    """A later report that brought something new, as a reply to the story's message; where the chat
    has no such message to reply to, it names the story instead."""
    source = f"{followup.source} · {local_time(followup.published, tz)}"
    if followup.cited:
        source += " · laut " + names(list(followup.cited), 3)
    paragraphs = [(Span("Neu: ", "bold"), Span(" · ".join(fact_text(f) for f in followup.facts))),
                  (Span(followup.title, "bold", followup.link or None),), (Span(source, "italic"),)]
    if not in_thread:
        paragraphs.append((Span("Zur Meldung: "), Span(followup.story_title, "italic")))
    return Reply(tuple(paragraphs))


def new_bidder_message(followup: FollowUp, tz: str) -> Reply:
    """A bidder found in the text and now named by a second outlet: its own alert, with notification."""
    names_ = ", ".join(f"{f.subject} ({status_label(f.status)})" for f in followup.facts)
    source = f"{followup.source} · {local_time(followup.published, tz)}"
    return Reply(((Span("Neuer Bieter: ", "bold"), Span(names_, "bold")),
                  (Span(followup.title, "plain", followup.link or None),),
                  (Span(source + " · jetzt von zwei Quellen genannt; /bidders zeigt den Stand", "italic"),)))


def digest(reply: Reply) -> str:
    """What a message shows, in 40 characters: an edit to the same digest would change nothing."""
    shown = [[(s.text, s.style, s.url) for s in p] for p in reply.paragraphs]
    return hashlib.sha1(repr((shown, reply.buttons)).encode()).hexdigest()


def feed_counts(states: list[FeedState]) -> str:
    """"17 in Ordnung, 2 gestört (20 Feeds)": every health that occurs, in HEALTH's order."""
    found = [health(s) for s in states]
    parts = [count(found.count(h), *label) for h, label in HEALTH.items() if h in found]
    return f"{', '.join(parts) or 'keine'} ({count(len(states), 'Feed', 'Feeds')})"


def feed_line(state: FeedState, tz: str, detail: bool = False) -> str:
    """One feed: its health, and for a failing one what is wrong, since when and when it is tried next.
    Chats get the German reason only; `detail` adds the technical error text (`dealticker feeds`)."""
    h = health(state)
    line = f"{state.name}: {HEALTH[h][0]}"
    if h in TROUBLED:
        line += f" – {problem_text(state) if detail else problem_label(state)}"
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


def short(title: str, most: int = 90) -> str:
    return title if len(title) <= most else title[:most - 1].rstrip() + "…"


def standing_status(b: BidderStanding, tz: str) -> str:
    """"Zuschlag/genehmigt seit 14.09.2020, mit Walmart"."""
    status = status_label(b.status)
    if b.since:
        status += f" seit {b.since.astimezone(ZoneInfo(tz)):%d.%m.%Y}"
    if b.partners:
        status += f", mit {names(list(b.partners), 3)}"
    return status


def standing_line(b: BidderStanding, tz: str) -> tuple[Span, ...]:
    """"Oracle – Zuschlag/genehmigt seit 14.09.2020, mit Walmart · 12 Quellen · zuletzt 20.09.2020: <title>"."""
    outlets = "1 Quelle" if b.outlets == 1 else f"{b.outlets} Quellen"
    if not b.confirmed:  # discovered in the text, not yet named by a second outlet
        outlets = f"neu, {outlets}, unbestätigt"
    return (Span(b.name, "bold"), Span(f" – {standing_status(b, tz)} · {outlets} · zuletzt "
                                       f"{local_time(b.last_seen, tz)}: "),
            Span(short(b.last_title), "plain", b.last_link or None))


def standings_reply(deal: str, standings: list[BidderStanding], tz: str) -> Reply:
    """/bidders: one line per bidder, confirmed ones first, whole lines only, saying how many did not fit."""
    ordered = [b for b in standings if b.confirmed] + [b for b in standings if not b.confirmed]
    lines = tuple(standing_line(b, tz) for b in ordered)

    def shown(k: int) -> Reply:
        paragraphs = [(Span(f"Bieter im {deal}:", "bold"),), *lines[:k]]
        if rest := len(lines) - k:
            paragraphs.append((Span("… und 1 weiterer, der zuletzt seltener genannt wurde." if rest == 1 else
                                    f"… und {rest} weitere, die zuletzt seltener genannt wurden.", "italic"),))
        paragraphs.append((Span("/bidders <Name> zeigt den Verlauf eines Bieters.", "italic"),))
        return Reply(tuple(paragraphs), stories=k, shorter=shown)

    return shown(len(lines))


def timeline_reply(standing: BidderStanding, changes: list[Sighting], tz: str, limit: int) -> Reply:
    """/bidders <name>: where it stands, then its first report and every change of status."""
    paragraphs = [(Span(standing.name, "bold"), Span(f" – {standing_status(standing, tz)}"))]
    if len(changes) == limit:
        paragraphs.append((Span("Die letzte Änderung:" if limit == 1 else f"Die letzten {limit} Änderungen:",
                                "italic"),))
    for c in changes:
        paragraphs.append((Span(f"{c.published.astimezone(ZoneInfo(tz)):%d.%m.%Y} · {status_label(c.status)} · "
                                f"{c.source}: "), Span(short(c.title, 80), "plain", c.link or None)))
    return Reply(tuple(paragraphs))