"""Telegram adapter: python-telegram-bot handlers call Commands; replies and alerts go out as HTML."""
from __future__ import annotations

import asyncio
import html
import logging
from datetime import timedelta

from telegram import (BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message,
                      ReplyParameters, Update)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter,
                            TelegramError)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.commands import BY_NAME, COMMANDS, Caller, Commands, command_in
from bot.config import TelegramConfig
from bot.messages import Reply, fit
from bot.pacing import Pacer
from bot.platforms.base import ApiCheck, ChatGone, ChatMoved, Limits, Rejected, RetryLater, Transient

log = logging.getLogger(__name__)
LIMIT = 4096
_TAGS = {"bold": "b", "italic": "i", "code": "code"}
_ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def menu() -> list[BotCommand]:
    """Telegram's command menu (setMyCommands): every command of the table, its help as the
    description (Telegram allows 3 to 256 characters)."""
    return [BotCommand(c.name, c.title[:256]) for c in COMMANDS]


def render_html(reply: Reply, limit: int = LIMIT) -> str:
    """Telegram HTML with every piece of feed text escaped; as much of the reply as `limit`
    characters of text hold, chosen by messages.fit (Telegram counts the text after parsing)."""
    reply = fit(reply, lambda r: _length(r.plain()) <= limit)
    if _length(reply.plain()) > limit:  # one paragraph alone is too long: keep its plain text, cut
        return html.escape(reply.plain()[: limit // 2 - 1], quote=False) + "…"
    out = []
    for paragraph in reply.paragraphs:
        parts = []
        for span in paragraph:
            text = html.escape(span.text, quote=False)
            if span.style in _TAGS:
                text = f"<{_TAGS[span.style]}>{text}</{_TAGS[span.style]}>"
            if span.url:
                text = f'<a href="{html.escape(span.url, quote=True)}">{text}</a>'
            parts.append(text)
        out.append("".join(parts))
    return "\n\n".join(out)


def _length(text: str) -> int:
    # In UTF-16 code units, as Telegram counts entity offsets: never less than the characters.
    return len(text.encode("utf-16-le")) // 2


def _seconds(value) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat(chat_id: str) -> int | str:
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


async def _call(method, /, **kwargs):
    """One Bot API call, its errors told in the delivery errors the pacer and the worker act on."""
    try:
        return await method(**kwargs)
    except TelegramError as exc:
        raise _translate(exc) from exc


class TelegramPlatform:
    name = "telegram"
    limits = Limits(per_second=30, per_chat_per_second=1, per_group_per_minute=20)

    def __init__(self, config: TelegramConfig, commands: Commands):
        self.config = config
        self.commands = commands
        self.pacer = Pacer(self.limits, self.is_group)
        # A pool as wide as the delivery worker's concurrency: with PTB's default of one
        # connection, sends queue up in the client and reach Telegram in bursts over its limit.
        # Updates are handled side by side: one chat's reply waiting for its turn (or a "retry
        # after") must not hold up every other chat's; the pacer keeps each chat's in order.
        builder = (Application.builder().token(config.token).connect_timeout(10).read_timeout(20)
                   .connection_pool_size(16).pool_timeout(30).concurrent_updates(True))
        if config.api_url:
            builder = builder.base_url(config.api_url)
        self.app = builder.build()
        self.app.add_handler(CommandHandler([c.name for c in COMMANDS], self._on_command))
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, self._on_command))
        self.app.add_error_handler(self._on_error)
        self._previews = LinkPreviewOptions(is_disabled=not config.link_previews)
        self._receiving = False  # whether this instance should be taking updates now
        self._api = ApiCheck("Telegram", self.app.bot.get_me)

    async def start(self, receive: bool = True) -> None:
        """Connect; with `receive`, also take updates (else start_receiving does, later)."""
        try:
            await self.app.initialize()  # getMe: fails fast on a wrong token
        except InvalidToken:
            raise SystemExit("Telegram rejected TELEGRAM_BOT_TOKEN (401/404): check the token from @BotFather")
        try:
            await self.app.bot.set_my_commands(menu())
        except TelegramError as exc:
            log.warning("could not register the command list with Telegram (%s); running on", exc)
        for channel in self.config.channels:
            await asyncio.to_thread(self.commands.store.subscribe, self.name, channel)
        await self.app.start()
        log.info("Telegram bot @%s is running (%s)", self.app.bot.username,
                 "webhook" if self.config.webhook_url else "long polling")
        if receive:
            await self.start_receiving()

    @property
    def single_receiver(self) -> bool:
        """Long polling: two getUpdates with one token end each other's (409) and may both answer
        one command, so only one instance may receive. A webhook gets each update POSTed once to
        its URL, to whichever instance stands behind it: every instance may listen."""
        return not self.config.webhook_url

    async def start_receiving(self) -> None:
        self._receiving = True
        if self.app.updater.running:
            return
        if self.config.webhook_url:
            await self.app.updater.start_webhook(
                listen=self.config.webhook_listen, port=self.config.webhook_port, url_path="telegram",
                webhook_url=self.config.webhook_url, secret_token=self.config.webhook_secret or None)
        else:
            await self.app.updater.start_polling(allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY,
                                                                  Update.CHANNEL_POST])

    async def connected(self) -> bool:
        # The application sends; the updater fetches updates (long polling) or serves the webhook, but
        # only while this instance is meant to receive: a follower on a shared database does not.
        receiving = not self._receiving or bool(self.app.updater and self.app.updater.running)
        return self.app.running and receiving and await self._api()

    async def stop_receiving(self) -> None:
        """Stop taking updates; PTB confirms the last one's offset first, so the next receiver
        does not get it again."""
        self._receiving = False
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()

    async def stop(self) -> None:
        await self.stop_receiving()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # --- commands ----------------------------------------------------------------------
    async def _caller(self, message: Message, user_id: int | None, needs_admin: bool) -> Caller:
        chat = message.chat
        is_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        thread = str(message.message_thread_id) if message.is_topic_message and message.message_thread_id else ""
        is_admin: bool | None = True
        if is_group and needs_admin:
            if message.sender_chat and message.sender_chat.id == chat.id:
                is_admin = True  # an anonymous administrator posts as the group itself
            elif user_id is None:
                is_admin = False
            else:
                try:
                    member = await self.app.bot.get_chat_member(chat.id, user_id)
                    is_admin = member.status in _ADMINS
                except TelegramError as exc:  # Commands refuses politely; the next try asks again
                    log.warning("Telegram getChatMember for user %s in chat %s failed (%s); the change of "
                                "subscription is refused for now", user_id, chat.id, exc)
                    is_admin = None
        return Caller(self.name, str(chat.id), thread, is_admin=is_admin, is_group=is_group)

    async def _answer(self, message: Message, user_id: int | None, text: str) -> None:
        word = text.split()[0].lstrip("/").split("@")[0].lower() if text.split() else ""
        chat_id = str(message.chat.id)
        command = command_in(text)
        async with self.pacer.in_order(chat_id):
            caller = await self._caller(message, user_id, needs_admin=bool(command and command.admins))
            reply = await asyncio.to_thread(self.commands.handle, caller, text)
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=cmd)]
                                           for label, cmd in reply.buttons]) if reply.buttons else None
            await self.pacer.reply(chat_id, lambda: _call(
                message.reply_text, text=render_html(reply), parse_mode=ParseMode.HTML, reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                do_quote=reply.private and message.chat.type != ChatType.PRIVATE),
                f"telegram chat {chat_id}: reply to /{word}")
            if reply.image is not None:  # after the text, which stands alone if the picture fails
                await self.pacer.reply(chat_id, lambda: _call(
                    message.reply_photo, photo=reply.image.png, caption=reply.image.caption, do_quote=False),
                    f"telegram chat {chat_id}: picture for /{word}")

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        user = update.effective_user
        await self._answer(message, user.id if user else None, message.text)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        chat_id = str(update.effective_chat.id) if update.effective_chat else "?"
        # Answering stops the button's spinner; it is no chat message, so it skips the pacing.
        await self.pacer.reply(chat_id, lambda: _call(query.answer),
                               f"telegram chat {chat_id}: answer to button {query.data!r}", paced=False)
        if query.data in BY_NAME and isinstance(query.message, Message):
            await self._answer(query.message, query.from_user.id, f"/{query.data}")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else "?"
        log.error("Telegram handler failed in chat %s: %s", chat, context.error,
                  exc_info=not isinstance(context.error, NetworkError))

    # --- delivery ----------------------------------------------------------------------
    async def send(self, chat_id: str, thread_id: str, reply: Reply, reply_to: str | None = None) -> str:
        # A follow-up still goes out if the story's message was deleted meanwhile, just not as a reply.
        replying = ReplyParameters(int(reply_to), allow_sending_without_reply=True) if reply_to else None
        message = await _call(self.app.bot.send_message, chat_id=_chat(chat_id), text=render_html(reply),
                              parse_mode=ParseMode.HTML, message_thread_id=int(thread_id) if thread_id else None,
                              link_preview_options=self._previews, reply_parameters=replying)
        return str(message.message_id)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        try:
            await self.app.bot.edit_message_text(chat_id=_chat(chat_id), message_id=int(message_id),
                                                 text=render_html(reply), parse_mode=ParseMode.HTML,
                                                 link_preview_options=self._previews)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise _translate(exc) from exc
        except TelegramError as exc:
            raise _translate(exc) from exc

    def is_group(self, chat_id: str) -> bool:
        return chat_id.startswith("-") or chat_id.startswith("@")


def _translate(exc: TelegramError) -> Exception:
    """python-telegram-bot's errors, in the order that matters (ChatMigrated and RetryAfter first;
    BadRequest and TimedOut are NetworkErrors, so they come before it)."""
    if isinstance(exc, ChatMigrated):
        return ChatMoved(str(exc.new_chat_id))
    if isinstance(exc, RetryAfter):
        return RetryLater(_seconds(exc.retry_after), "Telegram flood control")
    if isinstance(exc, Forbidden):
        return ChatGone(exc.message)
    if isinstance(exc, BadRequest):
        if "chat not found" in exc.message.lower():
            return ChatGone(exc.message)
        return Rejected(exc.message)
    if isinstance(exc, (NetworkError, InvalidToken)):
        return Transient(exc.message)
    return Rejected(exc.message)
