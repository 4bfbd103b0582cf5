"""Telegram end to end: the real python-telegram-bot client against the loopback Bot API stand-in."""
from __future__ import annotations

import asyncio
import re
import warnings
from datetime import datetime, timedelta, timezone

from bot.config import TelegramConfig
from bot.store import Store
from tests.chat_bots import ALICE, TelegramBot, wait_for
from tests.factories import add_story, long_stories, rss, senate_story

warnings.filterwarnings("ignore", message=".*retry_after.*")


async def test_start_button_alert_latest_bidders(telegram_bot, telegram_stub):
    hello = await telegram_bot.say(ALICE, "/start")
    assert "TikTok-Verkauf" in hello["plain_text"]
    assert hello["reply_markup"]["inline_keyboard"][0][0]["text"] == "Abonnieren"
    assert {c["command"] for c in telegram_stub.commands} >= {"subscribe", "latest", "bidders", "help", "status"}

    telegram_stub.push_callback(ALICE, ALICE, "subscribe")
    confirm = (await telegram_stub.wait_sent_async(2, chat_id=ALICE))[-1]
    assert "Abonniert" in confirm["plain_text"] and telegram_stub.callback_answers

    report = await telegram_bot.publish()
    assert report.new_alerts
    alerts = await telegram_stub.wait_sent_async(2 + len(report.new_alerts), chat_id=ALICE, timeout=15)
    pushed = [m for m in alerts[2:]]
    walmart = [m for m in pushed if "Walmart will gemeinsam mit Microsoft" in m["plain_text"]]
    assert len(walmart) == 1
    assert walmart[0]["parse_mode"] == "HTML"
    assert "Microsoft (in Verhandlungen)" in walmart[0]["plain_text"] and "Walmart (" in walmart[0]["plain_text"]
    assert walmart[0]["link_preview_options"] == {"is_disabled": True}
    assert any(e["type"] == "text_link" for e in walmart[0]["entities"])

    await telegram_bot.publish()  # the same feed again: nothing new
    await asyncio.sleep(1.5)
    assert len(telegram_stub.sent(ALICE)) == 2 + len(report.new_alerts)

    latest = await telegram_bot.say(ALICE, "/latest 2")
    assert "Die 2 neuesten Meldungen" in latest["plain_text"]
    bidders = await telegram_bot.say(ALICE, "/bidders@dealticker_test_bot")
    assert "Microsoft" in bidders["plain_text"] and "Walmart" in bidders["plain_text"]
    junk = await telegram_bot.say(ALICE, "/latest <b>")
    assert "keine Anzahl" in junk["plain_text"]


async def test_latest_20_shows_whole_stories_and_says_how_many_more(telegram_bot, telegram_stub):
    stories = long_stories(20)
    for story in stories:
        add_story(telegram_bot.store, story)
    text = (await telegram_bot.say(ALICE, "/latest 20"))["plain_text"]
    assert len(text) <= 4096
    heading, *paragraphs, closing = text.split("\n\n")
    shown = int(re.fullmatch(r"Die (\d+) neuesten Meldungen:", heading).group(1))
    assert 5 <= shown < 20 and len(paragraphs) == 3 * shown
    for rank in range(shown):  # newest first, each whole: headline, outlets and time, summary and bidders
        story = 19 - rank
        title, outlets, body = paragraphs[3 * rank: 3 * rank + 3]
        assert title == stories[story][0].entry.title
        assert outlets.startswith("3 Quellen: SPIEGEL, FAZ, heise · zuletzt ")
        assert body == f"{stories[story][0].summary}\nBieter: Oracle (in Verhandlungen), Microsoft (genannt)"
    assert closing == (f"{20 - shown} weitere passen nicht in diese Nachricht – "
                       f"/latest {20 - shown} ab {shown + 1} zeigt sie.")


async def test_only_group_admins_subscribe(telegram_bot, telegram_stub):
    group, admin, member = -500, 7, 8
    telegram_stub.set_member(group, admin, "administrator")
    refused = await telegram_bot.say(group, "/subscribe", user_id=member, chat_type="group")
    assert "Nur Administratoren" in refused["plain_text"]
    assert telegram_bot.store.subscriptions("telegram") == []
    accepted = await telegram_bot.say(group, "/subscribe@dealticker_test_bot", user_id=admin, chat_type="group")
    assert "Abonniert" in accepted["plain_text"]
    assert telegram_bot.store.subscriptions("telegram") == [("telegram", str(group), "")]


async def test_a_failing_admin_check_is_refused_politely_and_logged(telegram_bot, telegram_stub, caplog):
    group, admin = -501, 7
    telegram_stub.set_member(group, admin, "administrator")
    telegram_stub.fail("getChatMember", 500, "Internal Server Error")
    refused = await telegram_bot.say(group, "/subscribe", user_id=admin, chat_type="group")
    assert refused["plain_text"].startswith("Ich konnte gerade nicht prüfen, ob du das Abo hier ändern darfst.")
    assert "Internal" not in refused["plain_text"] and telegram_bot.store.subscriptions("telegram") == []
    assert f"getChatMember for user {admin} in chat {group} failed" in caplog.text
    assert telegram_stub.token not in caplog.text
    accepted = await telegram_bot.say(group, "/subscribe", user_id=admin, chat_type="group")
    assert "Abonniert" in accepted["plain_text"]


async def test_forum_topic_gets_alerts_in_its_topic(telegram_bot, telegram_stub):
    forum = -1001234567890
    telegram_stub.set_member(forum, 9, "creator")
    await telegram_bot.say(forum, "/subscribe", user_id=9, chat_type="supergroup", thread_id=77, is_topic_message=True)
    await telegram_bot.publish()
    messages = await telegram_stub.wait_sent_async(2, chat_id=forum, timeout=15)
    assert messages[-1]["message_thread_id"] == 77


async def test_blocked_chat_is_unsubscribed_and_others_still_served(telegram_bot, telegram_stub):
    for chat in (2001, 2002):
        telegram_bot.store.subscribe("telegram", str(chat))
    telegram_stub.block(2001)
    report = await telegram_bot.publish()
    await telegram_stub.wait_sent_async(len(report.new_alerts), chat_id=2002, timeout=20)
    assert telegram_stub.sent(2001) == []
    subscriptions = telegram_bot.store.subscriptions("telegram")
    assert subscriptions == [("telegram", "2002", "")], subscriptions


async def test_migrated_group_keeps_its_alerts(telegram_bot, telegram_stub):
    telegram_bot.store.subscribe("telegram", "-42")
    telegram_stub.migrate(-42, -1009999)
    report = await telegram_bot.publish()
    got = await telegram_stub.wait_sent_async(len(report.new_alerts), chat_id=-1009999, timeout=20)
    assert len(got) == len(report.new_alerts)
    assert telegram_bot.store.subscriptions("telegram") == [("telegram", "-1009999", "")]


async def test_flood_control_and_errors_are_retried_never_dropped(telegram_bot, telegram_stub):
    telegram_bot.store.subscribe("telegram", "3001")
    telegram_bot.store.subscribe("telegram", "3002")
    telegram_stub.fail("sendMessage", 429, retry_after=1, chat_id=3001)
    telegram_stub.fail("sendMessage", 500, chat_id=3002)
    telegram_stub.drop("sendMessage", chat_id=3002)
    report = await telegram_bot.publish()
    n = len(report.new_alerts)
    first = await telegram_stub.wait_sent_async(n, chat_id=3001, timeout=30)
    second = await telegram_stub.wait_sent_async(n, chat_id=3002, timeout=30)
    await asyncio.sleep(1)
    assert len(telegram_stub.sent(3001)) == n == len({m["plain_text"] for m in first})
    assert len(telegram_stub.sent(3002)) == n == len({m["plain_text"] for m in second})


async def test_bad_request_is_marked_failed_and_does_not_block_the_queue(telegram_bot, telegram_stub):
    telegram_bot.store.subscribe("telegram", "4001")
    telegram_stub.fail("sendMessage", 400, "Bad Request: something odd", chat_id=4001)
    report = await telegram_bot.publish()
    n = len(report.new_alerts)
    await telegram_stub.wait_sent_async(n - 1, chat_id=4001, timeout=20)
    await asyncio.sleep(1)
    assert len(telegram_stub.sent(4001)) == n - 1
    assert telegram_bot.store.delivery_counts() == {"sent": n - 1, "failed": 1}


async def test_story_from_another_outlet_edits_the_alert(telegram_bot, telegram_stub):
    telegram_bot.store.subscribe("telegram", "5001")
    report = await telegram_bot.publish("spiegel_wirtschaft.rss")
    await telegram_stub.wait_sent_async(len(report.new_alerts), chat_id=5001, timeout=20)
    second = await telegram_bot.publish("tagesschau_dup.rss", "/other.rss")
    assert second.updated_alerts
    for _ in range(100):
        if telegram_stub.edits:
            break
        await asyncio.sleep(0.1)
    assert telegram_stub.edits and "tagesschau" in telegram_stub.edits[0]["plain_text"].lower()


async def test_a_story_is_one_thread_edited_in_place_with_follow_ups_as_replies(telegram_bot, telegram_stub):
    """One event from two outlets is one alert, edited (no new notification) to name the second
    outlet; a later report with a new figure is a reply to it; a poll that brings nothing new
    changes nothing in the chat."""
    telegram_bot.store.subscribe("telegram", "5001")
    story = senate_story(datetime.now(timezone.utc))
    await telegram_bot.publish_bytes(rss(story["first"]))
    [alert] = await telegram_stub.wait_sent_async(1, chat_id=5001, timeout=20)
    assert alert["plain_text"].startswith("US-Senat billigt Tiktok-Gesetz")

    await telegram_bot.publish_bytes(rss(story["other_outlet"]), "/other.rss")
    [edit] = await wait_for(lambda: telegram_stub.edits)
    assert edit["message_id"] == alert["message_id"]
    assert "zuerst: SPIEGEL" in edit["plain_text"] and "Auch bei: tagesschau" in edit["plain_text"]
    assert len(telegram_stub.sent(5001)) == 1  # an edit, not a second alert

    await telegram_bot.publish_bytes(rss(story["first"], story["new_fact"]))
    followup = (await telegram_stub.wait_sent_async(2, chat_id=5001, timeout=20))[-1]
    assert followup["message"]["reply_to_message"]["message_id"] == alert["message_id"]
    assert followup["plain_text"].startswith("Neu: Abstimmung 79 zu 18")
    assert "laut Reuters" in followup["plain_text"]

    await telegram_bot.publish_bytes(rss(story["first"], story["new_fact"]))  # nothing new
    await telegram_bot.publish_bytes(rss(story["other_outlet"]), "/other.rss")
    await asyncio.sleep(1.5)
    assert len(telegram_stub.sent(5001)) == 2 and len(telegram_stub.edits) == 1


async def test_a_bidder_nobody_configured_is_new_until_a_second_outlet_then_announced(telegram_bot, telegram_stub):
    telegram_bot.store.subscribe("telegram", "5001")
    now = datetime.now(timezone.utc)
    await telegram_bot.publish_bytes(rss(("Investor Reid Rasner bietet 20 Milliarden Dollar für Tiktok",
                                 "Der Gründer der Firma Omnivest will das US-Geschäft der App kaufen.",
                                 "https://www.spiegel.de/rasner", now - timedelta(hours=2))))
    [alert] = await telegram_stub.wait_sent_async(1, chat_id=5001, timeout=20)
    assert "Reid Rasner (Angebot abgegeben, neu)" in alert["plain_text"]
    standing = (await telegram_bot.say(5001, "/bidders"))["plain_text"]
    assert "Reid Rasner – Angebot abgegeben" in standing and "neu, 1 Quelle, unbestätigt" in standing

    await telegram_bot.publish_bytes(rss(("Milliardengebot von Reid Rasner für Tiktok",
                                 "Der Investor will 20 Milliarden Dollar für das US-Geschäft der Video-App zahlen.",
                                 "https://www.tagesschau.de/rasner", now - timedelta(hours=1))), "/other.rss")
    announced = await wait_for(
        lambda: [m for m in telegram_stub.sent(5001) if m["plain_text"].startswith("Neuer Bieter")])
    assert announced[0]["plain_text"].startswith("Neuer Bieter: Reid Rasner (Angebot abgegeben)\n\n"
                                                 "Milliardengebot von Reid Rasner für Tiktok")
    assert "reply_to_message" not in announced[0]["message"]  # its own alert, not a reply in a thread
    standing = (await telegram_bot.say(5001, "/bidders Rasner"))["plain_text"]
    assert standing.startswith("Reid Rasner – Angebot abgegeben")
    assert "unbestätigt" not in (await telegram_bot.say(5001, "/bidders"))["plain_text"]


async def test_set_my_commands_failure_is_only_a_warning(config, telegram_stub, feed_server, caplog):
    telegram_stub.fail("setMyCommands", 500)
    async with TelegramBot(config, telegram_stub, feed_server) as b:
        reply = await b.say(ALICE, "/help")
    assert "/latest" in reply["plain_text"]
    assert "could not register the command list" in caplog.text
    assert telegram_stub.token not in caplog.text


async def test_fan_out_stays_within_telegram_limits(telegram_bot, telegram_stub):
    telegram_stub.limit_rate(per_second=30, per_chat_per_second=1, per_group_per_minute=20)
    chats = [str(6000 + i) for i in range(40)] + ["-6001"]
    for chat in chats:
        telegram_bot.store.subscribe("telegram", chat)
    report = await telegram_bot.publish()
    n = len(report.new_alerts)
    await telegram_stub.wait_sent_async(n * len(chats), timeout=60)
    await asyncio.sleep(1)
    assert telegram_stub.rate_limited == 0, [(f["params"].get("chat_id"), f["reason"]) for f in telegram_stub.failures][:10]
    assert len(telegram_stub.sent()) == n * len(chats)
    assert {str(m["chat_id"]) for m in telegram_stub.sent()} == set(chats)


async def test_webhook_mode_receives_updates_and_checks_the_secret(config, telegram_stub):
    import json
    import socket

    import httpx

    from bot.commands import Commands
    from bot.platforms.telegram import TelegramPlatform

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = TelegramConfig(token=telegram_stub.token, api_url=telegram_stub.base_url, webhook_url="https://bot.example.org/telegram",
                         webhook_secret="s3cret-token", webhook_listen="127.0.0.1", webhook_port=port)
    store = Store(config.database_url)
    store.migrate()
    platform = TelegramPlatform(cfg, Commands(config, store))
    await platform.start()
    try:
        assert telegram_stub.webhook_url == "https://bot.example.org/telegram"
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": 1_700_000_000, "chat": {"id": ALICE, "type": "private"},
            "from": {"id": ALICE, "is_bot": False, "first_name": "Alice"}, "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        async with httpx.AsyncClient() as client:
            forged = await client.post(f"http://127.0.0.1:{port}/telegram", content=json.dumps(update),
                                       headers={"Content-Type": "application/json",
                                                "X-Telegram-Bot-Api-Secret-Token": "wrong"})
            assert forged.status_code == 403
            ok = await client.post(f"http://127.0.0.1:{port}/telegram", content=json.dumps(update),
                                   headers={"Content-Type": "application/json",
                                            "X-Telegram-Bot-Api-Secret-Token": "s3cret-token"})
            assert ok.status_code == 200
        reply = (await telegram_stub.wait_sent_async(1, chat_id=ALICE))[0]
        assert "/latest" in reply["plain_text"] and len(telegram_stub.sent()) == 1
    finally:
        await platform.stop()
        store.close()


async def test_hostile_feed_text_is_escaped_in_telegram_html(telegram_bot, telegram_stub):
    telegram_bot.store.subscribe("telegram", "7001")
    report = await telegram_bot.publish("hostile.rss")
    assert report.new_alerts
    got = await telegram_stub.wait_sent_async(len(report.new_alerts), chat_id=7001, timeout=20)
    hostile = [m for m in got if "Oracle: Deal" in m["plain_text"]]
    # The feed marks this title as HTML: its tags are dropped, its "&" and quotes survive escaping.
    assert hostile and "Bericht: TikTok & Oracle: Deal „fast fertig“" in hostile[0]["plain_text"]
    assert "&amp;" in hostile[0]["text"]
    assert telegram_stub.failures == []  # every message parsed as valid Telegram HTML


async def test_menu_help_and_group_commands_all_come_from_the_command_table(telegram_bot, telegram_stub):
    """What Telegram's menu shows (setMyCommands), what /help lists and what a group can call are the
    one table in bot/commands.py: every command there, nothing else, in its order."""
    from bot.commands import COMMANDS

    assert telegram_stub.commands == [{"command": c.name, "description": c.title} for c in COMMANDS]
    help_text = (await telegram_bot.say(ALICE, "/help"))["plain_text"]
    assert [line.split(" – ")[0] for line in help_text.splitlines()[2:]] == [c.usage for c in COMMANDS]
    group, admin = -600, 9
    telegram_stub.set_member(group, admin, "administrator")
    for c in COMMANDS:  # in a group only the CommandHandler answers: each name must be registered
        reply = await telegram_bot.say(group, f"/{c.name}@dealticker_test_bot", user_id=admin, chat_type="group")
        assert "kenne ich nicht" not in reply["plain_text"]
