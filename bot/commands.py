"""Answer chat commands for every platform: parse the text, ask the store, build a German Reply."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from bot.chart import CHANGES, race_image
from bot.config import Config
from bot.feedstate import troubled as is_troubled
from bot.match import normalise
from bot.messages import (Reply, Span, alert_paragraphs, count, feed_counts, feed_line, local_time, standings_reply,
                          text, timeline_reply)
from bot.store import Store

log = logging.getLogger(__name__)
LATEST_DEFAULT = 5
LATEST_MAX = 20
LATEST_DEEPEST = 100  # "/latest 5 ab 100": how far back the count may start
_LATEST = re.compile(r"(\d{1,6})?\s*(?:\bab\s+(\d{1,6}))?", re.I)
TIMELINE_MAX = 15  # status changes /bidders <name> lists
STATUS_FEEDS = 8  # failing feeds listed in /status; `dealticker feeds` lists them all
STATUS_PERIOD = timedelta(hours=24)  # the deliveries /status counts (and every queued one)
_COMMAND = re.compile(r"^\s*/?([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.S)


@dataclass(frozen=True)
class Command:
    """One chat command as every platform offers it."""

    name: str
    args: str  # the argument hint, "" when it takes none
    help: str  # German, one line, lower-case start: "/name args – help"
    admins: bool = False  # in groups and channels only administrators may use it
    slash: bool = True  # a Slack slash command of its own; the others only via /dealticker (Slack names are shared)

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".rstrip()

    def usage_on(self, platform: str) -> str:
        """How to type it there: on Slack a command without a slash command of its own goes through
        /dealticker (Slack's own /status would answer /status)."""
        return self.usage if platform != "slack" or self.slash else f"/{SLACK_UMBRELLA} {self.usage[1:]}"

    @property
    def title(self) -> str:
        """The help as a sentence of its own (Telegram's menu, Slack's command list)."""
        return self.help[:1].upper() + self.help[1:]


# The one list of commands: the handlers (a method of Commands per name), /help, Telegram's menu and
# handlers, the console and the Slack manifest (checked by a test) are all built from it.
COMMANDS = (
    Command("start", "", "Begrüßung und die ersten Schritte", slash=False),
    Command("subscribe", "[Bieter]",
            "neue Meldungen in diesem Chat erhalten; mit Namen nur die, die diesen Bieter nennen", admins=True),
    Command("unsubscribe", "[Bieter]", "keine Meldungen mehr; mit Namen diesem Bieter nicht mehr folgen",
            admins=True),
    Command("latest", "[Anzahl] [ab Nr.]",
            f"die neuesten Meldungen (Standard {LATEST_DEFAULT}, höchstens {LATEST_MAX}); „ab 6“ zählt ab der sechsten"),
    Command("bidders", "[Bieter]", "wer bietet, und wie steht es; mit Namen der Verlauf dieses Bieters"),
    Command("status", "", "letzter Abruf, Feeds in Ordnung oder gestört", slash=False),
    Command("help", "", "diese Hilfe", slash=False),
)
BY_NAME = {c.name: c for c in COMMANDS}
SLACK_UMBRELLA = "dealticker"  # Slack's slash command for all of them: command names are shared by all apps


def command_in(message: str) -> Command | None:
    """The command a line such as "/subscribe@DealtickerBot Oracle" asks for, if it is one we know."""
    match = _COMMAND.match(message or "")
    return BY_NAME.get(match.group(1).lower()) if match else None


@dataclass(frozen=True)
class Caller:
    """Who asked, and where: the platform adapter fills this in."""

    platform: str
    chat_id: str
    thread_id: str = ""
    # In groups only admins may use an admins' command; private chats always may. None: it could
    # not be checked (the platform did not answer), so the command is refused for now.
    is_admin: bool | None = True
    is_group: bool = False
    admins_are: str = "Administratoren dieses Chats"  # who counts as an admin here, for the refusal


class Commands:
    def __init__(self, config: Config, store: Store):
        self.config = config
        self.store = store
        self._handlers = {c.name: getattr(self, c.name) for c in COMMANDS}

    def handle(self, caller: Caller, message: str) -> Reply:
        """Answer one command line such as "/latest 3" or "latest@DealtickerBot"; never raises."""
        match = _COMMAND.match(message or "")
        if not match:
            return text(f"Das ist kein Befehl. {_help_on(caller)} zeigt, was ich kann.", private=True, is_error=True)
        name, argument = match.group(1).lower(), (match.group(2) or "").strip()
        handler = self._handlers.get(name)
        if handler is None:
            shown = name[:30]
            return text(f"Den Befehl /{shown} kenne ich nicht. {_help_on(caller)} zeigt, was ich kann.", private=True,
                        is_error=True)
        if refusal := self._not_allowed(BY_NAME[name], caller):
            return refusal
        try:
            return handler(caller, argument)
        except Exception:
            log.exception("command /%s failed for %s chat %s", name, caller.platform, caller.chat_id)
            return text("Da ist bei mir etwas schiefgegangen. Bitte versuche es gleich noch einmal.",
                        private=True, is_error=True)

    def start(self, caller: Caller, _arg: str) -> Reply:
        return text(f"Hallo! Ich verfolge den {self.config.deal.name} in deutschen Nachrichten und schicke "
                    "zu jeder neuen Meldung eine kurze Zusammenfassung.",
                    "Mit /subscribe erhält dieser Chat die Meldungen; /latest und /bidders zeigen den Stand.",
                    buttons=(("Abonnieren", "subscribe"),))

    def help(self, caller: Caller, _arg: str) -> Reply:
        return text(f"Ich verfolge den {self.config.deal.name}. Befehle:",
                    "\n".join(f"{c.usage_on(caller.platform)} – {c.help}" for c in COMMANDS), private=True)

    @staticmethod
    def _not_allowed(command: Command, caller: Caller) -> Reply | None:
        if not command.admins or not caller.is_group or caller.is_admin:
            return None
        if caller.is_admin is None:
            return text("Ich konnte gerade nicht prüfen, ob du das Abo hier ändern darfst. Bitte versuche es "
                        "gleich noch einmal.", private=True, is_error=True)
        return text(f"Nur {caller.admins_are} können das Abo ändern.", private=True, is_error=True)

    def subscribe(self, caller: Caller, arg: str) -> Reply:
        where = (caller.platform, caller.chat_id, caller.thread_id)
        following = self.store.bidder_filter(*where)
        if arg:  # "/subscribe Oracle": only stories that name Oracle (several names may be followed)
            name = self._bidder_named(arg, [b.name for b in self.store.bidder_standings()])
            if name is None:
                return self._unknown_bidder(arg)
            self.store.set_bidder_filter(*where, tuple(dict.fromkeys((*(following or ()), name))))
            return text(f"Dieser Chat erhält jetzt nur Meldungen, die {_listing(self.store.bidder_filter(*where))} "
                        "nennen. /subscribe ohne Namen: wieder alle Meldungen.")
        if following:
            self.store.set_bidder_filter(*where, ())
            return text("Dieser Chat erhält jetzt wieder alle Meldungen zum Deal.")
        if self.store.subscribe(*where):
            return text("Abonniert. Neue Meldungen zum Deal kommen ab jetzt in diesen Chat. /unsubscribe beendet das.")
        return text("Dieser Chat ist schon abonniert.")

    def unsubscribe(self, caller: Caller, arg: str) -> Reply:
        where = (caller.platform, caller.chat_id, caller.thread_id)
        following = self.store.bidder_filter(*where) or ()
        if arg:  # "/unsubscribe Oracle": stop following one bidder; the last one ends the subscription
            name = self._bidder_named(arg, list(following))
            if name is None:
                return text(f"Diesem Bieter folgt der Chat nicht. Er folgt: {_listing(following) or 'allen Meldungen'}.",
                            private=True, is_error=True)
            rest = tuple(n for n in following if n != name)
            if rest:
                self.store.set_bidder_filter(*where, rest)
                return text(f"{name} entfernt. Dieser Chat erhält nur noch Meldungen, die {_listing(rest)} nennen.")
        if self.store.unsubscribe(*where):
            return text("Abo beendet. Es kommen keine Meldungen mehr. Mit /subscribe geht es wieder los.")
        return text("Dieser Chat hatte kein Abo.")

    def _unknown_bidder(self, arg: str) -> Reply:
        known = ", ".join(b.name for b in self.store.bidder_standings()[:10]) or "noch keine"
        return text(f"Einen Bieter „{arg[:40]}“ kenne ich nicht. Bekannt sind: {known}.", private=True, is_error=True)

    def latest(self, _caller: Caller, arg: str) -> Reply:
        match = _LATEST.fullmatch(arg)
        if not match:
            return text(f"„{arg[:20]}“ ist keine Anzahl. Beispiel: /latest 3 (1 bis {LATEST_MAX}) "
                        f"oder /latest 5 ab 6.", private=True, is_error=True)
        count, first = int(match.group(1) or LATEST_DEFAULT), int(match.group(2) or 1)
        if not 1 <= count <= LATEST_MAX:
            return text(f"Bitte eine Anzahl von 1 bis {LATEST_MAX} angeben, z. B. /latest {LATEST_DEFAULT}.",
                        private=True, is_error=True)
        if not 1 <= first <= LATEST_DEEPEST:
            return text(f"Nach „ab“ bitte eine Zahl von 1 bis {LATEST_DEEPEST}, z. B. /latest 5 ab 6.",
                        private=True, is_error=True)
        found = self.store.latest_alerts(first - 1 + count, self.config.languages)
        alerts = found[first - 1:]
        if not found:
            return text("Noch keine Meldungen zum Deal gefunden. Ich schaue regelmäßig nach.")
        if not alerts:
            if len(found) == 1:
                return text("Es gibt nur eine Meldung; /latest 1 zeigt sie.")
            return text(f"Es gibt nur {len(found)} Meldungen; /latest {min(len(found), LATEST_MAX)} zeigt die neuesten.")
        stories = tuple(alert_paragraphs(a, self.config.timezone) for a in alerts)

        def shown(k: int) -> Reply:
            """The first k stories: the heading names how many, a closing line how to see the rest."""
            if first == 1:
                head = "Die neueste Meldung:" if k == 1 else f"Die {k} neuesten Meldungen:"
            elif k == 1:
                head = f"Meldung {first} (von der neuesten an gezählt):"
            else:
                head = f"Meldungen {first} bis {first + k - 1} (von der neuesten an gezählt):"
            paragraphs = [(Span(head, "bold"),), *(p for story in stories[:k] for p in story)]
            if rest := len(stories) - k:
                paragraphs.append((Span(f"{rest} weitere {'passt' if rest == 1 else 'passen'} nicht in diese "
                                        f"Nachricht – /latest {rest} ab {first + k} zeigt sie."),))
            return Reply(tuple(paragraphs), stories=k, shorter=shown)

        return shown(len(stories))

    def bidders(self, _caller: Caller, arg: str) -> Reply:
        # Names the configuration says are never bidders, or were found by mistake, stay hidden even
        # if they were stored before the configuration said so.
        hidden = {normalise(n) for n in (*self.config.deal.not_bidders, *self.config.deal.ignore)}
        standings = [replace(b, partners=tuple(p for p in b.partners if normalise(p) not in hidden))
                     for b in self.store.bidder_standings() if normalise(b.name) not in hidden]
        if not arg:
            if not standings:
                return text("Bisher hat keine Meldung einen Bieter genannt.")
            reply = standings_reply(self.config.deal.name, standings, self.config.timezone)
            # The race as a picture too, in the table's rows; without it when it cannot be made.
            return replace(reply, image=race_image(standings, lambda name: self.store.bidder_timeline(name, CHANGES),
                                                   self.config.timezone, self.config.deal.name))
        wanted = self._bidder_named(arg, [b.name for b in standings])
        standing = next((b for b in standings if b.name == wanted), None)
        if standing is None:
            return self._unknown_bidder(arg)
        changes = self.store.bidder_timeline(standing.name, TIMELINE_MAX)
        return timeline_reply(standing, changes, self.config.timezone, TIMELINE_MAX)

    def _bidder_named(self, arg: str, known: list[str]) -> str | None:
        """The bidder a user means, whatever the case or spelling among the configured aliases."""
        wanted = normalise(" ".join(arg.split()))
        for bidder in self.config.deal.bidders:
            if wanted in {normalise(a.strip("*$")) for a in (bidder.name, *bidder.aliases)}:
                return bidder.name
        if exact := next((name for name in known if normalise(name) == wanted), None):
            return exact
        # "Rasner" for "Reid Rasner": every word asked for is a word of the name, and only one name fits.
        fits = [name for name in known if set(wanted.split()) <= set(normalise(name).split())]
        return fits[0] if len(fits) == 1 else None

    def status(self, caller: Caller, _arg: str) -> Reply:
        states = self.store.feed_states([(f.url, f.name) for f in self.config.feeds])
        last = self.store.last_poll()
        if last:
            lines = [f"Letzter Abruf: {local_time(last.finished, self.config.timezone)}"]
        else:
            lines = ["Noch kein Abruf seit dem Start."]
        lines.append(f"Feeds: {feed_counts(states)}")
        following = self.store.bidder_filter(caller.platform, caller.chat_id, caller.thread_id)
        if following is not None:
            lines.append(f"Dieser Chat erhält Meldungen, die {_listing(following)} nennen." if following
                         else "Dieser Chat erhält alle Meldungen zum Deal.")
        troubled = [s for s in states if is_troubled(s)]
        lines += [f"• {feed_line(s, self.config.timezone)}" for s in troubled[:STATUS_FEEDS]]
        if len(troubled) > STATUS_FEEDS:
            more = len(troubled) - STATUS_FEEDS
            lines.append(f"… und {count(more, 'weiterer gestörter Feed', 'weitere gestörte Feeds')} "
                         "(alle: dealticker feeds)")
        queue = self.store.delivery_counts(since=datetime.now(timezone.utc) - STATUS_PERIOD)
        if queue:
            lines.append(f"Zustellung in den letzten 24 Stunden: {queue.get('sent', 0)} gesendet, "
                         f"{queue.get('failed', 0)} fehlgeschlagen"
                         + (f", {queue['uncertain']} ungewiss (Absturz beim Senden)" if queue.get("uncertain") else "")
                         + f"; {queue.get('pending', 0) + queue.get('sending', 0)} in der Warteschlange")
        return text(*lines)


def _help_on(caller: Caller) -> str:
    return BY_NAME["help"].usage_on(caller.platform)


def _listing(names) -> str:
    """"Oracle", "Oracle oder Walmart", "Oracle, Walmart oder Microsoft"."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" oder {names[-1]}" if names else ""
