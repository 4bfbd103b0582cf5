"""Who may (un)subscribe a Slack channel ([slack] may_subscribe): the real slack_sdk client asks the
stand-in's users.info; members are refused in German, a direct message with the bot always may."""
from __future__ import annotations

import logging

import pytest

from tests.chat_bots import CHANNEL, SECRET, SlackBot, wait_for
from tests.slack_stub import BOT_USER_ID, SlackStub, app_mention_event, deliver, event_body

ADMIN, MEMBER, OWNER, PRIMARY = "U0ADMIN", "U0MEMBER", "U0OWNER", "U0PRIMARY"
DM = "D0DIRECT"  # Slack's ids of direct-message channels start with D
REFUSED = "Nur Admins und Inhaber des Workspace können das Abo ändern."


@pytest.fixture
def stub():
    with SlackStub() as s:
        s.add_channel(CHANNEL, "tiktok-deal")
        s.add_user(ADMIN, "anna", is_admin=True)
        s.add_user(OWNER, "olga", is_owner=True)
        s.add_user(PRIMARY, "paul", is_owner=True, is_primary_owner=True)
        s.add_user(MEMBER, "max")
        yield s


@pytest.fixture
async def bot(config, stub, feed_server):
    async with SlackBot(config, stub, feed_server) as b:
        yield b


def _asked(stub, user: str) -> int:
    return len([c for c in stub.calls("users.info") if c.params.get("user") == user])


async def test_an_admin_subscribes_the_channel_a_member_is_refused_in_german(bot, stub):
    refused = await bot.slash("/subscribe", user=MEMBER)
    assert refused.text == REFUSED and refused.body["response_type"] == "ephemeral"
    assert bot.store.subscriptions() == []

    done = await bot.slash("/subscribe", user=ADMIN)
    assert "Abonniert" in done.text and done.body["response_type"] == "in_channel"
    assert bot.store.subscriptions() == [("slack", CHANNEL, "")]

    # A member can neither end the subscription nor narrow it to one bidder, by any of the ways in.
    assert (await bot.slash("/unsubscribe", user=MEMBER)).text == REFUSED
    assert (await bot.slash("/dealticker", "subscribe Oracle", user=MEMBER)).text == REFUSED
    status, _, _ = await deliver(bot.url, event_body(app_mention_event(f"<@{BOT_USER_ID}> unsubscribe",
                                                                       channel=CHANNEL, user=MEMBER)), SECRET)
    assert status == 200
    [mention] = await wait_for(lambda: stub.posts(CHANNEL))
    assert mention.text == REFUSED
    assert bot.store.subscriptions() == [("slack", CHANNEL, "")]
    # Reading is for everyone, and needs no question to Slack.
    asked = _asked(stub, MEMBER)
    assert "Meldungen" in (await bot.slash("/latest", user=MEMBER)).text
    assert _asked(stub, MEMBER) == asked

    # The admin's answer is kept for a while: a second change does not ask Slack again.
    assert "Abo beendet" in (await bot.slash("/unsubscribe", user=ADMIN)).text
    assert _asked(stub, ADMIN) == 1 and bot.store.subscriptions() == []


@pytest.mark.parametrize("user", [OWNER, PRIMARY])
async def test_workspace_owners_may_subscribe_too(bot, user):
    assert "Abonniert" in (await bot.slash("/subscribe", user=user)).text
    assert bot.store.subscriptions() == [("slack", CHANNEL, "")]


async def test_anyone_lets_a_member_subscribe_without_asking_slack(config, stub, feed_server):
    async with SlackBot(config, stub, feed_server, may_subscribe="anyone") as bot:
        assert "Abonniert" in (await bot.slash("/subscribe", user=MEMBER)).text
        assert bot.store.subscriptions() == [("slack", CHANNEL, "")]
    assert stub.calls("users.info") == []


async def test_a_direct_message_with_the_bot_is_always_allowed(bot, stub):
    reply = await bot.slash("/subscribe", channel=DM, user=MEMBER)
    assert "Abonniert" in reply.text
    assert bot.store.subscriptions() == [("slack", DM, "")]
    assert stub.calls("users.info") == []


async def test_when_slack_cannot_say_who_is_admin_the_change_is_refused_politely(bot, stub, caplog):
    stub.fail("users.info", "internal_error", status=500)
    with caplog.at_level(logging.WARNING, logger="bot.platforms.slack"):
        reply = await bot.slash("/subscribe", user=ADMIN)
    assert reply.text.startswith("Ich konnte gerade nicht prüfen, ob du das Abo hier ändern darfst.")
    assert "internal_error" not in reply.text and reply.body["response_type"] == "ephemeral"
    assert bot.store.subscriptions() == []
    [record] = [r for r in caplog.records if "users.info" in r.getMessage()]
    assert ADMIN in record.getMessage() and CHANNEL in record.getMessage() and "/subscribe" in record.getMessage()
    # A failure is not remembered: the next try asks again, and succeeds.
    assert "Abonniert" in (await bot.slash("/subscribe", user=ADMIN)).text


def test_the_setting_defaults_to_admins_and_refuses_other_words(shipped_config, tmp_path):
    from bot.config import ConfigError, load_config
    from tests.conftest import ROOT

    assert shipped_config.slack.may_subscribe == "admins"
    shipped = (ROOT / "config" / "dealticker.toml").read_text(encoding="utf-8")
    path = tmp_path / "dealticker.toml"
    path.write_text(shipped.replace('may_subscribe = "admins"', 'may_subscribe = "everyone"'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert [p for p in caught.value.problems if "slack.may_subscribe" in p and '"anyone"' in p]
    path.write_text(shipped.replace('may_subscribe = "admins"', 'may_subscribe = "anyone"'), encoding="utf-8")
    assert load_config(path, env={}).slack.may_subscribe == "anyone"
