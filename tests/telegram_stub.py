"""A stand-in for the Telegram Bot API: a real HTTP server on loopback for the real python-telegram-bot.

Point PTB at it with ``ApplicationBuilder().token(stub.token).base_url(stub.base_url)`` or
``telegram.Bot(stub.token, base_url=stub.base_url)``; PTB then calls
``http://127.0.0.1:PORT/bot<token>/<method>``.

How PTB 22 talks to the Bot API (telegram/request/_requestdata.py, _httpxrequest.py): every call is a
POST with an ``application/x-www-form-urlencoded`` body (``multipart/form-data`` when files are
uploaded) in which every value is a string: strings as they are, everything else JSON-dumped
(ints -> "123", bools -> "true", nested objects such as ``reply_markup``, ``link_preview_options``,
``commands``, ``scope`` -> a JSON object string).  The stub also accepts JSON bodies and query strings
like the real Bot API does.  Answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``; PTB maps the HTTP status
and ``parameters`` to exceptions (telegram/request/_baserequest.py): 400 -> BadRequest,
403 -> Forbidden, 401/404 -> InvalidToken (EndPointNotFound for ``do_api_request``), 409 -> Conflict,
anything else -> NetworkError, ``parameters.retry_after`` -> RetryAfter,
``parameters.migrate_to_chat_id`` -> ChatMigrated.

HTML is checked the way TDLib (which the Bot API server runs on) does it, with its error texts.  One
deliberate difference: by default (``strict_ampersand=True``) a bare ``&`` that does not start one
of ``&lt; &gt; &amp; &quot;`` or a numeric reference is an error here, while real Telegram keeps it
as a literal ``&``; set ``stub.strict_ampersand = False`` for Telegram's behaviour.

Everything a test reads or sets is guarded by one lock; the server runs in a background thread
(one thread per connection), so a long-polling ``getUpdates`` can be held open while other calls
are answered.
"""
from __future__ import annotations

import asyncio
import collections
import copy
import email.parser
import email.policy
import itertools
import json
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "DEFAULT_TOKEN",
    "HtmlParseError",
    "MESSAGE_NOT_MODIFIED",
    "TelegramStub",
    "parse_html",
]

DEFAULT_TOKEN = "123456789:AAStubTokenForDealtickerTests-0123456"
ARRIVAL_JITTER = 0.05  # seconds of lateness in reading a request's arrival that the rate limits forgive

MESSAGE_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
MESSAGE_TOO_LONG = "Bad Request: message is too long"
MESSAGE_TEXT_EMPTY = "Bad Request: message text is empty"
BLOCKED = "Forbidden: bot was blocked by the user"
KICKED = "Forbidden: bot was kicked from the group chat"
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: POLL_CONFLICT,
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# Form values that stay strings even when they look like numbers or JSON.
_STRING_FIELDS = frozenset(
    """text caption parse_mode caption_parse_mode callback_query_id inline_message_id url secret_token
    language_code business_connection_id message_effect_id ip_address custom_title title description
    short_description name query emoji data sticker photo document audio video voice animation
    video_note thumbnail media file_id question explanation explanation_parse_mode
    question_parse_mode payload currency provider_token start_parameter switch_pm_text
    switch_pm_parameter next_offset game_short_name invite_link address first_name last_name
    phone_number vcard foursquare_id foursquare_type google_place_id google_place_type
    shipping_query_id pre_checkout_query_id error_message web_app_query_id""".split()
)
# Parameters that carry JSON objects/arrays (decoded even when a JSON body sends them as strings).
_JSON_FIELDS = frozenset(
    """reply_markup link_preview_options entities caption_entities commands scope reply_parameters
    allowed_updates reaction media results options""".split()
)

_SPACE = " \t\r\n\0\v"  # TDLib's is_space(); "\0" doubles as the end of the text


# --------------------------------------------------------------------------------------------
# HTML parse mode, after TDLib's parse_html (td/telegram/MessageEntity.cpp)
# --------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """The text after "Bad Request: can't parse entities: "."""


_SUPPORTED_TAGS = frozenset(
    "a b strong i em s strike del u ins tg-spoiler tg-emoji span pre code blockquote".split()
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HEX = "0123456789abcdefABCDEF"


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and lengths."""
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """TDLib's decode_html_entity: (character, position after it) or (None, pos)."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        value = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in _HEX:
                value = value * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and text[end].isascii() and text[end].isdigit():
                value = value * 10 + int(text[end])
                end += 1
        if value == 0 or value >= 0x10FFFF or end - pos >= 10 or 0xD800 <= value <= 0xDFFF:
            return None, pos
        char = chr(value)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        char = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if char is None:
            return None, pos
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into (plain text, Bot API MessageEntity dicts); raise HtmlParseError.

    Offsets and lengths are in UTF-16 code units like Telegram's.  Leading/trailing whitespace is
    not trimmed here (sendMessage does that afterwards, as Telegram does).
    """
    n = len(text)

    def at(i: int) -> str:
        return text[i] if i < n else "\0"

    def byte_offset(i: int) -> int:
        return len(text[:i].encode("utf-8", "surrogatepass"))

    out: list[str] = []
    u16 = 0
    entities: list[dict] = []
    stack: list[dict] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            char, after = _decode_entity(text, i)
            if char is not None:
                out.append(char)
                u16 += utf16_len(char)
                i = after
                continue
            if strict_ampersand:
                raise HtmlParseError(
                    f'Unsupported HTML entity at byte offset {byte_offset(i)}: a bare "&" must be written "&amp;"'
                )
        if c != "<":
            out.append(c)
            u16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # a start tag
            while at(i) not in _SPACE and at(i) != ">":
                i += 1
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _SUPPORTED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            attrs: dict[str, str] = {}
            while at(i) != ">":
                while i < n and at(i) in _SPACE:
                    i += 1
                if at(i) == ">":
                    break
                name_begin = i
                while at(i) not in _SPACE and at(i) != "=" and at(i) != ">":
                    i += 1
                name = text[name_begin:i].lower()
                if not name:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                while i < n and at(i) in _SPACE:
                    i += 1
                if i >= n:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                if at(i) != "=":  # an attribute without a value, e.g. <blockquote expandable>
                    attrs[name] = ""
                    continue
                i += 1
                while i < n and at(i) in _SPACE:
                    i += 1
                if i >= n:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                if at(i) not in "'\"":
                    token_begin = i
                    while (at(i).isascii() and at(i).isalnum()) or at(i) in ".-":
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACE and at(i) != ">":
                        raise HtmlParseError(
                            f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            char, after = _decode_entity(text, i)
                            if char is not None:
                                chars.append(char)
                                i = after
                                continue
                        chars.append(text[i])
                        i += 1
                    if i < n:
                        i += 1  # the closing quote
                    value = "".join(chars)
                if i >= n:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                attrs[name] = value
            argument = ""
            if tag == "a":
                argument = attrs.get("href", "")
            elif tag == "code" and attrs.get("class", "").startswith("language-"):
                argument = attrs["class"][len("language-") :]
            elif tag == "span":
                if attrs.get("class") != "tg-spoiler":
                    raise HtmlParseError(
                        f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                    )
            elif tag == "blockquote" and "expandable" in attrs:
                argument = "1"
            elif tag == "tg-emoji":
                argument = attrs.get("emoji-id", "")
            stack.append({"tag": tag, "argument": argument, "offset": u16, "out_pos": len(out)})
            i += 1  # past ">"
            continue

        # an end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        while at(i) not in _SPACE and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while i < n and at(i) in _SPACE:
            i += 1
        if at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        top = stack.pop()
        tag = top["tag"]
        if end_name and end_name != tag:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{tag}>", found "</{end_name}>"'
            )
        i += 1  # past ">"
        if tag == "tg-emoji" and not (top["argument"].isascii() and top["argument"].isdigit() and int(top["argument"]) > 0):
            raise HtmlParseError("Invalid custom emoji identifier specified")
        offset, length = top["offset"], u16 - top["offset"]
        if length <= 0:
            continue
        if tag == "a":
            url = top["argument"] or "".join(out[top["out_pos"] :])
            if url:
                entities.append({"type": "text_link", "offset": offset, "length": length, "url": url})
        elif tag == "blockquote":
            kind = "expandable_blockquote" if top["argument"] else "blockquote"
            entities.append({"type": kind, "offset": offset, "length": length})
        elif tag == "tg-emoji":
            entities.append(
                {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": top["argument"]}
            )
        elif tag == "pre":
            last = entities[-1] if entities else None
            if last and last["type"] == "code" and last["offset"] == offset and last["length"] == length and last.get("language"):
                last["type"] = "pre"
            else:
                entities.append({"type": "pre", "offset": offset, "length": length})
        elif tag == "code":
            last = entities[-1] if entities else None
            if last and last["type"] == "pre" and last["offset"] == offset and last["length"] == length and top["argument"]:
                last["language"] = top["argument"]
            else:
                entity = {"type": "code", "offset": offset, "length": length}
                if top["argument"]:
                    entity["language"] = top["argument"]
                entities.append(entity)
        else:
            entities.append({"type": _ENTITY_TYPES[tag], "offset": offset, "length": length})
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Telegram strips leading and trailing whitespace from message texts; entities follow."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def _command_entities(text: str) -> list[dict]:
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def _picture_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of PNG or JPEG bytes, read from their headers; None for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):  # start of frame: height, then width
                return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
            i += 2 + length
    return None


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict | None = None, reason: str = "api"):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.reason = reason


class _Drop(Exception):
    """Close the connection without an answer."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):  # connections cut by either side are normal here
        pass


def _norm_chat_id(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_FIELDS:
        return value
    s = value.strip()
    if s in ("true", "false"):
        return s == "true"
    if s == "null":
        return None
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    if re.fullmatch(r"-?\d+\.\d*(?:[eE][-+]?\d+)?", s):
        return float(s)
    if s[:1] in ("{", "["):
        try:
            return json.loads(s)
        except ValueError:
            return value
    return value


class TelegramStub:
    """The Bot API on 127.0.0.1 for one bot token.  See the module docstring."""

    # ---- lifecycle ---------------------------------------------------------------------

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "dealticker_test_bot",
        bot_first_name: str = "Dealticker Test",
        bot_id: int | None = None,
        strict_ampersand: bool = True,
        max_text_length: int = 4096,
    ):
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id: int = bot_id if bot_id is not None else (int(head) if head.isdigit() else 123456789)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_ampersand = strict_ampersand
        self.max_text_length = max_text_length

        # Settable state (read under no lock by the server only through the lock-protected methods)
        self.admins: dict[int, set[int]] = {}
        self.owners: dict[int, int] = {}
        self.blocked: set[int] = set()
        self.kicked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self._member_status: dict[tuple[Any, int], str] = {}

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._stop_event = threading.Event()
        self._stopping = False
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._busy: set[socket.socket] = set()

        self._calls: list[tuple[str, dict]] = []
        self._hosts: list[tuple[str, str]] = []  # (method, Host header): tells two clients apart
        self._sent: list[dict] = []
        self._photos: list[dict] = []
        self._edits: list[dict] = []
        self._deletes: list[dict] = []
        self._callback_answers: list[dict] = []
        self._failures: list[dict] = []
        self._command_sets: list[dict] = []
        self._commands: dict[str, list[dict]] = {}
        self._rules: list[dict] = []
        self._rate_limited = 0
        self._drops = 0

        self._updates: list[dict] = []
        self._update_ids = itertools.count(100001)
        self._poll_generation = 0
        self._webhook: dict | None = None
        self._chats: dict[int, dict] = {}
        self._users: dict[int, dict] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._bot_messages: set[tuple[int, int]] = set()
        self._next_message_id: dict[int, int] = {}
        self._photo_sizes: dict[str, tuple[int, int]] = {}  # file_id -> (width, height)
        self._callback_ids = itertools.count(4650000000000000001)
        self._open_callbacks: set[str] = set()
        self._inline_texts: dict[str, dict] = {}
        self._username_ids = itertools.count(1)

        self._limits: tuple[int | None, int | None, int | None] | None = None
        self._rate_all: collections.deque = collections.deque()
        self._rate_chat: dict[Any, collections.deque] = {}
        self._rate_group: dict[Any, collections.deque] = {}

        self._methods = {
            name.lower(): (name, getattr(self, "_m_" + name))
            for name in (
                "getMe logOut close deleteWebhook setWebhook getWebhookInfo setMyCommands getMyCommands "
                "deleteMyCommands getUpdates sendMessage editMessageText editMessageReplyMarkup "
                "deleteMessage getChatMember getChat answerCallbackQuery sendChatAction sendPhoto"
            ).split()
        }

    def start(self) -> "TelegramStub":
        if self._httpd is not None:
            return self
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def setup(self):
                super().setup()
                try:  # answers are small: don't let Nagle + delayed ACKs add 40 ms to each call
                    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
                with stub._lock:
                    stub._conns.add(self.connection)

            def finish(self):
                try:
                    super().finish()
                except OSError:
                    pass
                with stub._lock:
                    stub._conns.discard(self.connection)

            def do_GET(self):
                stub._serve(self)

            do_POST = do_GET

        self._stopping = False
        self._stop_event.clear()
        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="telegram-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; held getUpdates calls return [] at once, injected delays are cut short."""
        httpd = self._httpd
        if httpd is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._stop_event.set()
        httpd.shutdown()
        deadline = time.monotonic() + 2.0
        with self._cond:  # let calls being answered (e.g. the woken long polls) finish writing
            while self._busy and time.monotonic() < deadline:
                self._cond.wait(0.05)
            conns = list(self._conns)
        for conn in conns:  # idle keep-alive connections would otherwise linger
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "TelegramStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("TelegramStub is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """For ``base_url=``: PTB appends the token and "/<method>"."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/bot<token>`` — append "/<method>" for raw HTTP calls."""
        return f"{self.base_url}{self.token}"

    # ---- test controls: injecting updates ------------------------------------------------

    def push_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        chat_type: str = "private",
        thread_id: int | None = None,
        is_topic_message: bool = False,
        username: str | None = None,
        *,
        first_name: str | None = None,
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        """Queue an Update with a Message (``channel_post`` for channels); return the Update dict.

        ``user_id`` defaults to ``chat_id`` in private chats and to 4242 elsewhere.  A text starting
        with "/" gets a ``bot_command`` entity (offset 0, length of "/cmd" or "/cmd@botname").
        """
        if chat_type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat_type {chat_type!r}")
        with self._cond:
            chat = self._register_chat(chat_id, chat_type, title=chat_title, is_forum=is_topic_message or None)
            message: dict[str, Any] = {
                "message_id": self._take_message_id(chat_id),
                "date": int(time.time()),
                "chat": copy.deepcopy(chat),
                "text": text,
            }
            if chat_type == "channel":
                message["sender_chat"] = copy.deepcopy(chat)
            else:
                if user_id is None:
                    user_id = chat_id if chat_type == "private" else 4242
                message["from"] = self._register_user(user_id, username=username, first_name=first_name)
                if chat_type == "private":
                    self._chats[chat_id].setdefault("first_name", message["from"]["first_name"])
                    if username:
                        self._chats[chat_id]["username"] = username
                    message["chat"] = copy.deepcopy(self._chats[chat_id])
            ents = entities if entities is not None else _command_entities(text)
            if ents:
                message["entities"] = copy.deepcopy(ents)
            if thread_id is not None:
                message["message_thread_id"] = thread_id
            if is_topic_message:
                message["is_topic_message"] = True
            if reply_to_message_id is not None:
                replied = self._messages.get((chat_id, reply_to_message_id))
                if replied is not None:
                    message["reply_to_message"] = copy.deepcopy(replied)
            self._messages[(chat_id, message["message_id"])] = message
            kind = "channel_post" if chat_type == "channel" else "message"
            return self._queue_update({kind: copy.deepcopy(message)})

    def push_callback(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        message_id: int | None = None,
        chat_type: str = "private",
        *,
        username: str | None = None,
        first_name: str | None = None,
    ) -> dict:
        """Queue an Update with a CallbackQuery on a bot message; return the Update dict.

        The message is the stored one with ``message_id`` (as last sent or edited), by default the
        newest message the bot sent to the chat; when there is none, a bot message is made up.  The
        query's id is in ``update["callback_query"]["id"]`` and may be answered once.
        """
        with self._cond:
            self._register_chat(chat_id, chat_type)
            if message_id is None:
                own = [mid for (cid, mid) in self._bot_messages if cid == chat_id]
                message_id = max(own) if own else None
            message = self._messages.get((chat_id, message_id)) if message_id is not None else None
            if message is None:
                message = self._new_message(chat_id, "stub message", [], message_id=message_id)
            query_id = str(next(self._callback_ids))
            self._open_callbacks.add(query_id)
            query = {
                "id": query_id,
                "from": self._register_user(user_id, username=username, first_name=first_name),
                "chat_instance": str(abs(chat_id) * 31 + 7),
                "message": copy.deepcopy(message),
                "data": data,
            }
            return self._queue_update({"callback_query": query})

    def push_update(self, update: dict) -> dict:
        """Queue any Update dict (its update_id is assigned here); return it."""
        with self._cond:
            body = {k: v for k, v in update.items() if k != "update_id"}
            return self._queue_update(copy.deepcopy(body))

    # ---- test controls: failures and limits ------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        description: str | None = None,
        times: int | None = 1,
        chat_id: int | str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" = any; None = until clear_failures())
        — only those for ``chat_id`` if given — with an error.

        Default descriptions: 429 "Too Many Requests: retry after N" (retry_after defaults to 1),
        403 "Forbidden: bot was blocked by the user", 400 with migrate_to_chat_id "Bad Request: group
        chat was upgraded to a supergroup chat", 500 "Internal Server Error", 502 "Bad Gateway".
        """
        parameters: dict[str, int] = {}
        if status == 429 and retry_after is None:
            retry_after = 1
        if retry_after is not None:
            parameters["retry_after"] = int(retry_after)
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = int(migrate_to_chat_id)
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {parameters['retry_after']}"
            elif migrate_to_chat_id is not None:
                description = MIGRATED
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        self._add_rule("fail", method, times, chat_id, status=status, description=description,
                       parameters=parameters or None)

    def drop(self, method: str, times: int | None = 1, chat_id: int | str | None = None) -> None:
        """Close the connection of the next ``times`` calls of ``method`` without answering."""
        self._add_rule("drop", method, times, chat_id)

    def delay(self, method: str, seconds: float, times: int | None = 1, chat_id: int | str | None = None) -> None:
        """Hold the answer of the next ``times`` calls of ``method`` for ``seconds`` (then answer)."""
        self._add_rule("delay", method, times, chat_id, seconds=float(seconds))

    def clear_failures(self) -> None:
        """Forget all pending fail()/drop()/delay() rules."""
        with self._lock:
            self._rules.clear()

    def block(self, chat_id: int) -> None:
        """From now on every send/edit to ``chat_id`` gets 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            self.blocked.add(_norm_chat_id(chat_id))

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """From now on sends to ``old_chat_id`` get 400 with parameters.migrate_to_chat_id."""
        with self._lock:
            self.migrated[_norm_chat_id(old_chat_id)] = int(new_chat_id)
            old = self._chats.get(_norm_chat_id(old_chat_id), {})
            self._register_chat(int(new_chat_id), "supergroup", title=old.get("title"))

    def limit_rate(
        self,
        per_second: int | None = 30,
        per_chat_per_second: int | None = 1,
        per_group_per_minute: int | None = 20,
    ) -> None:
        """Enforce Telegram's sendMessage limits with sliding windows (None disables one limit).

        Calls over a limit get 429 "Too Many Requests: retry after N" with parameters.retry_after N
        (int >= 1, the time until the window has room again) and count in ``rate_limited``.  Only
        accepted messages count towards the windows.  "Group" means any chat with a negative id.
        """
        with self._lock:
            self._limits = (per_second, per_chat_per_second, per_group_per_minute)
            self._rate_all.clear()
            self._rate_chat.clear()
            self._rate_group.clear()

    def unlimit_rate(self) -> None:
        with self._lock:
            self._limits = None

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Pin getChatMember's answer: "creator", "administrator", "member", "restricted", "left"
        or "kicked" (creator/administrator also update ``owners``/``admins``)."""
        if status not in ("creator", "administrator", "member", "restricted", "left", "kicked"):
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            chat_id, user_id = _norm_chat_id(chat_id), int(user_id)
            self.admins.setdefault(chat_id, set()).discard(user_id)
            if self.owners.get(chat_id) == user_id:
                del self.owners[chat_id]
            self._member_status.pop((chat_id, user_id), None)
            if status == "creator":
                self.owners[chat_id] = user_id
            elif status == "administrator":
                self.admins[chat_id].add(user_id)
            elif status != "member":
                self._member_status[(chat_id, user_id)] = status

    # ---- test controls: reading what happened ------------------------------------------

    def sent(self, chat_id: int | str | None = None) -> list[dict]:
        """Accepted sendMessage calls, oldest first, as dicts: chat_id (int), text (as sent),
        plain_text (after entity parsing and trimming), entities, parse_mode, message_thread_id,
        reply_markup (decoded dict), link_preview_options (dict), disable_web_page_preview (as sent,
        else link_preview_options["is_disabled"]), disable_notification, message_id, message (the
        Message dict returned), params (all decoded params), time."""
        with self._lock:
            chat_id = _norm_chat_id(chat_id)
            return copy.deepcopy([r for r in self._sent if chat_id is None or r["chat_id"] == chat_id])

    def photos(self, chat_id: int | str | None = None) -> list[dict]:
        """Accepted sendPhoto calls, oldest first: chat_id, data (the uploaded bytes; None for a file_id or
        URL), filename, width, height, caption (as sent), plain_caption, caption_entities,
        message_thread_id, reply_parameters, message_id, message (the Message returned), params, time."""
        with self._lock:
            chat_id = _norm_chat_id(chat_id)
            return copy.deepcopy([r for r in self._photos if chat_id is None or r["chat_id"] == chat_id])

    async def wait_photos_async(self, count: int = 1, chat_id: int | str | None = None,
                                timeout: float = 5.0) -> list[dict]:
        """Yield to the event loop until ``count`` photos were sent (to ``chat_id``); return photos(chat_id)."""
        deadline = time.monotonic() + timeout
        while len(got := self.photos(chat_id)) < count:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(got)} of {count} photos sent after {timeout}s")
            await asyncio.sleep(0.01)
        return got

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        """The raw ``text`` of accepted sendMessage calls."""
        return [r["text"] for r in self.sent(chat_id)]

    @property
    def edits(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._edits)

    @property
    def deletes(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._deletes)

    @property
    def commands(self) -> list[dict]:
        """The commands set for the default scope and no language ([] before setMyCommands)."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(None, None), []))

    def commands_for(self, scope: dict | None = None, language_code: str | None = None) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    @property
    def command_sets(self) -> list[dict]:
        """Every accepted setMyCommands call: {"commands", "scope", "language_code"}."""
        with self._lock:
            return copy.deepcopy(self._command_sets)

    @property
    def callback_answers(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._callback_answers)

    @property
    def calls(self) -> list[tuple[str, dict]]:
        """Every request, answered or not: (method name, decoded params), oldest first."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def hosts_of(self, method: str) -> list[str]:
        """The Host header of every call of ``method``, oldest first: clients given base URLs with
        different host names ("127.0.0.1", "localhost") can be told apart by it."""
        with self._lock:
            return [h for m, h in self._hosts if m.lower() == method.lower()]

    def calls_of(self, method: str) -> list[dict]:
        """The params of every call of ``method`` (case-insensitive)."""
        with self._lock:
            return copy.deepcopy([p for m, p in self._calls if m.lower() == method.lower()])

    @property
    def failures(self) -> list[dict]:
        """Every error answer: {"method", "params", "status", "description", "parameters", "reason"}
        with reason "injected", "rate_limit (overall|chat|group)", "api" (validation, unknown ids, ...), "blocked",
        "migrated", "unauthorized" or "not_found"; drops are listed with status None."""
        with self._lock:
            return copy.deepcopy(self._failures)

    @property
    def rate_limited(self) -> int:
        """How many 429s limit_rate() has given."""
        with self._lock:
            return self._rate_limited

    @property
    def drops(self) -> int:
        with self._lock:
            return self._drops

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def webhook_url(self) -> str:
        with self._lock:
            return self._webhook["url"] if self._webhook else ""

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """The stored Message (as last sent/edited), or None."""
        with self._lock:
            return copy.deepcopy(self._messages.get((_norm_chat_id(chat_id), message_id)))

    def reset(self) -> None:
        """Forget recorded calls, sends, edits, answers, failures and rules (not chats/messages)."""
        with self._lock:
            for lst in (self._calls, self._hosts, self._sent, self._photos, self._edits, self._deletes,
                        self._callback_answers,
                        self._failures, self._command_sets, self._rules):
                lst.clear()
            self._rate_limited = 0
            self._drops = 0

    # ---- waiting (blocking for threads, *_async for code on the bot's event loop) -------

    def wait_sent(self, count: int = 1, chat_id: int | str | None = None, timeout: float = 5.0) -> list[dict]:
        """Block until at least ``count`` messages were sent (to ``chat_id``); return sent(chat_id).
        Raises TimeoutError.  Do not call this on the event loop the bot runs on: use wait_sent_async."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = self.sent(chat_id)
                if len(got) >= count:
                    return got
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(got)} of {count} messages sent after {timeout}s: {got!r}")
                self._cond.wait(remaining)

    async def wait_sent_async(
        self, count: int = 1, chat_id: int | str | None = None, timeout: float = 5.0
    ) -> list[dict]:
        """Like wait_sent, but yields to the event loop while waiting."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.sent(chat_id)
            if len(got) >= count:
                return got
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(got)} of {count} messages sent after {timeout}s: {got!r}")
            await asyncio.sleep(0.01)

    def wait_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
        """Block until ``method`` was called ``count`` times; return calls_of(method)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = self.calls_of(method)
                if len(got) >= count:
                    return got
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{method} called {len(got)} of {count} times after {timeout}s")
                self._cond.wait(remaining)

    async def wait_calls_async(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.calls_of(method)
            if len(got) >= count:
                return got
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{method} called {len(got)} of {count} times after {timeout}s")
            await asyncio.sleep(0.01)

    # ---- HTTP plumbing ------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self._busy.add(handler.connection)
        try:
            self._serve_one(handler)
        finally:
            with self._cond:
                self._busy.discard(handler.connection)
                self._cond.notify_all()

    def _serve_one(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            body = self._read_body(handler)
        except (OSError, ValueError):
            handler.close_connection = True
            return
        url = urlsplit(handler.path)
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", url.path)
        if not match:
            self._write(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method_name = match.groups()
        try:
            params = self._parse_params(handler, url.query, body)
        except ValueError as exc:
            self._write(handler, 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"})
            return
        known = self._methods.get(method_name.lower())
        name = known[0] if known else method_name
        with self._cond:
            self._calls.append((name, copy.deepcopy(params)))
            self._hosts.append((name, handler.headers.get("Host", "")))
            self._cond.notify_all()
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized", reason="unauthorized")
            if known is None:
                raise ApiError(404, "Not Found", reason="not_found")
            self._apply_rules(name, params)
            result = known[1](params)
            description = None
            if isinstance(result, tuple):
                result, description = result
            payload = {"ok": True, "result": result}
            if description:
                payload["description"] = description
            self._write(handler, 200, payload)
        except _Drop:
            with self._cond:
                self._drops += 1
                self._failures.append({"method": name, "params": copy.deepcopy(params), "status": None,
                                       "description": "connection dropped", "parameters": None,
                                       "reason": "injected"})
                self._cond.notify_all()
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except ApiError as err:
            payload = {"ok": False, "error_code": err.status, "description": err.description}
            if err.parameters:
                payload["parameters"] = err.parameters
            with self._cond:
                self._failures.append({"method": name, "params": copy.deepcopy(params), "status": err.status,
                                       "description": err.description, "parameters": err.parameters,
                                       "reason": err.reason})
                self._cond.notify_all()
            self._write(handler, err.status, payload)

    @staticmethod
    def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    @staticmethod
    def _parse_params(handler: BaseHTTPRequestHandler, query: str, body: bytes) -> dict:
        params: dict[str, Any] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params[key] = _decode_form_value(key, value)
        ctype = handler.headers.get("Content-Type", "")
        kind = ctype.split(";")[0].strip().lower()
        if not body:
            pass
        elif kind == "application/json":
            try:
                data = json.loads(body.decode("utf-8"))
            except ValueError as exc:
                raise ValueError("can't parse JSON object") from exc
            if not isinstance(data, dict):
                raise ValueError("JSON object expected")
            for key, value in data.items():
                if key in _JSON_FIELDS and isinstance(value, str):
                    try:
                        value = json.loads(value)
                    except ValueError:
                        pass
                params[key] = value
        elif kind == "multipart/form-data":
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if not name:
                    continue
                filename = part.get_filename()
                payload = part.get_payload(decode=True) or b""
                if filename is not None:
                    params[name] = {"filename": filename, "content_type": part.get_content_type(),
                                    "size": len(payload), "data": payload}
                else:
                    charset = part.get_content_charset() or "utf-8"
                    params[name] = _decode_form_value(name, payload.decode(charset))
        else:  # application/x-www-form-urlencoded, PTB's normal way
            for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
                params[key] = _decode_form_value(key, value)
        if "chat_id" in params:
            params["chat_id"] = _norm_chat_id(params["chat_id"])
        return params

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:  # the client went away (e.g. a cancelled long poll)
            handler.close_connection = True

    # ---- rules ---------------------------------------------------------------------------

    def _add_rule(self, kind: str, method: str, times: int | None, chat_id: Any, **extra) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._rules.append({"kind": kind, "method": method.lower(), "times": times,
                                "chat_id": _norm_chat_id(chat_id), **extra})

    def _take_rule(self, kind: str, method: str, params: dict) -> dict | None:
        for rule in self._rules:
            if rule["kind"] != kind or rule["method"] not in ("*", method.lower()):
                continue
            if rule["chat_id"] is not None and rule["chat_id"] != params.get("chat_id"):
                continue
            if rule["times"] is not None:
                rule["times"] -= 1
                if rule["times"] <= 0:
                    self._rules.remove(rule)
            return rule
        return None

    def _apply_rules(self, method: str, params: dict) -> None:
        with self._lock:
            delay = self._take_rule("delay", method, params)
        if delay:
            self._stop_event.wait(delay["seconds"])
        with self._lock:
            if self._take_rule("drop", method, params):
                raise _Drop()
            rule = self._take_rule("fail", method, params)
        if rule:
            raise ApiError(rule["status"], rule["description"], copy.deepcopy(rule["parameters"]), reason="injected")

    # ---- model helpers (call with the lock held) ---------------------------------------

    def _queue_update(self, body: dict) -> dict:
        update = {"update_id": next(self._update_ids), **body}
        self._updates.append(update)
        self._cond.notify_all()
        return copy.deepcopy(update)

    def _register_user(self, user_id: int, username: str | None = None, first_name: str | None = None) -> dict:
        user = self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        user.setdefault("language_code", "de")
        self._users[user_id] = user
        return copy.deepcopy(user)

    def _user(self, user_id: int) -> dict:
        if user_id == self.bot_id:
            return self._bot_user(full=False)
        return copy.deepcopy(self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"})

    def _bot_user(self, full: bool = True) -> dict:
        user = {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}
        if full:
            user.update({"can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False, "can_connect_to_business": False,
                         "has_main_web_app": False})
        return user

    def _register_chat(self, chat_id: int, chat_type: str | None, title: str | None = None,
                       is_forum: bool | None = None) -> dict:
        chat = self._chats.get(chat_id)
        if chat is None or (chat_type and chat["type"] != chat_type):
            chat = self._infer_chat(chat_id, chat_type)
            self._chats[chat_id] = chat
        if title and chat["type"] != "private":
            chat["title"] = title
        if is_forum and chat["type"] == "supergroup":
            chat["is_forum"] = True
        return chat

    @staticmethod
    def _infer_chat(chat_id: int, chat_type: str | None = None) -> dict:
        if chat_type is None:
            if chat_id > 0:
                chat_type = "private"
            elif chat_id <= -1000000000000:
                chat_type = "supergroup"
            else:
                chat_type = "group"
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"User{chat_id}"
        else:
            chat["title"] = f"{chat_type.capitalize()} {chat_id}"
        return chat

    def _resolve_chat(self, params: dict, required: bool = True) -> dict:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str):
            if not chat_id.startswith("@") or len(chat_id) < 2:
                raise ApiError(400, "Bad Request: chat not found")
            for chat in self._chats.values():
                if chat.get("username", "").lower() == chat_id[1:].lower():
                    return chat
            new_id = -1009900000000 - next(self._username_ids)
            chat = {"id": new_id, "type": "channel", "title": chat_id[1:], "username": chat_id[1:]}
            self._chats[new_id] = chat
            return chat
        if not isinstance(chat_id, int) or isinstance(chat_id, bool) or chat_id == 0:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id not in self._chats:
            self._chats[chat_id] = self._infer_chat(chat_id)
        return self._chats[chat_id]

    def _check_chat_state(self, chat_id: int) -> None:
        if chat_id in self.migrated:
            raise ApiError(400, MIGRATED, {"migrate_to_chat_id": self.migrated[chat_id]}, reason="migrated")
        if chat_id in self.blocked:
            raise ApiError(403, BLOCKED, reason="blocked")
        if chat_id in self.kicked:
            raise ApiError(403, KICKED, reason="blocked")

    def _take_message_id(self, chat_id: int) -> int:
        mid = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = mid + 1
        return mid

    def _new_message(self, chat_id: int, text: str, entities: list[dict], *, message_id: int | None = None,
                     thread_id: int | None = None, reply_markup: Any = None,
                     link_preview_options: Any = None) -> dict:
        if message_id is None:
            message_id = self._take_message_id(chat_id)
        else:
            self._next_message_id[chat_id] = max(self._next_message_id.get(chat_id, 1), message_id + 1)
        chat = self._chats[chat_id]
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(full=False),
            "date": int(time.time()),
            "chat": copy.deepcopy(chat),
            "text": text,
        }
        if chat["type"] == "channel":
            del message["from"]
            message["sender_chat"] = copy.deepcopy(chat)
        if entities:
            message["entities"] = copy.deepcopy(entities)
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        if isinstance(reply_markup, dict) and "inline_keyboard" in reply_markup:
            message["reply_markup"] = copy.deepcopy(reply_markup)
        if isinstance(link_preview_options, dict):
            message["link_preview_options"] = copy.deepcopy(link_preview_options)
        self._messages[(chat_id, message_id)] = message
        self._bot_messages.add((chat_id, message_id))
        return message

    def _format(self, params: dict) -> tuple[str, list[dict]]:
        raw = params.get("text")
        if raw is None or raw == "":
            raise ApiError(400, MESSAGE_TEXT_EMPTY)
        raw = raw if isinstance(raw, str) else json.dumps(raw)
        mode = params.get("parse_mode")
        entities: list[dict] = []
        if mode:
            lowered = str(mode).lower()
            if lowered == "html":
                try:
                    text, entities = parse_html(raw, strict_ampersand=self.strict_ampersand)
                except HtmlParseError as exc:
                    raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
            elif lowered in ("markdown", "markdownv2"):
                text = raw  # not checked by the stub
            else:
                raise ApiError(400, "Bad Request: unsupported parse_mode")
        else:
            text = raw
            if isinstance(params.get("entities"), list):
                entities = copy.deepcopy(params["entities"])
        text, entities = _trim(text, entities)
        if not text:
            raise ApiError(400, MESSAGE_TEXT_EMPTY)
        if len(text) > self.max_text_length:
            raise ApiError(400, MESSAGE_TOO_LONG)
        return text, entities

    def _check_rate(self, chat: dict) -> None:
        if not self._limits:
            return
        per_second, per_chat, per_group = self._limits
        now = time.monotonic()
        chat_id = chat["id"]
        waits = []
        windows = []

        def consider(name: str, dq: collections.deque, limit: int | None, window: float) -> None:
            if not limit:
                return
            # The arrival time is read in this server's thread of the test process, which under load
            # can be tens of milliseconds late for one request and not for the next: requests the
            # client spaced by the limit would then look closer together than they were sent.
            while dq and dq[0] <= now - window + ARRIVAL_JITTER:
                dq.popleft()
            if len(dq) >= limit:
                waits.append((dq[len(dq) - limit] + window - now, name))
            windows.append(dq)

        consider("overall", self._rate_all, per_second, 1.0)
        consider("chat", self._rate_chat.setdefault(chat_id, collections.deque()), per_chat, 1.0)
        if chat_id < 0:
            consider("group", self._rate_group.setdefault(chat_id, collections.deque()), per_group, 60.0)
        if waits:
            self._rate_limited += 1
            wait, limit = max(waits)
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry},
                           reason=f"rate_limit ({limit})")
        for dq in windows:
            dq.append(now)

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> str:
        if not scope or (isinstance(scope, dict) and scope.get("type") == "default" and len(scope) == 1):
            scope = {"type": "default"}
        return json.dumps([scope, language_code or ""], sort_keys=True)

    # ---- Bot API methods -----------------------------------------------------------------

    def _m_getMe(self, p):
        return self._bot_user(full=True)

    def _m_logOut(self, p):
        return True

    def _m_close(self, p):
        return True

    def _m_deleteWebhook(self, p):
        with self._cond:
            was_set = self._webhook is not None
            self._webhook = None
            if p.get("drop_pending_updates"):
                self._updates.clear()
            return True, ("Webhook was deleted" if was_set else "Webhook is already deleted")

    def _m_setWebhook(self, p):
        url = p.get("url") or ""
        with self._cond:
            if not url:
                was_set = self._webhook is not None
                self._webhook = None
                return True, ("Webhook was deleted" if was_set else "Webhook is already deleted")
            if not str(url).startswith("https://"):
                raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            self._webhook = {"url": url, "max_connections": p.get("max_connections", 40),
                             "allowed_updates": p.get("allowed_updates"), "secret_token": p.get("secret_token")}
            if p.get("drop_pending_updates"):
                self._updates.clear()
            self._cond.notify_all()
            return True, "Webhook was set"

    def _m_getWebhookInfo(self, p):
        with self._lock:
            info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                    "pending_update_count": len(self._updates)}
            if self._webhook:
                info.update(url=self._webhook["url"], max_connections=self._webhook["max_connections"],
                            ip_address="127.0.0.1")
                if self._webhook.get("allowed_updates"):
                    info["allowed_updates"] = self._webhook["allowed_updates"]
            return info

    def _m_setMyCommands(self, p):
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        clean = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            name = command.get("command")
            text = command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(text, str) or not 1 <= len(text.strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": text})
        if len(clean) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        with self._lock:
            self._commands[self._commands_key(p.get("scope"), p.get("language_code"))] = clean
            self._command_sets.append({"commands": copy.deepcopy(clean), "scope": p.get("scope"),
                                       "language_code": p.get("language_code")})
        return True

    def _m_getMyCommands(self, p):
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(p.get("scope"), p.get("language_code")), []))

    def _m_deleteMyCommands(self, p):
        with self._lock:
            self._commands.pop(self._commands_key(p.get("scope"), p.get("language_code")), None)
        return True

    def _m_getUpdates(self, p):
        try:
            offset = int(p.get("offset") or 0)
            limit = min(max(int(p.get("limit") or 100), 1), 100)
            timeout = max(float(p.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong parameter") from None
        with self._cond:
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_ACTIVE)
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # an older held getUpdates is terminated with 409
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            deadline = time.monotonic() + timeout
            while True:
                if self._stopping:
                    return []
                if generation != self._poll_generation:
                    raise ApiError(409, POLL_CONFLICT)
                if self._updates:
                    return copy.deepcopy(self._updates[:limit])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def _replied(self, chat_id: int, p: dict) -> dict | None:
        """The message a send replies to (reply_parameters, or the older reply_to_message_id), as
        Telegram checks it: unknown -> 400, unless allow_sending_without_reply."""
        rp = p.get("reply_parameters")
        if not isinstance(rp, dict):
            rp = {"message_id": p["reply_to_message_id"]} if p.get("reply_to_message_id") else None
        if rp is None:
            return None
        replied = self._messages.get((chat_id, int(rp.get("message_id", 0))))
        if replied is None and not (rp.get("allow_sending_without_reply") or p.get("allow_sending_without_reply")):
            raise ApiError(400, "Bad Request: message to be replied not found")
        return copy.deepcopy(replied) if replied else None

    def _m_sendMessage(self, p):
        with self._cond:
            chat = self._resolve_chat(p)
            self._check_chat_state(chat["id"])
            text, entities = self._format(p)
            self._check_rate(chat)
            lpo = p.get("link_preview_options")
            replied = self._replied(chat["id"], p)
            message = self._new_message(chat["id"], text, entities, thread_id=p.get("message_thread_id"),
                                        reply_markup=p.get("reply_markup"), link_preview_options=lpo)
            if replied is not None:
                message["reply_to_message"] = replied
                self._messages[(chat["id"], message["message_id"])] = copy.deepcopy(message)
            dwpp = p.get("disable_web_page_preview")
            if dwpp is None and isinstance(lpo, dict) and "is_disabled" in lpo:
                dwpp = lpo["is_disabled"]
            self._sent.append({
                "chat_id": chat["id"],
                "text": p.get("text"),
                "plain_text": text,
                "entities": copy.deepcopy(entities),
                "parse_mode": p.get("parse_mode"),
                "message_thread_id": p.get("message_thread_id"),
                "reply_markup": copy.deepcopy(p.get("reply_markup")),
                "link_preview_options": copy.deepcopy(lpo),
                "disable_web_page_preview": dwpp,
                "disable_notification": p.get("disable_notification"),
                "message_id": message["message_id"],
                "message": copy.deepcopy(message),
                "params": copy.deepcopy(p),
                "time": time.time(),
            })
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _m_editMessageText(self, p):
        with self._cond:
            if p.get("inline_message_id"):
                text, entities = self._format(p)
                key = str(p["inline_message_id"])
                old = self._inline_texts.get(key)
                new = {"text": text, "entities": entities, "reply_markup": p.get("reply_markup")}
                if old == new:
                    raise ApiError(400, MESSAGE_NOT_MODIFIED)
                self._inline_texts[key] = new
                self._record_edit(p, None, None, text)
                return True
            chat = self._resolve_chat(p)
            key = (chat["id"], _norm_chat_id(p.get("message_id")))
            message = self._messages.get(key)
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            self._check_chat_state(chat["id"])
            if key not in self._bot_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            text, entities = self._format(p)
            markup = p.get("reply_markup") if isinstance(p.get("reply_markup"), dict) else None
            if (message.get("text") == text and message.get("entities", []) == entities
                    and message.get("reply_markup") == markup):
                raise ApiError(400, MESSAGE_NOT_MODIFIED)
            message["text"] = text
            message.pop("entities", None)
            if entities:
                message["entities"] = copy.deepcopy(entities)
            message.pop("reply_markup", None)
            if markup and "inline_keyboard" in markup:
                message["reply_markup"] = copy.deepcopy(markup)
            if isinstance(p.get("link_preview_options"), dict):
                message["link_preview_options"] = copy.deepcopy(p["link_preview_options"])
            message["edit_date"] = int(time.time())
            self._record_edit(p, chat["id"], key[1], text, message)
            return copy.deepcopy(message)

    def _record_edit(self, p, chat_id, message_id, plain_text, message=None):
        self._edits.append({
            "method": "editMessageText",
            "chat_id": chat_id,
            "message_id": message_id,
            "inline_message_id": p.get("inline_message_id"),
            "text": p.get("text"),
            "plain_text": plain_text,
            "parse_mode": p.get("parse_mode"),
            "reply_markup": copy.deepcopy(p.get("reply_markup")),
            "link_preview_options": copy.deepcopy(p.get("link_preview_options")),
            "message": copy.deepcopy(message),
            "params": copy.deepcopy(p),
            "time": time.time(),
        })
        self._cond.notify_all()

    def _m_editMessageReplyMarkup(self, p):
        with self._cond:
            if p.get("inline_message_id"):
                return True
            chat = self._resolve_chat(p)
            key = (chat["id"], _norm_chat_id(p.get("message_id")))
            message = self._messages.get(key)
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            if key not in self._bot_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            markup = p.get("reply_markup") if isinstance(p.get("reply_markup"), dict) else None
            if markup is not None and not markup.get("inline_keyboard"):
                markup = None
            if message.get("reply_markup") == markup:
                raise ApiError(400, MESSAGE_NOT_MODIFIED)
            message.pop("reply_markup", None)
            if markup:
                message["reply_markup"] = copy.deepcopy(markup)
            message["edit_date"] = int(time.time())
            self._edits.append({"method": "editMessageReplyMarkup", "chat_id": chat["id"], "message_id": key[1],
                                "inline_message_id": None, "text": None, "plain_text": message.get("text"),
                                "parse_mode": None, "reply_markup": copy.deepcopy(markup),
                                "link_preview_options": None, "message": copy.deepcopy(message),
                                "params": copy.deepcopy(p), "time": time.time()})
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _m_deleteMessage(self, p):
        with self._cond:
            chat = self._resolve_chat(p)
            key = (chat["id"], _norm_chat_id(p.get("message_id")))
            if key not in self._messages:
                raise ApiError(400, "Bad Request: message to delete not found")
            del self._messages[key]
            self._bot_messages.discard(key)
            self._deletes.append({"chat_id": key[0], "message_id": key[1], "params": copy.deepcopy(p)})
            self._cond.notify_all()
            return True

    def _m_getChatMember(self, p):
        with self._lock:
            chat = self._resolve_chat(p)
            try:
                user_id = int(p.get("user_id"))
            except (TypeError, ValueError):
                raise ApiError(400, "Bad Request: PARTICIPANT_ID_INVALID") from None
            chat_id = chat["id"]
            user = self._user(user_id)
            if self.owners.get(chat_id) == user_id:
                return {"status": "creator", "user": user, "is_anonymous": False}
            if user_id in self.admins.get(chat_id, set()):
                member = {
                    "status": "administrator", "user": user, "can_be_edited": False, "is_anonymous": False,
                    "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
                    "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
                    "can_invite_users": True, "can_post_stories": True, "can_edit_stories": True,
                    "can_delete_stories": True,
                }
                if chat["type"] == "channel":
                    member.update(can_post_messages=True, can_edit_messages=True, can_manage_direct_messages=True)
                else:
                    member["can_pin_messages"] = True
                if chat["type"] == "supergroup":
                    member["can_manage_topics"] = True
                return member
            status = self._member_status.get((chat_id, user_id), "member")
            if status == "left":
                return {"status": "left", "user": user}
            if status == "kicked":
                return {"status": "kicked", "user": user, "until_date": 0}
            if status == "restricted":
                flags = ("can_change_info can_invite_users can_pin_messages can_send_messages can_send_polls "
                         "can_send_other_messages can_add_web_page_previews can_manage_topics can_send_audios "
                         "can_send_documents can_send_photos can_send_videos can_send_video_notes "
                         "can_send_voice_notes can_edit_tag can_react_to_messages").split()
                return {"status": "restricted", "user": user, "is_member": True, "until_date": 0,
                        **{flag: False for flag in flags}}
            return {"status": "member", "user": user}

    def _m_getChat(self, p):
        with self._lock:
            chat = copy.deepcopy(self._resolve_chat(p))
        chat.update(accent_color_id=0, max_reaction_count=11,
                    accepted_gift_types={"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                                         "premium_subscription": False, "gifts_from_channels": False})
        return chat

    def _m_answerCallbackQuery(self, p):
        with self._cond:
            query_id = str(p.get("callback_query_id") or "")
            if query_id not in self._open_callbacks:
                raise ApiError(400, QUERY_INVALID)
            self._open_callbacks.discard(query_id)
            self._callback_answers.append({
                "callback_query_id": query_id,
                "text": p.get("text"),
                "show_alert": p.get("show_alert"),
                "url": p.get("url"),
                "cache_time": p.get("cache_time"),
                "params": copy.deepcopy(p),
            })
            self._cond.notify_all()
            return True

    def _m_sendPhoto(self, p):
        """A photo uploaded in a multipart body, or a file_id of one sent before (URLs are not fetched:
        no test reaches the internet). Like Telegram: bytes that are no PNG or JPEG answer
        IMAGE_PROCESS_FAILED, width + height over 10000 or sides more than 20:1 apart
        PHOTO_INVALID_DIMENSIONS, more than 10 MB 413; the caption (at most 1024 characters after
        parsing) is parsed with parse_mode; the Message has ``photo`` (the sizes made) and ``caption``."""
        with self._cond:
            chat = self._resolve_chat(p)
            self._check_chat_state(chat["id"])
            photo, data, filename = p.get("photo"), None, None
            if isinstance(photo, dict):
                data, filename = photo["data"], photo["filename"]
                if len(data) > 10 * 1024 * 1024:
                    raise ApiError(413, "Request Entity Too Large")
                size = _picture_size(data)
                if size is None:
                    raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
                if sum(size) > 10000 or max(size) > 20 * min(size):
                    raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
                file_id = f"AgACAgIAAxkDAAI{len(self._photos) + 1:05d}"
                self._photo_sizes[file_id] = size
            elif isinstance(photo, str) and photo in self._photo_sizes:
                file_id = photo
            elif isinstance(photo, str) and photo:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            else:
                raise ApiError(400, "Bad Request: there is no photo in the request")
            caption, entities = "", []
            if p.get("caption"):
                caption, entities = self._format({**p, "text": p["caption"]})
                if len(caption) > 1024:
                    raise ApiError(400, "Bad Request: message caption is too long")
            self._check_rate(chat)
            replied = self._replied(chat["id"], p)
            message = self._new_message(chat["id"], "", [], thread_id=p.get("message_thread_id"),
                                        reply_markup=p.get("reply_markup"))
            del message["text"]
            width, height = self._photo_sizes[file_id]
            scale = max(width, height)
            message["photo"] = [  # Telegram's smaller copies, then the picture as sent
                {"file_id": f"{file_id}_{side}", "file_unique_id": f"AQAD{side}",
                 "width": round(width * side / scale), "height": round(height * side / scale)}
                for side in (90, 320, 800, 1280) if side < scale
            ] + [{"file_id": file_id, "file_unique_id": "AQADfull", "width": width, "height": height,
                  **({"file_size": len(data)} if data is not None else {})}]
            if caption:
                message["caption"] = caption
                if entities:
                    message["caption_entities"] = copy.deepcopy(entities)
            if replied is not None:
                message["reply_to_message"] = replied
            self._messages[(chat["id"], message["message_id"])] = copy.deepcopy(message)
            self._photos.append({
                "chat_id": chat["id"], "data": data, "filename": filename, "width": width, "height": height,
                "caption": p.get("caption"), "plain_caption": caption, "caption_entities": copy.deepcopy(entities),
                "message_thread_id": p.get("message_thread_id"), "reply_parameters": p.get("reply_parameters"),
                "message_id": message["message_id"], "message": copy.deepcopy(message),
                "params": {k: v for k, v in p.items() if k != "photo"}, "time": time.time(),
            })
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _m_sendChatAction(self, p):
        with self._lock:
            chat = self._resolve_chat(p)
            self._check_chat_state(chat["id"])
        return True

