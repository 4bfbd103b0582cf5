"""The Telegram Bot API stand-in, exercised with the real python-telegram-bot client."""
from __future__ import annotations

import asyncio
import datetime as dtm
import threading
import time
import warnings

import httpx
import pytest
import telegram
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import BadRequest, ChatMigrated, Conflict, EndPointNotFound, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler

from tests.telegram_stub import MESSAGE_NOT_MODIFIED, HtmlParseError, TelegramStub, parse_html

# PTB warns about RetryAfter.retry_after becoming a timedelta as soon as it builds the exception.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
def stub():
    with TelegramStub() as s:
        yield s


@pytest.fixture
async def bot(stub):
    async with telegram.Bot(stub.token, base_url=stub.base_url) as b:
        yield b


def seconds(retry_after) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    return retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after


def retry_after_of(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return seconds(exc.retry_after)


# ---- basics ----------------------------------------------------------------------------


async def test_get_me_and_bot_initialisation(stub, bot):
    me = await bot.get_me()
    assert me.id == stub.bot_id == 123456789
    assert me.is_bot and me.username == "dealticker_test_bot"
    assert me.can_join_groups is True and me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    assert bot.username == "dealticker_test_bot"  # initialize() called getMe
    assert [m for m, _ in stub.calls] == ["getMe", "getMe"]


async def test_send_message_records_and_returns_messages_with_increasing_ids(stub, bot):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Mehr", callback_data="more:1")]])
    first = await bot.send_message(
        42, "<b>Übernahme</b> &amp; mehr", parse_mode="HTML", reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    second = await bot.send_message(42, "zwei", disable_web_page_preview=True)
    other = await bot.send_message(-1001234567890, "gruppe", message_thread_id=7)

    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.text == "Übernahme & mehr" and first.chat.id == 42 and first.chat.type == "private"
    assert first.from_user.id == stub.bot_id and first.from_user.is_bot
    assert first.entities[0].type == "bold" and (first.entities[0].offset, first.entities[0].length) == (0, 9)
    assert first.reply_markup == markup
    assert abs(first.date.timestamp() - time.time()) < 5
    assert other.chat.type == "supergroup" and other.message_thread_id == 7

    sent = stub.sent(42)
    assert [r["text"] for r in sent] == ["<b>Übernahme</b> &amp; mehr", "zwei"]
    assert sent[0]["plain_text"] == "Übernahme & mehr" and sent[0]["parse_mode"] == "HTML"
    assert sent[0]["reply_markup"] == {"inline_keyboard": [[{"text": "Mehr", "callback_data": "more:1"}]]}
    assert sent[0]["link_preview_options"] == {"is_disabled": True}
    assert sent[1]["disable_web_page_preview"] is True  # PTB sends it as link_preview_options
    assert sent[1]["parse_mode"] is None and sent[0]["params"]["chat_id"] == 42
    assert stub.sent(-1001234567890)[0]["message_thread_id"] == 7
    assert len(stub.sent()) == 3 and stub.texts(42) == ["<b>Übernahme</b> &amp; mehr", "zwei"]


async def test_raw_http_shapes_json_body_and_query_string(stub):
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{stub.api_url}/sendMessage", json={"chat_id": "7", "text": "123"})
        assert r.status_code == 200 and r.json()["ok"] is True
        assert r.json()["result"]["text"] == "123" and r.json()["result"]["chat"] == {"id": 7, "type": "private", "first_name": "User7"}
        r = await client.get(f"{stub.api_url}/getMe")
        assert r.json()["result"]["id"] == stub.bot_id
        r = await client.post(f"{stub.api_url}/noSuchMethod")
        assert r.status_code == 404 and r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        r = await client.post(f"{stub.base_url}999:wrong/getMe")
        assert r.status_code == 401 and r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert stub.sent(7)[0]["text"] == "123"


async def test_unknown_method_and_wrong_token(stub, bot):
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:not-the-token", base_url=stub.base_url):
            pass


# ---- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("<p>absatz</p>", 'unsupported start tag "p" at byte offset 0'),
        ("<b>fett</i>", 'unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ("<b>fett", 'can\'t find end tag corresponding to start tag "b"'),
        ("fett</b>", "unexpected end tag at byte offset 4"),
        ("Preis < 5 Mrd", 'unsupported start tag "" at byte offset 6'),
        ("A & B", "unsupported html entity"),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
        ("ab <b", "unclosed start tag at byte offset 3"),
    ],
)
async def test_html_errors_are_bad_requests(stub, bot, text, fragment):
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(42, text, parse_mode="HTML")
    assert caught.value.message.startswith("Can't parse entities: ")  # PTB drops "Bad Request: "
    assert fragment in caught.value.message.lower()
    assert stub.sent() == []
    assert stub.failures[-1]["status"] == 400 and stub.failures[-1]["reason"] == "api"


async def test_supported_html_passes(stub, bot):
    text = (
        '<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>'
        '<a href="https://example.com/?a=1&amp;b=2">l</a><code>c</code><pre><code class="language-python">p</code></pre>'
        "<blockquote>q</blockquote><blockquote expandable>x</blockquote><tg-spoiler>t</tg-spoiler>"
        '<span class="tg-spoiler">z</span> &lt;&gt;&quot;&#39;&#x27;'
    )
    message = await bot.send_message(42, text, parse_mode="HTML")
    assert message.text == "bsieunskdlcpqxtz <>\"''"
    types = [e.type for e in message.entities]
    assert types.count("bold") == 2 and types.count("italic") == 2 and "pre" in types and "expandable_blockquote" in types
    link = next(e for e in message.entities if e.type == "text_link")
    assert link.url == "https://example.com/?a=1&b=2"
    assert next(e for e in message.entities if e.type == "pre").language == "python"
    plain = await bot.send_message(42, "A & B < C")  # no parse_mode: nothing is parsed
    assert plain.text == "A & B < C"


def test_parse_html_counts_utf16_and_ampersand_mode():
    text, entities = parse_html("😀 <b>fett</b>")
    assert text == "😀 fett" and entities == [{"type": "bold", "offset": 3, "length": 4}]
    assert parse_html("A & B", strict_ampersand=False)[0] == "A & B"
    with pytest.raises(HtmlParseError):
        parse_html("A & B")


async def test_length_and_empty_text(stub, bot):
    await bot.send_message(42, "x" * 4096)
    await bot.send_message(42, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # counted after parsing
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(42, "&amp;" * 4097, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(42, "")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(42, "  <b> </b> ", parse_mode="HTML")
    assert len(stub.sent()) == 2


# ---- injected failures ------------------------------------------------------------------


async def test_injected_failures_map_to_ptb_exceptions(stub, bot):
    stub.fail("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "a")
    assert retry_after_of(caught.value) == 7

    stub.fail("sendMessage", 403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "b")

    stub.fail("sendMessage", 400, migrate_to_chat_id=-1009876543210)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-555, "c")
    assert migrated.value.new_chat_id == -1009876543210

    stub.fail("sendMessage", 500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(42, "d")

    stub.drop("sendMessage")
    with pytest.raises(NetworkError) as dropped:
        await bot.send_message(42, "e")
    assert not isinstance(dropped.value, (BadRequest, Forbidden))
    assert stub.drops == 1

    ok = await bot.send_message(42, "f")  # all rules used up
    assert ok.text == "f" and [r["text"] for r in stub.sent()] == ["f"]
    assert [f["status"] for f in stub.failures] == [429, 403, 400, 500, None]
    assert [m for m, _ in stub.calls].count("sendMessage") == 6


async def test_failures_for_one_chat_and_several_times(stub, bot):
    stub.fail("sendMessage", 403, "Forbidden: bot was kicked from the group chat", times=2, chat_id=-77)
    await bot.send_message(42, "elsewhere")
    for _ in range(2):
        with pytest.raises(Forbidden, match="kicked"):
            await bot.send_message(-77, "x")
    await bot.send_message(-77, "now fine")
    assert [r["chat_id"] for r in stub.sent()] == [42, -77]


async def test_persistent_block_and_migration(stub, bot):
    stub.block(42)
    stub.migrate(-555, -1005550000000)
    with pytest.raises(Forbidden):
        await bot.send_message(42, "x")
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-555, "x")
    assert caught.value.new_chat_id == -1005550000000
    assert (await bot.send_message(-1005550000000, "y")).chat.type == "supergroup"


async def test_delay_makes_ptb_time_out(stub, bot):
    stub.delay("sendMessage", 1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(42, "slow", read_timeout=0.2)


# ---- updates ------------------------------------------------------------------------------


async def test_get_updates_returns_start_command_and_honours_offset(stub, bot):
    stub.push_message(42, "/start@dealticker_test_bot", username="anna")
    stub.push_message(-1001, "/status now", user_id=5, chat_type="group")
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 2
    start = updates[0].message
    assert start.text == "/start@dealticker_test_bot" and start.from_user.username == "anna"
    assert start.chat.type == "private" and start.chat.id == 42
    assert [(e.type, e.offset, e.length) for e in start.entities] == [("bot_command", 0, 26)]
    assert updates[1].message.entities[0].length == len("/status") and updates[1].message.chat.type == "group"

    again = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)  # confirms the first
    assert [u.update_id for u in again] == [updates[1].update_id]
    assert await bot.get_updates(offset=updates[1].update_id + 1, timeout=0) == ()
    assert stub.pending_updates == []

    stub.push_message(42, "a")
    stub.push_message(42, "b")
    assert [u.message.text for u in await bot.get_updates(limit=1, timeout=0)] == ["a"]
    assert [u.message.text for u in await bot.get_updates(offset=-1, timeout=0)] == ["b"]


async def test_topic_and_channel_messages(stub, bot):
    stub.push_message(-1002000000000, "/digest", user_id=9, chat_type="supergroup", thread_id=17, is_topic_message=True)
    stub.push_message(-1003000000000, "post", chat_type="channel")
    topic, post = await bot.get_updates(timeout=0)
    assert topic.message.message_thread_id == 17 and topic.message.is_topic_message and topic.message.chat.is_forum
    assert post.channel_post.text == "post" and post.channel_post.sender_chat.id == -1003000000000
    reply = await bot.send_message(-1002000000000, "ok", message_thread_id=17)
    assert reply.is_topic_message and reply.message_id == 2


async def test_long_poll_waits_for_an_update_while_sends_go_through(stub, bot):
    async def push_later():
        await asyncio.sleep(0.3)
        await bot.send_message(42, "sent during the poll")  # answered while getUpdates is held
        stub.push_message(42, "hallo")

    started = time.monotonic()
    pusher = asyncio.create_task(push_later())
    updates = await bot.get_updates(timeout=5)
    await pusher
    elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 3 and [u.message.text for u in updates] == ["hallo"]
    assert stub.texts(42) == ["sent during the poll"]

    started = time.monotonic()
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0.5) == ()
    assert 0.4 < time.monotonic() - started < 2


async def test_stop_ends_a_held_long_poll_at_once():
    stub = TelegramStub().start()
    result = {}

    def poll():
        started = time.monotonic()
        r = httpx.post(f"{stub.api_url}/getUpdates", data={"timeout": "30"}, timeout=10)
        result["elapsed"], result["json"] = time.monotonic() - started, r.json()

    thread = threading.Thread(target=poll)
    thread.start()
    stub.wait_calls("getUpdates")
    time.sleep(0.1)
    stub.stop()
    thread.join(5)
    assert result["json"] == {"ok": True, "result": []} and result["elapsed"] < 2


async def test_webhook_methods_and_conflict(stub, bot):
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.set_webhook("https://example.com/hook")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.com/hook" and info.pending_update_count == 0
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)
    stub.push_message(42, "pending")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert stub.webhook_url == "" and await bot.get_updates(timeout=0) == ()
    assert await bot.log_out() and await bot.close()


# ---- callbacks, edits, members, commands -----------------------------------------------


async def test_callback_query_and_answer(stub, bot):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Details", callback_data="story:3")]])
    sent = await bot.send_message(42, "Meldung", reply_markup=markup)
    update = stub.push_callback(42, 42, "story:3")
    (got,) = await bot.get_updates(timeout=0)
    query = got.callback_query
    assert query.id == update["callback_query"]["id"] and query.data == "story:3" and query.from_user.id == 42
    assert query.message.message_id == sent.message_id and query.message.reply_markup == markup
    assert await query.answer("Gleich da", show_alert=True)
    assert stub.callback_answers[0]["text"] == "Gleich da" and stub.callback_answers[0]["show_alert"] is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("123")


async def test_edit_message_text(stub, bot):
    sent = await bot.send_message(42, "<b>alt</b>", parse_mode="HTML")
    edited = await bot.edit_message_text("<b>neu</b>", chat_id=42, message_id=sent.message_id, parse_mode="HTML")
    assert edited.text == "neu" and edited.edit_date is not None and edited.message_id == sent.message_id
    assert stub.edits[0]["text"] == "<b>neu</b>" and stub.edits[0]["message_id"] == sent.message_id
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<b>neu</b>", chat_id=42, message_id=sent.message_id, parse_mode="HTML")
    assert stub.failures[-1]["description"] == MESSAGE_NOT_MODIFIED
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.edit_message_text("<x>", chat_id=42, message_id=sent.message_id, parse_mode="HTML")
    assert stub.message(42, sent.message_id)["text"] == "neu"


async def test_get_chat_member_statuses(stub, bot):
    group = -1001234
    stub.admins[group] = {5}
    stub.owners[group] = 1
    stub.set_member(group, 8, "left")
    stub.push_message(group, "hi", user_id=6, chat_type="supergroup", username="moritz")
    admin = await bot.get_chat_member(group, 5)
    assert isinstance(admin, telegram.ChatMemberAdministrator) and admin.can_delete_messages
    assert isinstance(await bot.get_chat_member(group, 1), telegram.ChatMemberOwner)
    member = await bot.get_chat_member(group, 6)
    assert isinstance(member, telegram.ChatMemberMember) and member.user.username == "moritz"
    assert isinstance(await bot.get_chat_member(group, 8), telegram.ChatMemberLeft)
    stub.set_member(group, 8, "restricted")
    assert isinstance(await bot.get_chat_member(group, 8), telegram.ChatMemberRestricted)


async def test_commands(stub, bot):
    commands = [BotCommand("start", "Anmelden"), BotCommand("status", "Stand der Übernahme")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands([BotCommand("admin", "Nur hier")], scope=BotCommandScopeChat(42))
    assert stub.commands == [{"command": "start", "description": "Anmelden"},
                             {"command": "status", "description": "Stand der Übernahme"}]
    assert await bot.get_my_commands() == tuple(commands)
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(42))] == ["admin"]
    assert stub.command_sets[1]["scope"] == {"type": "chat", "chat_id": 42}
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Start", "upper case is invalid")])


# ---- rate limits --------------------------------------------------------------------------


async def test_rate_limit_per_chat_and_group(stub, bot):
    stub.limit_rate(per_second=30, per_chat_per_second=1, per_group_per_minute=3)
    await bot.send_message(42, "eins")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "zwei")
    assert retry_after_of(caught.value) == 1
    await bot.send_message(43, "andere Chat")  # other chats are not affected
    assert stub.rate_limited == 1

    stub.limit_rate(per_second=None, per_chat_per_second=None, per_group_per_minute=3)
    for i in range(3):
        await bot.send_message(-100500, f"g{i}")
    with pytest.raises(RetryAfter) as group:
        await bot.send_message(-100500, "g3")
    assert 59 <= retry_after_of(group.value) <= 60
    await bot.send_message(-100501, "another group")
    await bot.send_message(42, "private chats have no per-minute limit")
    assert stub.rate_limited == 2 and stub.failures[-1]["reason"] == "rate_limit (group)"


async def test_rate_limit_global_per_second(stub, bot):
    stub.limit_rate(per_second=3, per_chat_per_second=None, per_group_per_minute=None)
    for chat in (1, 2, 3):
        await bot.send_message(chat, "x")
    with pytest.raises(RetryAfter):
        await bot.send_message(4, "x")
    stub.unlimit_rate()
    await bot.send_message(4, "x")
    assert stub.rate_limited == 1 and len(stub.sent()) == 4


# ---- a whole PTB Application --------------------------------------------------------------


async def test_application_polls_and_answers_commands(stub):
    async def start(update, context):
        await update.effective_message.reply_text(f"Hallo {update.effective_user.first_name}")

    async def button(update, context):
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text("gewählt: " + update.callback_query.data)

    app = ApplicationBuilder().token(stub.token).base_url(stub.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(button))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        stub.push_message(42, "/start", first_name="Anna")
        (reply,) = await stub.wait_sent_async(1, chat_id=42)
        stub.push_callback(42, 42, "story:9")
        await stub.wait_calls_async("editMessageText")
        await app.updater.stop()
        await app.stop()
    assert reply["text"] == "Hallo Anna"
    assert stub.callback_answers[0]["text"] == "ok"
    assert stub.edits[0]["text"] == "gewählt: story:9" and stub.edits[0]["message_id"] == reply["message_id"]
    assert [m for m, _ in stub.calls][:2] == ["getMe", "deleteWebhook"]
    assert stub.pending_updates == []  # PTB confirmed what it handled
