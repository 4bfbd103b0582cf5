"""Command logic in German, shared by every platform; junk arguments get an explanation."""
from __future__ import annotations

import pytest

from bot.commands import Caller, Commands
from bot.store import Store
from tests.factories import article

PRIVATE = Caller("console", "1")


@pytest.fixture
def commands(config):
    store = Store(config.database_url)
    store.migrate()
    yield Commands(config, store)
    store.close()


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


@pytest.mark.parametrize("argument, needle", [
    ("abc", "keine Anzahl"), ("99999", "von 1 bis 20"), ("0", "von 1 bis 20"), ("-3", "keine Anzahl"),
    ("1e9", "keine Anzahl"), ("<script>", "keine Anzahl"),
])
def test_latest_rejects_junk(commands, argument, needle):
    reply = commands.handle(PRIVATE, f"/latest {argument}")
    assert reply.is_error and reply.private and needle in reply.plain()


def test_latest_when_nothing_is_known(commands):
    assert "Noch keine Meldungen" in commands.handle(PRIVATE, "/latest").plain()


def test_bidders_lists_role_count_and_latest_link(commands):
    commands.store.add_articles([
        article("Microsoft bietet für Tiktok", hours=0, bidders=(("Microsoft", "bid_submitted"),)),
        article("Oracle bekommt Tiktok", hours=4, bidders=(("Oracle", "approved"),),
                link="https://example.org/oracle"),
    ], 1)
    reply = commands.handle(PRIVATE, "/bidders")
    text = reply.plain()
    assert text.index("Oracle") < text.index("Microsoft")
    assert "Zuschlag/genehmigt · 1 Artikel" in text and "Angebot abgegeben" in text
    assert "https://example.org/oracle" in [s.url for p in reply.paragraphs for s in p]


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
    commands.store.set_meta("last_poll", {"finished": "2025-09-20T08:00:00+00:00", "feeds": 3, "ok": 1,
                                          "unchanged": 1, "failed": 1, "skipped": 0, "new_alerts": 0,
                                          "errors": [["heise", "HTTP 500"]]})
    status = commands.handle(PRIVATE, "/status").plain()
    assert "20.09.2025 10:00" in status and "1 gestört" in status and "heise: HTTP 500" in status
