"""Command logic in German, shared by every platform; junk arguments get an explanation."""
from __future__ import annotations

import dataclasses
import re
import socket
from datetime import datetime, timedelta, timezone

import pytest

from bot.commands import Caller, Commands
from bot.feedstate import PROBLEMS
from bot.messages import alert_message
from bot.models import PollSummary
from bot.store import Store
from tests.conftest import with_feeds
from tests.factories import add_story, article, long_stories

PRIVATE = Caller("console", "1")


def test_subscribe_and_unsubscribe(commands):
    assert "Abonniert" in commands.handle(PRIVATE, "/subscribe").plain()
    assert "schon abonniert" in commands.handle(PRIVATE, "/subscribe").plain()
    assert commands.store.subscriptions() == [("console", "1", "")]
    assert "Abo beendet" in commands.handle(PRIVATE, "/unsubscribe").plain()
    assert commands.store.subscriptions() == []


def test_group_members_who_are_not_admins_are_refused(commands):
    member = Caller("telegram", "-5", is_admin=False, is_group=True)
    reply = commands.handle(member, "/subscribe@DealtickerBot")
    assert reply.is_error and "Administratoren" in reply.plain()
    assert commands.store.subscriptions() == []


def test_latest_shows_newest_first_with_source_time_summary_link(commands):
    commands.store.add_articles([
        article("Microsoft will Tiktok kaufen", "SPIEGEL", hours=0, teaser="Microsoft verhandelt."),
        article("Oracle erhält Zuschlag für Tiktok", "heise", hours=3, bidders=(("Oracle", "approved"),)),
    ], 48)
    reply = commands.handle(PRIVATE, "/latest 2")
    text = reply.plain()
    assert text.index("Oracle erhält") < text.index("Microsoft will")
    assert "heise · 20.09.2025 13:00" in text  # 11:00 UTC is 13:00 in Berlin (summer time)
    assert "Microsoft verhandelt." in text
    links = [s.url for p in reply.paragraphs for s in p if s.url]
    assert len(links) == 2 and all(link.startswith("https://") for link in links)
    assert "Oracle (Zuschlag/genehmigt)" in text


def test_latest_shows_each_story_once_with_its_outlets_and_latest_report(commands):
    add_story(commands.store, [
        article("Microsoft will Tiktok kaufen", "SPIEGEL", hours=0, teaser="Microsoft verhandelt."),
        article("Microsoft will Tiktok kaufen", "FAZ", hours=1),
        article("Microsoft will Tiktok kaufen", "heise", hours=3)])
    add_story(commands.store, [article("Oracle erhält Zuschlag für Tiktok", "heise", hours=2)])
    text = commands.handle(PRIVATE, "/latest").plain()
    assert text.startswith("Die 2 neuesten Meldungen:")
    assert text.count("Microsoft will Tiktok kaufen") == 1 and text.count("Microsoft verhandelt.") == 1
    # The story heise joined last is the newest: 11:00 UTC is 13:00 in Berlin.
    assert text.index("Microsoft will") < text.index("Oracle erhält")
    assert "3 Quellen: SPIEGEL, FAZ, heise · zuletzt 20.09.2025 13:00" in text
    assert "heise · 20.09.2025 12:00" in text


def test_latest_from_a_later_story_on_shows_the_rest(commands):
    for story in long_stories(20):
        add_story(commands.store, story)
    reply = commands.handle(PRIVATE, "/latest 4 ab 17")
    text = reply.plain()
    assert text.startswith("Meldungen 17 bis 20 (von der neuesten an gezählt):")
    assert [n for n in range(20) if f"Wendung {n}:" in text] == [0, 1, 2, 3]
    assert "weitere" not in text
    beyond = commands.handle(PRIVATE, "/latest ab 21").plain()
    assert beyond == "Es gibt nur 20 Meldungen; /latest 20 zeigt die neuesten."
    one = commands.handle(PRIVATE, "/latest 1 ab 20").plain()
    assert one.startswith("Meldung 20 (von") and "Wendung 0:" in one


@pytest.mark.parametrize("argument, needle", [
    ("abc", "keine Anzahl"), ("99999", "von 1 bis 20"), ("0", "von 1 bis 20"), ("-3", "keine Anzahl"),
    ("1e9", "keine Anzahl"), ("<script>", "keine Anzahl"), ("5 ab 0", "Nach „ab“"), ("5 ab 101", "von 1 bis 100"),
    ("5 ab", "keine Anzahl"),
])
def test_latest_rejects_junk(commands, argument, needle):
    reply = commands.handle(PRIVATE, f"/latest {argument}")
    assert reply.is_error and reply.private and needle in reply.plain()


def test_latest_when_nothing_is_known(commands):
    assert "Noch keine Meldungen" in commands.handle(PRIVATE, "/latest").plain()


def test_bidders_lists_status_since_partners_outlets_and_latest_link(commands):
    commands.store.add_articles([
        article("Microsoft bietet für Tiktok", hours=0, bidders=(("Microsoft", "bid_submitted"),)),
        article("Microsoft und Walmart bieten gemeinsam", "FAZ", hours=2,
                bidders=(("Microsoft", "bid_submitted"), ("Walmart", "bid_submitted"))),
        article("Oracle bekommt Tiktok, Microsoft geht leer aus", hours=28,
                bidders=(("Oracle", "approved"), ("Microsoft", "rejected")), link="https://example.org/oracle"),
    ], 1)
    reply = commands.handle(PRIVATE, "/bidders")
    lines = reply.plain().split("\n\n")
    assert lines[0] == "Bieter im TikTok-Verkauf:"
    oracle, microsoft, walmart = lines[1:4]
    assert oracle.startswith("Oracle – Zuschlag/genehmigt seit 21.09.2025 · 1 Quelle")
    assert microsoft.startswith("Microsoft – abgelehnt seit 21.09.2025 · 2 Quellen")
    assert walmart.startswith("Walmart – Angebot abgegeben seit 20.09.2025, mit Microsoft · 1 Quelle")
    assert "https://example.org/oracle" in [s.url for p in reply.paragraphs for s in p]


def test_bidders_with_a_name_shows_its_timeline_whatever_the_spelling(commands):
    commands.store.add_articles([
        article("Microsoft prüft Kauf von Tiktok", hours=0, bidders=(("Microsoft", "interested"),)),
        article("Microsoft verhandelt weiter", "FAZ", hours=5, bidders=(("Microsoft", "negotiating"),)),
        article("Microsoft verhandelt", "heise", hours=6, bidders=(("Microsoft", "negotiating"),)),
        article("Microsoft geht leer aus", hours=30, bidders=(("Microsoft", "rejected"),)),
    ], 1)
    for spelling in ("Microsoft", "microsoft", "  MICROSOFT "):
        lines = commands.handle(PRIVATE, f"/bidders {spelling}").plain().split("\n\n")
        assert lines[0] == "Microsoft – abgelehnt seit 21.09.2025"
        assert [line.split(" · ")[1] for line in lines[1:]] == ["interessiert", "in Verhandlungen", "abgelehnt"]
    unknown = commands.handle(PRIVATE, "/bidders Tesla" + "x" * 500)
    assert unknown.is_error and "Microsoft" in unknown.plain() and len(unknown.plain()) < 200


def test_a_discovered_bidder_is_new_until_a_second_outlet_names_it_then_a_neuer_bieter_follow_up(commands):
    store = commands.store
    store.subscribe("console", "1")
    [story], _ = store.add_articles([article("Oracle und McCourt bieten für Tiktok", hours=0,
                                             bidders=(("Oracle", "bid_submitted"),),
                                             discovered=(("Frank McCourt", "bid_submitted"),))], 1)
    lines = commands.handle(PRIVATE, "/bidders").plain().split("\n\n")
    assert lines[1].startswith("Oracle – Angebot abgegeben")  # confirmed first
    assert lines[2].startswith("Frank McCourt – Angebot abgegeben seit 20.09.2025, mit Oracle · neu, 1 Quelle, "
                               "unbestätigt")
    assert [r.followup_id for r in store.due_deliveries(["console"])] == [0]  # the alert only
    assert "Frank McCourt (Angebot abgegeben, neu)" in alert_message(store.alerts_by_id([story.id])[0], "UTC").plain()

    store.add_articles([article("McCourt legt nach", "FAZ", hours=3, discovered=(("Frank McCourt", "bid_submitted"),))], 1)
    lines = commands.handle(PRIVATE, "/bidders").plain().split("\n\n")
    mccourt = next(line for line in lines if line.startswith("Frank McCourt"))
    assert "2 Quellen" in mccourt and "unbestätigt" not in mccourt
    [followup] = [r for r in store.due_deliveries(["console"]) if r.followup_id]
    [told] = store.followups_by_id([followup.followup_id])
    assert [(f.kind, f.subject) for f in told.facts] == [("confirmed", "Frank McCourt")]

    store.add_articles([article("McCourt bleibt dran", "heise", hours=5, discovered=(("Frank McCourt", "bid_submitted"),))], 1)
    assert len([r for r in store.due_deliveries(["console"]) if r.followup_id]) == 1  # confirmed once


def test_ignored_and_never_bidders_are_hidden_from_bidders(commands):
    commands.store.add_articles([article("Neues im Bieterrennen", hours=0, bidders=(("Walmart", "interested"),),
                                         discovered=(("Donald Trump", "interested"), ("Irrtum AG", "interested")))], 1)
    deal = dataclasses.replace(commands.config.deal, ignore=("irrtum ag",))
    shown = Commands(dataclasses.replace(commands.config, deal=deal), commands.store).handle(PRIVATE, "/bidders").plain()
    assert shown.split("\n\n")[1] == "Walmart – interessiert seit 20.09.2025 · 1 Quelle · zuletzt 20.09.2025 10:00: " \
                                      "Neues im Bieterrennen"
    assert "Trump" not in shown and "Irrtum" not in shown


def test_subscribe_to_chosen_bidders_gets_only_their_stories(commands, stories):
    store = commands.store
    everything, oracle_only = Caller("console", "all"), Caller("console", "oracle")
    commands.handle(everything, "/subscribe")
    reply = commands.handle(oracle_only, "/subscribe oracle").plain()
    assert reply.startswith("Dieser Chat erhält jetzt nur Meldungen, die Oracle nennen.")
    assert "Dieser Chat erhält Meldungen, die Oracle nennen." in commands.handle(oracle_only, "/status").plain()
    store.add_articles([article("Oracle bietet für Tiktok", hours=0, bidders=(("Oracle", "bid_submitted"),)),
                        article("Walmart prüft Einstieg bei Tiktok", "FAZ", hours=1,
                                bidders=(("Walmart", "interested"),))], 1)
    def alerts(chat):
        return sorted(r.alert_id for r in store.due_deliveries(["console"]) if r.chat_id == chat and not r.followup_id)
    assert len(alerts("all")) == 2 and len(alerts("oracle")) == 1

    # A story without Oracle that names it in a later report reaches the chat then, as its alert.
    [senate], _ = store.add_articles([article("US-Senat billigt Tiktok-Gesetz", "tagesschau", hours=30,
                                              teaser="Nach dem Repräsentantenhaus stimmt auch der Senat zu.")],
                                     48, stories)
    assert senate.id not in alerts("oracle")
    store.add_articles([article("Senat stimmt für Zwangsverkauf von Tiktok", "heise", hours=31,
                                teaser="Die zweite Kammer billigt das Paket; Oracle gilt als Favorit.",
                                bidders=(("Oracle", "interested"),))], 48, stories)
    assert senate.id in alerts("oracle")

    commands.handle(oracle_only, "/subscribe Walmart")
    assert store.bidder_filter("console", "oracle") == ("Oracle", "Walmart")
    assert "nur noch Meldungen, die Walmart nennen" in commands.handle(oracle_only, "/unsubscribe oracle").plain()
    assert commands.handle(oracle_only, "/unsubscribe Tesla").is_error
    assert "wieder alle Meldungen" in commands.handle(oracle_only, "/subscribe").plain()
    assert store.bidder_filter("console", "oracle") == ()
    assert commands.handle(oracle_only, "/subscribe Frobnitz").is_error
    assert "Abo beendet" in commands.handle(oracle_only, "/unsubscribe").plain()


def test_bidders_standings_match_a_rebuild_from_the_mentions(commands):
    """Kept up to date report by report, arriving out of order, the standings equal a rebuild."""
    store = commands.store
    store.add_articles([article("Oracle verhandelt", hours=10, bidders=(("Oracle", "negotiating"),))], 1)
    store.add_articles([article("Oracle prüft", "FAZ", hours=2, bidders=(("Oracle", "interested"),))], 1)
    store.add_articles([article("Oracle gewinnt", "heise", hours=20, bidders=(("Oracle", "approved"),))], 1)
    kept = store.bidder_standings()
    assert kept[0].status == "approved" and kept[0].outlets == 3 and kept[0].articles == 3
    store.rebuild_standings()
    assert store.bidder_standings() == kept


@pytest.mark.parametrize("message", ["/frobnicate", "hallo", "", "/" + "x" * 5000, "/latest\x00"])
def test_unknown_or_broken_commands_explain_themselves(commands, message):
    reply = commands.handle(PRIVATE, message)
    assert reply.is_error and "/help" in reply.plain() or "keine Anzahl" in reply.plain()
    assert len(reply.plain()) < 200


def test_help_start_and_status(commands):
    assert "/bidders" in commands.handle(PRIVATE, "/help").plain()
    start = commands.handle(PRIVATE, "/start")
    assert ("Abonnieren", "subscribe") in start.buttons
    assert "Noch kein Abruf" in commands.handle(PRIVATE, "/status").plain()
    # A record as an earlier version wrote it (no start time, fewer counts) still reads.
    commands.store.set_meta("last_poll", {"finished": "2025-09-20T07:00:00+00:00", "feeds": 3, "ok": 1,
                                          "unchanged": 1, "failed": 1, "skipped": 0, "new_alerts": 0,
                                          "errors": [["heise", "HTTP 500"]]})
    assert "Letzter Abruf: 20.09.2025 09:00" in commands.handle(PRIVATE, "/status").plain()
    commands.store.save_poll(PollSummary(finished=datetime(2025, 9, 20, 8, 0, tzinfo=timezone.utc), feeds=3, ok=3))
    assert "Letzter Abruf: 20.09.2025 10:00" in commands.handle(PRIVATE, "/status").plain()


def test_status_says_per_failing_feed_what_is_wrong_and_when_it_is_tried_next(config):
    config = with_feeds(config, ("spiegel", "https://a.example/rss"), ("heise", "https://b.example/atom"),
                        ("alt", "https://c.example/rss"))
    store = Store(config.database_url)
    store.migrate()
    ok, failing, gone = store.feed_states([(f.url, f.name) for f in config.feeds])
    when = datetime(2025, 9, 20, 8, 0, tzinfo=timezone.utc)
    store.save_feed_states([
        dataclasses.replace(ok, last_ok=when, last_polled=when),
        dataclasses.replace(failing, error_count=3, error_kind="http", last_error="HTTP 500 Internal Server Error",
                            last_ok=when - timedelta(days=1), next_attempt=when + timedelta(hours=2)),
        dataclasses.replace(gone, status="gone", error_kind="gone", last_error="410 Gone")])

    status = Commands(config, store).handle(PRIVATE, "/status").plain()
    store.close()

    assert "1 gestört, 1 abgeschaltet, 1 in Ordnung (3 Feeds)" in status
    assert ("heise: gestört – Fehlerantwort des Servers (HTTP 500); 3 Fehlversuche in "
            "Folge, zuletzt in Ordnung 19.09.2025 10:00; nächster Versuch 20.09.2025 12:00") in status
    assert "Internal Server Error" not in status  # the server's English words stay in the log
    assert "alt: abgeschaltet – vom Anbieter abgeschaltet (410 Gone)" in status
    assert "spiegel" not in status  # a healthy feed is counted, not listed



# "1 Feeds", "1 Meldungen", "Die 1 neuesten…": the number 1 before a plural, as the issue saw it.
WRONG_SINGULAR = re.compile(r"(?<![\d.,])1 (Feeds|Meldungen|Quellen|Fehlversuche|neuesten|weitere gestörte|weitere,"
                            r"|Einträge|warten|passen)\b", re.I)
BIDDERS = (("Oracle", "approved"), ("Walmart", "bid_submitted"), ("Microsoft", "rejected"))


def _commands(config, tmp_path, feeds: int) -> Commands:
    config = dataclasses.replace(
        with_feeds(config, *((f"feed{i}", f"https://{i}.example/rss") for i in range(feeds))),
        database_url=f"sqlite:///{tmp_path / 'counts.db'}")
    store = Store(config.database_url)
    store.migrate()
    return Commands(config, store)


def _fail_every_feed(commands: Commands, times: int) -> None:
    states = commands.store.feed_states([(f.url, f.name) for f in commands.config.feeds])
    commands.store.save_feed_states([dataclasses.replace(s, error_count=times, error_kind="timeout",
                                                         last_error="ReadTimeout: timed out") for s in states])


def _stories(commands: Commands, n: int) -> None:
    for i in range(n):  # no bidders: /bidders counts only those added for it
        add_story(commands.store, [article(f"Tiktok-Deal Wendung {i}", hours=i)])


@pytest.mark.parametrize("n", [0, 1, 2])
def test_every_count_reads_as_correct_german(config, tmp_path, n):
    """/status, /latest and /bidders with 0, 1 and 2 of everything they count, as chats and the console show them."""
    from bot.platforms.console import render

    commands = _commands(config, tmp_path, n)
    shown: list[str] = []

    def ask(line: str) -> str:
        reply = commands.handle(PRIVATE, line)
        shown.extend((reply.plain(), render(reply)))
        return reply.plain()

    assert {0: "Feeds: keine (0 Feeds)", 1: "Feeds: 1 wartet auf den nächsten Abruf (1 Feed)",
            2: "Feeds: 2 warten auf den nächsten Abruf (2 Feeds)"}[n] in ask("/status")
    _fail_every_feed(commands, n)
    if n:
        status = ask("/status")
        assert f"Feeds: {n} gestört ({n} Feed" in status
        assert status.endswith({1: "; 1 Fehlversuch", 2: "; 2 Fehlversuche in Folge"}[n])

    _stories(commands, n)
    assert ask("/latest").startswith({0: "Noch keine Meldungen", 1: "Die neueste Meldung:",
                                      2: "Die 2 neuesten Meldungen:"}[n])
    if n:
        assert ask("/latest ab 3") == {1: "Es gibt nur eine Meldung; /latest 1 zeigt sie.",
                                       2: "Es gibt nur 2 Meldungen; /latest 2 zeigt die neuesten."}[n]
        assert "DIE NEUESTE MELDUNG:" in render(commands.handle(PRIVATE, "/latest 1"))

    commands.store.add_articles([article(f"{name} bietet für Tiktok", source, hours=h, bidders=((name, role),))
                                 for name, role in BIDDERS[:n] for h, source in enumerate(("SPIEGEL", "FAZ")[:n])], 1)
    standings = ask("/bidders")
    if n:
        assert f" · {n} {'Quelle' if n == 1 else 'Quellen'} · " in standings
    else:
        assert standings == "Bisher hat keine Meldung einen Bieter genannt."
    assert not [s for s in shown if WRONG_SINGULAR.search(s)]
    commands.store.close()


@pytest.mark.parametrize("rest", [1, 2])
def test_what_did_not_fit_is_counted_in_german(config, tmp_path, rest):
    """The closing lines when a message holds only part of a list: one more, or several more."""
    from bot.commands import STATUS_FEEDS

    commands = _commands(config, tmp_path, STATUS_FEEDS + rest)
    _fail_every_feed(commands, 1)
    assert ({1: "… und 1 weiterer gestörter Feed (alle: dealticker feeds)",
             2: "… und 2 weitere gestörte Feeds (alle: dealticker feeds)"}[rest]
            in commands.handle(PRIVATE, "/status").plain())

    _stories(commands, 1 + rest)
    only_one = commands.handle(PRIVATE, "/latest").shorter(1).plain()
    assert only_one.endswith({1: "1 weitere passt nicht in diese Nachricht – /latest 1 ab 2 zeigt sie.",
                              2: "2 weitere passen nicht in diese Nachricht – /latest 2 ab 2 zeigt sie."}[rest])

    commands.store.add_articles([article(f"{name} bietet für Tiktok", hours=0, bidders=((name, role),))
                                 for name, role in BIDDERS[:1 + rest]], 1)
    first_only = commands.handle(PRIVATE, "/bidders").shorter(1).plain()
    assert {1: "… und 1 weiterer, der zuletzt seltener genannt wurde.",
            2: "… und 2 weitere, die zuletzt seltener genannt wurden."}[rest] in first_only
    commands.store.close()


async def test_status_names_real_feed_failures_in_german_without_exception_text(config, feed_server):
    """Feeds that really fail (a 503, an HTML page, an empty answer, a closed port, a slow server):
    /status says what is wrong in German; the technical text stays in the store for the log and
    `dealticker feeds`."""
    from bot.pipeline import Pipeline
    from tests.feedserver import Route

    feed_server.routes["/down"] = Route(status=503, body=b"Service Unavailable")
    feed_server.routes["/html"] = Route(body=b"<html><body>Not a feed</body></html>", content_type="text/html")
    feed_server.routes["/empty"] = Route(body=b"")
    feed_server.routes["/slow"] = Route(body=b"", delay=3)
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{free.getsockname()[1]}/rss"
    config = with_feeds(dataclasses.replace(config, poll=dataclasses.replace(config.poll, timeout_seconds=1.0)),
                        ("Down", feed_server.url("/down")), ("Html", feed_server.url("/html")),
                        ("Empty", feed_server.url("/empty")), ("Slow", feed_server.url("/slow")),
                        ("Closed", closed))
    store = Store(config.database_url)
    store.migrate()
    await Pipeline(config, store).poll_once()
    status = Commands(config, store).handle(PRIVATE, "/status").plain()
    details = [s.last_error for s in store.feed_states([(f.url, f.name) for f in config.feeds])]
    store.close()

    assert "Feeds: 5 gestört (5 Feeds)" in status
    assert "Down: gestört – Fehlerantwort des Servers (HTTP 503); 1 Fehlversuch" in status
    for name in ("Html", "Empty", "Slow", "Closed"):
        line = next(line for line in status.splitlines() if line.startswith(f"• {name}: gestört – "))
        assert line.split(" – ")[1].split(";")[0] in PROBLEMS.values()
    assert all(details)
    assert not [d for d in details if d in status]
    assert not re.search(r"Error|Exception|Timeout|refused|Unavailable|failed|\berror\b", status), status
