"""A stand-in for the Slack Web API: a real HTTP server on loopback, for the real slack_sdk/slack_bolt clients.

Point the real client at it::

    with SlackStub() as stub:
        client = AsyncWebClient(token=stub.token, base_url=stub.base_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert stub.posts("C1")[0].text == "hi"

The server speaks what slack_sdk expects (see slack_sdk/web/async_internal_utils.py): requests arrive as JSON
(``json=``), form (``data=``) or query string (``params=``) with ``Authorization: Bearer <token>``; answers are
JSON with ``"ok"``; errors are ``{"ok": false, "error": ...}`` (HTTP 200, so slack_sdk raises SlackApiError), rate
limits are HTTP 429 with ``Retry-After`` (what AsyncRateLimitErrorRetryHandler looks for), server errors are a
plain-text 5xx.

The module also has helpers that deliver requests the way Slack does to an app in HTTP mode: :func:`sign`,
:func:`slash_command_body`, :func:`event_body`, :func:`app_mention_event` and :func:`deliver`.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit


TEAM_ID = "T1"
TEAM_DOMAIN = "dealticker-test"
TEAM_NAME = "Dealticker Test"
APP_ID = "A1"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
BOT_NAME = "dealticker"
DEFAULT_TOKEN = "xoxb-test-token"
VERIFICATION_TOKEN = "verification-token"

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_MESSAGE_TEXT = 40000


# --------------------------------------------------------------------------------------------------------------
# Records


class _Record:
    """Attribute access plus ``record["field"]`` for convenience."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


@dataclass
class Post(_Record):
    """One accepted chat.postMessage."""

    channel: str  # the channel ID as answered (a "#name" is resolved through stub.channels)
    text: str | None
    blocks: list | None  # parsed, also when the client sent them form-encoded as a JSON string
    thread_ts: str | None
    unfurl_links: bool | None
    unfurl_media: bool | None
    ts: str
    params: dict  # everything the client sent (JSON body, form fields and query string merged)
    token: str | None = None


@dataclass
class Update(_Record):
    """One accepted chat.update."""

    channel: str
    ts: str
    text: str | None
    blocks: list | None
    params: dict
    token: str | None = None


@dataclass
class Ephemeral(_Record):
    """One accepted chat.postEphemeral."""

    channel: str
    user: str
    text: str | None
    blocks: list | None
    thread_ts: str | None
    message_ts: str
    params: dict
    token: str | None = None


@dataclass
class Response(_Record):
    """One POST to a response_url made by stub.response_url(name)."""

    name: str
    body: Any  # the parsed JSON (None when the body was not JSON)
    raw: bytes
    content_type: str

    @property
    def text(self) -> str | None:
        return self.body.get("text") if isinstance(self.body, dict) else None


@dataclass
class Upload(_Record):
    """One file upload the way files_upload_v2 makes it: files.getUploadURLExternal, a POST of the bytes to
    the upload URL, files.completeUploadExternal (which shares it in a channel or thread)."""

    file_id: str
    filename: str
    length: int  # as announced to files.getUploadURLExternal
    alt_txt: str | None
    data: bytes | None = None  # what was POSTed to the upload URL (None until then)
    title: str | None = None
    channel: str | None = None  # where files.completeUploadExternal shared it (None: private to the app)
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class Call(_Record):
    """Every Web API request, accepted or not, in arrival order. Unpacks as ``method, params = call``."""

    method: str
    params: dict
    token: str | None = None
    status: int = 0  # the HTTP status answered
    error: str | None = None  # the "error" answered, None when ok
    host: str | None = None  # the Host header: which of several clients (by the name it used) called

    def __iter__(self):
        return iter((self.method, self.params))


class Records(list):
    """A snapshot list of records that can also be called to filter: ``stub.posts`` == ``stub.posts()``,
    ``stub.posts("C1")`` / ``stub.posts(channel="C1")`` keeps only that channel's."""

    def __init__(self, items: Iterable = (), key: str = "channel"):
        super().__init__(items)
        self._key = key

    def __call__(self, value: Any = None, **kw: Any) -> Records:
        if kw:
            if len(kw) != 1:
                raise TypeError(f"filter by one keyword, got {sorted(kw)}")
            ((key, value),) = kw.items()
        else:
            key = self._key
        if value is None:
            return Records(self, self._key)
        return Records((r for r in self if getattr(r, key) == value), self._key)


@dataclass
class _Failure:
    method: str
    error: str
    times: int | None
    channel: str | None
    status: int
    retry_after: int | None


@dataclass
class _ResponseFailure:
    name: str | None
    status: int
    body: str
    times: int | None


class SlackError(Exception):
    """Raised inside a method handler to answer {"ok": false, "error": ...}."""

    def __init__(self, error: str, status: int = 200, headers: dict | None = None, extra: dict | None = None):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra or {}


# --------------------------------------------------------------------------------------------------------------
# The server


def _as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    return str(value).strip().lower() in ("1", "true", "yes")


class SlackStub:
    """The fake Slack Web API. All controls are thread-safe; see the module docstring for an example."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        team_id: str = TEAM_ID,
        team: str = TEAM_NAME,
        team_domain: str = TEAM_DOMAIN,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        bot_name: str = BOT_NAME,
        strict_channels: bool = False,
    ):
        self.token = token
        self.team_id = team_id
        self.team = team
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        # token -> auth.test identity; add more tokens to accept them (other tokens answer invalid_auth).
        self.tokens: dict[str, dict] = {token: self._identity()}
        # channel ID -> conversations.info fields (missing fields get defaults). Editable.
        self.channels: dict[str, dict] = {}
        # user ID -> users.info fields (missing fields get defaults). Editable.
        self.users: dict[str, dict] = {bot_user_id: {"name": bot_name, "is_bot": True}}
        # When True, chat.* to a channel not in self.channels answers channel_not_found; when False they are accepted.
        self.strict_channels = strict_channels
        self.rate_limited = 0  # how many chat.postMessage limit_rate() turned away

        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._posts: list[Post] = []
        self._updates: list[Update] = []
        self._ephemerals: list[Ephemeral] = []
        self._responses: list[Response] = []
        self._uploads: dict[str, Upload] = {}
        self._file_ids = itertools.count(1)
        self._messages: dict[tuple[str, str], dict] = {}
        self._failures: list[_Failure] = []
        self._response_failures: list[_ResponseFailure] = []
        self._delays: dict[str, float] = {}
        self._rate: float | None = None
        self._sent: dict[str, deque] = defaultdict(deque)
        self._ts_counter = itertools.count(1)
        self._handlers: dict[str, Callable[[dict, str | None], dict]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._connections: set[socket.socket] = set()

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> SlackStub:
        """Start serving (again after stop(), on the same port). Returns self."""
        if self._httpd is not None:
            return self
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler_class())
        self._httpd.daemon_threads = True
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open keep-alive connections, so clients see Slack as down."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT/api/ — pass as AsyncWebClient(base_url=...)."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "default") -> str:
        """A URL on the stub that records what is POSTed to it, as Slack's response_url for slash commands."""
        return f"{self.url}/respond/{quote(name, safe='')}"

    # ---- recorded traffic --------------------------------------------------------------------------------

    @property
    def calls(self) -> Records:
        """Every Web API request in order (Call records; ``method, params = call``). Filter: calls("chat.update")."""
        with self._lock:
            return Records(self._calls, "method")

    @property
    def posts(self) -> Records:
        """Accepted chat.postMessage calls (Post records). posts("C1") filters by channel."""
        with self._lock:
            return Records(self._posts, "channel")

    @property
    def updates(self) -> Records:
        """Accepted chat.update calls (Update records). updates("C1") filters by channel."""
        with self._lock:
            return Records(self._updates, "channel")

    @property
    def ephemerals(self) -> Records:
        """Accepted chat.postEphemeral calls (Ephemeral records). ephemerals("C1") filters by channel."""
        with self._lock:
            return Records(self._ephemerals, "channel")

    @property
    def responses(self) -> Records:
        """What was POSTed to response URLs (Response records). responses("name") filters by name."""
        with self._lock:
            return Records(self._responses, "name")

    @property
    def uploads(self) -> Records:
        """Files asked for with files.getUploadURLExternal (Upload records), completed or not.
        uploads("C1") filters by the channel they were shared in."""
        with self._lock:
            return Records(self._uploads.values(), "channel")

    def message(self, channel: str, ts: str) -> dict | None:
        """The current state of a posted message (after any chat.update), or None."""
        with self._lock:
            msg = self._messages.get((channel, ts))
            return copy.deepcopy(msg) if msg is not None else None

    def reset(self) -> None:
        """Forget recorded traffic, injected failures, delays and rate limiting (channels/users/tokens stay)."""
        with self._lock:
            self._calls.clear()
            self._posts.clear()
            self._updates.clear()
            self._ephemerals.clear()
            self._responses.clear()
            self._uploads.clear()
            self._messages.clear()
            self._failures.clear()
            self._response_failures.clear()
            self._delays.clear()
            self._rate = None
            self._sent.clear()
            self.rate_limited = 0

    # ---- controls -----------------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str,
        times: int | None = 1,
        channel: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*" = any method; times=None = until clear_failures()),
        optionally only those for ``channel``, answer {"ok": false, "error": error} with HTTP ``status``.
        error "ratelimited" (or status 429) answers HTTP 429 with "Retry-After: <retry_after or 1>", as Slack.
        status >= 500 answers a plain-text body. Failures are consumed in the order they were added."""
        if error == "ratelimited" and status == 200:
            status = 429
        if status == 429 and retry_after is None:
            retry_after = 1
        if times is not None and times <= 0:
            return
        with self._lock:
            self._failures.append(_Failure(method, error, times, channel, status, retry_after))

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()
            self._response_failures.clear()

    def fail_response(
        self, name: str | None = None, status: int = 404, body: str = "expired_url", times: int | None = 1
    ) -> None:
        """The next ``times`` POSTs to response_url(name) (any name if None) answer ``status`` with ``body``
        (Slack answers 404 "expired_url"/"used_url" for stale response URLs). Not recorded in responses."""
        with self._lock:
            self._response_failures.append(_ResponseFailure(name, status, body, times))

    def archive(self, channel: str) -> None:
        """Mark the channel archived: chat.postMessage/postEphemeral to it answer "is_archived"."""
        with self._lock:
            self.channels.setdefault(channel, {})["is_archived"] = True

    def unarchive(self, channel: str) -> None:
        with self._lock:
            self.channels.setdefault(channel, {})["is_archived"] = False

    def add_channel(self, channel_id: str, name: str | None = None, **fields: Any) -> dict:
        """Register a channel for conversations.info (and name resolution of "#name"). Returns its stored dict."""
        with self._lock:
            entry = self.channels.setdefault(channel_id, {})
            entry["name"] = name or entry.get("name") or channel_id.lower()
            entry.update(fields)
            return entry

    def add_user(self, user_id: str, name: str | None = None, **fields: Any) -> dict:
        """Register a user for users.info. Returns its stored dict."""
        with self._lock:
            entry = self.users.setdefault(user_id, {})
            entry["name"] = name or entry.get("name") or user_id.lower()
            entry.update(fields)
            return entry

    def limit_rate(self, per_channel_per_second: float | None = 1) -> None:
        """chat.postMessage beyond this many per channel in any one-second window answers HTTP 429
        "ratelimited" with "Retry-After: 1" and counts in self.rate_limited. None switches it off."""
        with self._lock:
            self._rate = per_channel_per_second
            self._sent.clear()

    def delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` ("*" = all, "respond" = response URLs) only after ``seconds`` (for timeout tests)."""
        with self._lock:
            if seconds:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    # ---- request handling -----------------------------------------------------------------------------------

    def _identity(self) -> dict:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _handler_class(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def log_message(self, *args):  # keep test output clean
                pass

            def setup(self):
                super().setup()
                with stub._lock:
                    stub._connections.add(self.connection)

            def finish(self):
                with stub._lock:
                    stub._connections.discard(self.connection)
                super().finish()

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self):
                body = self._body()
                status, headers, payload = stub._route(self.command, self.path, self.headers, body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _handle

        return Handler

    def _route(self, verb: str, path: str, headers, body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(path)
        if parts.path.startswith("/api/"):
            method = parts.path[len("/api/"):]
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            ctype = (headers.get("Content-Type") or "").lower()
            if body:
                if "json" in ctype:
                    try:
                        loaded = json.loads(body)
                    except ValueError:
                        return self._json(200, {"ok": False, "error": "invalid_json"})
                    if not isinstance(loaded, dict):
                        return self._json(200, {"ok": False, "error": "invalid_json"})
                    params.update(loaded)
                elif "x-www-form-urlencoded" in ctype or not ctype:
                    params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                else:
                    return self._json(200, {"ok": False, "error": "invalid_form_data"})
            token = None
            auth = headers.get("Authorization") or ""
            if auth.lower().startswith("bearer "):
                token = auth[7:].strip()
            if "token" in params:
                token = token or params.get("token")
            return self._api(method, params, token, headers.get("Host"))
        if parts.path.startswith("/upload/v1/") and verb == "POST":
            return self._upload(unquote(parts.path[len("/upload/v1/"):]), body)
        if parts.path.startswith("/respond/") and verb == "POST":
            return self._respond(unquote(parts.path[len("/respond/"):]), headers, body)
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found"

    @staticmethod
    def _json(status: int, data: dict, headers: dict | None = None) -> tuple[int, dict, bytes]:
        h = {"Content-Type": "application/json; charset=utf-8"}
        h.update(headers or {})
        return status, h, json.dumps(data).encode()

    def _sleep_for(self, method: str) -> None:
        with self._lock:
            seconds = self._delays.get(method) or self._delays.get("*")
        if seconds:
            time.sleep(seconds)

    def _take_failure(self, method: str, params: dict) -> _Failure | None:
        channel = params.get("channel")
        resolved = self._resolve_channel(channel) if channel else None
        for f in self._failures:
            if f.method not in (method, "*"):
                continue
            if f.channel is not None and f.channel not in (channel, resolved):
                continue
            if f.times is not None:
                f.times -= 1
                if f.times <= 0:
                    self._failures.remove(f)
            return f
        return None

    def _api(self, method: str, params: dict, token: str | None, host: str | None = None) -> tuple[int, dict, bytes]:
        self._sleep_for(method)
        call = Call(method, copy.deepcopy(params), token, host=host)
        with self._lock:
            self._calls.append(call)
            try:
                failure = self._take_failure(method, params)
                if failure is not None:
                    call.status, call.error = failure.status, failure.error
                    if failure.status >= 500:
                        return (
                            failure.status,
                            {"Content-Type": "text/plain; charset=utf-8"},
                            f"{failure.status} {failure.error}".encode(),
                        )
                    extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                    return self._json(failure.status, {"ok": False, "error": failure.error}, extra)
                handler = self._handlers.get(method)
                if handler is None:
                    raise SlackError("unknown_method")
                if method != "api.test":
                    if not token:
                        raise SlackError("not_authed")
                    if token not in self.tokens:
                        raise SlackError("invalid_auth")
                data = handler(params, token)
            except SlackError as e:
                call.status, call.error = e.status, e.error
                return self._json(e.status, {"ok": False, "error": e.error, **e.extra}, e.headers)
            call.status = 200
            return self._json(200, {"ok": True, **data})

    def _respond(self, name: str, headers, body: bytes) -> tuple[int, dict, bytes]:
        self._sleep_for("respond")
        with self._lock:
            for f in self._response_failures:
                if f.name is not None and f.name != name:
                    continue
                if f.times is not None:
                    f.times -= 1
                    if f.times <= 0:
                        self._response_failures.remove(f)
                return f.status, {"Content-Type": "text/html; charset=utf-8"}, f.body.encode()
            ctype = headers.get("Content-Type") or ""
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            self._responses.append(Response(name, parsed, body, ctype))
        return 200, {"Content-Type": "text/html; charset=utf-8"}, b"ok"

    def _upload(self, file_id: str, body: bytes) -> tuple[int, dict, bytes]:
        """The upload URL: takes the file's bytes (raw, as slack_sdk sends them, or one multipart part)
        and answers "OK - <bytes>" as Slack's file servers do; an unknown or used URL is a 404."""
        self._sleep_for("upload")
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or upload.data is not None:
                return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"Not Found"
            upload.data = body
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, f"OK - {len(body)}".encode()

    # ---- methods -----------------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        n = next(self._ts_counter) * 100
        return f"{1700000000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _resolve_channel(self, channel: str) -> str:
        if channel.startswith("#"):
            name = channel[1:]
            for cid, info in self.channels.items():
                if info.get("name") == name:
                    return cid
        return channel

    def _channel_for_write(self, params: dict) -> str:
        raw = params.get("channel")
        if not raw:
            raise SlackError("channel_not_found")
        channel = self._resolve_channel(str(raw))
        info = self.channels.get(channel)
        if info is None:
            if self.strict_channels or str(raw).startswith("#"):
                raise SlackError("channel_not_found")
            return channel
        if info.get("is_archived"):
            raise SlackError("is_archived")
        if info.get("is_member") is False and not info.get("is_im"):
            raise SlackError("not_in_channel")
        return channel

    @staticmethod
    def _blocks(params: dict) -> list | None:
        blocks = params.get("blocks")
        if blocks is None or blocks == "":
            return None
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise SlackError("invalid_blocks_format") from None
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        problems = _block_problems(blocks)
        if problems:
            raise SlackError("invalid_blocks", extra={"response_metadata": {"messages": problems}})
        return blocks

    @staticmethod
    def _text(params: dict, blocks: list | None) -> str | None:
        text = params.get("text")
        attachments = params.get("attachments")
        if (text is None or text == "") and not blocks and not attachments:
            raise SlackError("no_text")
        if text is not None and len(str(text)) > MAX_MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        return text

    def _api_test(self, params: dict, token: str | None) -> dict:
        return {"args": params} if params else {}

    def _auth_test(self, params: dict, token: str | None) -> dict:
        return dict(self.tokens[token])

    def _chat_post_message(self, params: dict, token: str | None) -> dict:
        channel = self._channel_for_write(params)
        if self._rate is not None:
            now = time.monotonic()
            sent = self._sent[channel]
            while sent and now - sent[0] >= 1.0:
                sent.popleft()
            if len(sent) >= self._rate:
                self.rate_limited += 1
                raise SlackError("ratelimited", status=429, headers={"Retry-After": "1"})
            sent.append(now)
        blocks = self._blocks(params)
        text = self._text(params, blocks)
        ts = self._next_ts()
        identity = self.tokens[token]
        message = {
            "type": "message",
            "subtype": "bot_message" if params.get("username") else None,
            "text": text or "",
            "user": identity["user_id"],
            "bot_id": identity["bot_id"],
            "app_id": APP_ID,
            "team": identity["team_id"],
            "ts": ts,
        }
        if message["subtype"] is None:
            del message["subtype"]
        if blocks is not None:
            message["blocks"] = blocks
        if params.get("attachments"):
            message["attachments"] = params["attachments"]
        thread_ts = params.get("thread_ts") or None
        if thread_ts:
            message["thread_ts"] = thread_ts
            message["parent_user_id"] = identity["user_id"]
        self._messages[(channel, ts)] = copy.deepcopy(message)
        self._posts.append(
            Post(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=_as_bool(params.get("unfurl_links")),
                unfurl_media=_as_bool(params.get("unfurl_media")),
                ts=ts,
                params=copy.deepcopy(params),
                token=token,
            )
        )
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, params: dict, token: str | None) -> dict:
        raw = params.get("channel")
        if not raw:
            raise SlackError("channel_not_found")
        channel = self._resolve_channel(str(raw))
        ts = params.get("ts")
        message = self._messages.get((channel, str(ts))) if ts else None
        if message is None:
            raise SlackError("message_not_found")
        blocks = self._blocks(params)
        text = params.get("text")
        if (text is None or text == "") and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        if text is not None:
            message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": self.tokens[token]["user_id"], "ts": self._next_ts()}
        self._updates.append(Update(channel, str(ts), text, blocks, copy.deepcopy(params), token))
        answer = {"channel": channel, "ts": str(ts), "text": message.get("text", "")}
        answer["message"] = {k: v for k, v in message.items() if k != "ts"}
        return answer

    def _chat_post_ephemeral(self, params: dict, token: str | None) -> dict:
        channel = self._channel_for_write(params)
        user = params.get("user")
        if not user:
            raise SlackError("user_not_found")
        blocks = self._blocks(params)
        text = self._text(params, blocks)
        message_ts = self._next_ts()
        self._ephemerals.append(
            Ephemeral(
                channel=channel,
                user=str(user),
                text=text,
                blocks=blocks,
                thread_ts=params.get("thread_ts") or None,
                message_ts=message_ts,
                params=copy.deepcopy(params),
                token=token,
            )
        )
        return {"message_ts": message_ts}

    def channel_info(self, channel_id: str) -> dict | None:
        """conversations.info's "channel" for a known channel (stored fields over defaults), else None."""
        with self._lock:
            stored = self.channels.get(channel_id)
            if stored is None:
                return None
            name = stored.get("name") or channel_id.lower()
            is_private = bool(stored.get("is_private", False))
            info = {
                "id": channel_id,
                "name": name,
                "is_channel": not is_private,
                "is_group": is_private,
                "is_im": False,
                "is_mpim": False,
                "is_private": is_private,
                "created": 1700000000,
                "is_archived": False,
                "is_general": False,
                "unlinked": 0,
                "name_normalized": name,
                "is_shared": False,
                "is_org_shared": False,
                "is_ext_shared": False,
                "is_member": True,
                "creator": "U1",
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
                "num_members": 2,
            }
            info.update(copy.deepcopy(stored))
            info["id"] = channel_id
            return info

    def _conversations_info(self, params: dict, token: str | None) -> dict:
        raw = params.get("channel")
        info = self.channel_info(self._resolve_channel(str(raw))) if raw else None
        if info is None:
            raise SlackError("channel_not_found")
        return {"channel": info}

    def _users_info(self, params: dict, token: str | None) -> dict:
        user_id = params.get("user")
        stored = self.users.get(str(user_id)) if user_id else None
        if stored is None:
            raise SlackError("user_not_found")
        name = stored.get("name") or str(user_id).lower()
        real_name = stored.get("real_name") or name
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": "Europe/Berlin",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "profile": {"real_name": real_name, "display_name": stored.get("display_name", name)},
        }
        user.update(copy.deepcopy(stored))
        user["id"] = user_id
        return {"user": user}


    def _files_get_upload_url_external(self, params: dict, token: str | None) -> dict:
        filename, length = params.get("filename"), str(params.get("length") or "")
        if not filename or not length.isdigit() or int(length) <= 0:
            raise SlackError("invalid_arguments")
        file_id = f"F{next(self._file_ids):010d}"
        self._uploads[file_id] = Upload(file_id, str(filename), int(length), params.get("alt_txt") or None)
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, params: dict, token: str | None) -> dict:
        """Every file must have been uploaded in full (else file_not_found / file_size_mismatch; the stub's
        names); with channel_id (or channels) it is shared there, in thread_ts when given."""
        try:
            files = json.loads(params["files"]) if isinstance(params.get("files"), str) else params.get("files")
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
            raise SlackError("invalid_arguments")
        where = params.get("channel_id") or (str(params.get("channels") or "").split(",")[0] or None)
        channel = self._channel_for_write({"channel": where}) if where else None
        out = []
        for f in files:
            upload = self._uploads.get(str(f["id"]))
            if upload is None or upload.data is None or upload.completed:
                raise SlackError("file_not_found")
            if len(upload.data) != upload.length:
                raise SlackError("file_size_mismatch")
        for f in files:
            upload = self._uploads[str(f["id"])]
            upload.title = f.get("title") or upload.filename
            upload.channel, upload.thread_ts = channel, params.get("thread_ts") or None
            upload.initial_comment, upload.completed = params.get("initial_comment") or None, True
            png = upload.filename.lower().endswith(".png")
            out.append({"id": upload.file_id, "created": int(time.time()), "name": upload.filename,
                        "title": upload.title, "mimetype": "image/png" if png else "", "filetype": "png" if png else "",
                        "user": self.tokens[token]["user_id"], "size": upload.length, "is_public": False,
                        "url_private": f"https://files.slack.com/files-pri/{self.team_id}-{upload.file_id}/"
                                       f"{upload.filename}"})
        return {"files": out}


def _block_problems(blocks: list) -> list[str]:
    """Slack's block validation, the parts that matter here, with Slack's style of messages."""
    problems = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or not block.get("type"):
            problems.append(f"[ERROR] missing required field: type [json-pointer:{where}]")
            continue
        kind = block["type"]
        if kind == "section":
            text = block.get("text")
            fields = block.get("fields")
            if text is None and not fields and block.get("accessory") is None:
                problems.append(f"[ERROR] must provide either text or fields [json-pointer:{where}]")
            if isinstance(text, dict) and len(str(text.get("text", ""))) > MAX_SECTION_TEXT:
                problems.append(
                    f"[ERROR] must be less than {MAX_SECTION_TEXT + 1} characters [json-pointer:{where}/text/text]"
                )
            if isinstance(text, dict) and not str(text.get("text", "")):
                problems.append(f"[ERROR] must be more than 0 characters [json-pointer:{where}/text/text]")
            if fields:
                if len(fields) > MAX_SECTION_FIELDS:
                    problems.append(
                        f"[ERROR] no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{where}/fields]"
                    )
                for j, f in enumerate(fields):
                    if isinstance(f, dict) and len(str(f.get("text", ""))) > MAX_FIELD_TEXT:
                        problems.append(
                            f"[ERROR] must be less than {MAX_FIELD_TEXT + 1} characters "
                            f"[json-pointer:{where}/fields/{j}/text]"
                        )
        elif kind == "header":
            text = block.get("text")
            if isinstance(text, dict) and len(str(text.get("text", ""))) > MAX_HEADER_TEXT:
                problems.append(
                    f"[ERROR] must be less than {MAX_HEADER_TEXT + 1} characters [json-pointer:{where}/text/text]"
                )
        elif kind == "context":
            if len(block.get("elements") or ()) > MAX_CONTEXT_ELEMENTS:
                problems.append(
                    f"[ERROR] no more than {MAX_CONTEXT_ELEMENTS} items allowed [json-pointer:{where}/elements]"
                )
    return problems


# --------------------------------------------------------------------------------------------------------------
# Delivering Slack's HTTP-mode requests to an app (slash commands, Events API)

_event_counter = itertools.count(1)
_trigger_counter = itertools.count(1)


def sign(
    signing_secret: str, body: bytes | str, timestamp: int | None = None, content_type: str | None = None
) -> dict[str, str]:
    """Headers Slack sends with a request: X-Slack-Signature ("v0=" + hex HMAC-SHA256 of "v0:{ts}:{body}"),
    X-Slack-Request-Timestamp and Content-Type (JSON if the body starts with "{", else form-urlencoded).
    timestamp defaults to now; slack_sdk/bolt reject timestamps more than 5 minutes off."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if timestamp is None:
        timestamp = int(time.time())
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    if content_type is None:
        content_type = "application/json" if body.lstrip().startswith(b"{") else "application/x-www-form-urlencoded"
    return {
        "X-Slack-Signature": f"v0={digest}",
        "X-Slack-Request-Timestamp": str(timestamp),
        "Content-Type": content_type,
    }


def slash_command_body(
    command: str,
    text: str,
    channel_id: str,
    user_id: str,
    response_url: str,
    team_id: str = TEAM_ID,
    *,
    channel_name: str | None = None,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    trigger_id: str | None = None,
    token: str = VERIFICATION_TOKEN,
) -> bytes:
    """The form body Slack POSTs for a slash command, fields in Slack's order, urlencoded as Slack does."""
    if trigger_id is None:
        trigger_id = f"{next(_trigger_counter)}.1700000000.0123456789abcdef0123456789abcdef"
    fields = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
        ("channel_id", channel_id),
        ("channel_name", channel_name or channel_id.lower()),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]
    return urlencode(fields).encode("ascii")


def app_mention_event(
    text: str,
    channel: str = "C1",
    user: str = "U1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team_id: str = TEAM_ID,
) -> dict:
    """An app_mention event as Slack sends it. ``text`` is used verbatim, so include the mention,
    e.g. app_mention_event(f"<@{BOT_USER_ID}> status")."""
    if ts is None:
        ts = f"{int(time.time())}.{next(_event_counter):06d}"
    event = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "team": team_id,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def event_body(
    event: dict,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    *,
    event_id: str | None = None,
    event_time: int | None = None,
    bot_user_id: str = BOT_USER_ID,
    token: str = VERIFICATION_TOKEN,
) -> bytes:
    """The JSON body of an Events API event_callback envelope around ``event``."""
    if event_id is None:
        event_id = f"Ev{next(_event_counter):010d}"
    if event_time is None:
        event_time = int(time.time())
    envelope = {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-eyJldCI6ImFwcF9tZW50aW9uIn0-{event_id}",
    }
    return json.dumps(envelope).encode("utf-8")


async def deliver(
    url: str,
    body: bytes,
    signing_secret: str,
    *,
    timestamp: int | None = None,
    headers: dict | None = None,
    timeout: float = 10,
) -> tuple[int, dict[str, str], str]:
    """POST ``body`` signed with ``signing_secret`` to an app's HTTP endpoint (e.g. http://127.0.0.1:P/slack/events)
    as Slack does; returns (status, headers, text)."""
    import aiohttp

    all_headers = sign(signing_secret, body, timestamp)
    all_headers.update(headers or {})
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.post(url, data=body, headers=all_headers) as res:
            return res.status, dict(res.headers), await res.text()
