"""Slack adapter: slack-bolt (async) slash commands and mentions call Commands; alerts go out as Block Kit."""
from __future__ import annotations

import asyncio
import logging
import re
import time

from aiohttp import ClientError, web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import WebhookResponse

from bot.commands import COMMANDS, SLACK_UMBRELLA, Caller, Commands, command_in
from bot.config import SlackConfig
from bot.messages import Image, Reply
from bot.pacing import Pacer
from bot.platforms.base import ApiCheck, ChatGone, Limits, Rejected, RetryLater, Transient
from bot.platforms.slack_blocks import render_blocks

log = logging.getLogger(__name__)
UMBRELLA = f"/{SLACK_UMBRELLA}"
SLASH = (*(f"/{c.name}" for c in COMMANDS if c.slash), UMBRELLA)
# users.info answers are kept this long: a burst of /subscribe in a busy channel asks Slack once per
# user (users.info allows about 100 calls a minute), and an admin who loses the role loses the right
# within these 5 minutes. Failures are not kept.
ADMIN_CACHE_SECONDS = 300.0
ADMINS_ARE = "Admins und Inhaber des Workspace"
# Errors after which the bot cannot post in the channel any more: the subscription ends.
GONE = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "channel_is_archived",
        "team_access_not_granted", "missing_scope"}
_MENTION = re.compile(r"<@[A-Z0-9]+>")


def slash_commands() -> list[dict]:
    """The slash commands config/slack-app-manifest.yml must declare, from the command table
    (tests/test_slack.py checks the manifest against this)."""
    umbrella = ", ".join(c.name for c in COMMANDS if c.name != "start")
    listed = [(f"/{c.name}", c.args, c.title) for c in COMMANDS if c.slash]
    listed.append((UMBRELLA, "latest 3", f"Alle Befehle unter einem Namen: {umbrella}"))
    return [{"command": name, "usage_hint": hint, "description": description} for name, hint, description in listed]


class SlackPlatform:
    name = "slack"
    limits = Limits(per_second=20, per_chat_per_second=1, per_group_per_minute=60)

    def __init__(self, config: SlackConfig, commands: Commands):
        self.config = config
        self.commands = commands
        self.pacer = Pacer(self.limits, self.is_group)
        # Only connection errors are retried inside the client; rate limits come back to the
        # delivery worker (or the pacer, for replies), which pause instead of blocking here.
        self.client = AsyncWebClient(token=config.bot_token, base_url=config.api_url or AsyncWebClient.BASE_URL,
                                     retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2)])
        self.app = AsyncApp(client=self.client, signing_secret=config.signing_secret or None,
                            request_verification_enabled=not config.socket_mode, process_before_response=False)
        for command in SLASH:
            self.app.command(command)(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.error(self._on_error)
        self._runner: web.AppRunner | None = None
        self._socket = None
        self.port: int | None = None
        self._admins: dict[str, tuple[float, bool]] = {}  # user id -> (valid until, is admin or owner)
        self._api = ApiCheck("Slack", self.client.auth_test)

    async def start(self) -> None:
        try:
            identity = await self.client.auth_test()
        except SlackApiError as exc:
            raise SystemExit(f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')})")
        for channel in self.config.channels:
            await asyncio.to_thread(self.commands.store.subscribe, self.name, channel)
        if self.config.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self.config.app_token)
            await self._socket.connect_async()
        else:
            self._runner = web.AppRunner(self.app.web_app(path="/slack/events"))
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.http_listen, self.config.http_port)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
        log.info("Slack app %s is running (%s)", identity.get("user"),
                 "Socket Mode" if self.config.socket_mode else f"HTTP on port {self.port}, /slack/events")

    async def connected(self) -> bool:
        if self._socket is not None:  # the WebSocket session is open and answers pings
            listening = await self._socket.client.is_connected()
        else:
            listening = self.port is not None  # HTTP mode: the events endpoint is listening
        return listening and await self._api()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- commands ----------------------------------------------------------------------
    async def _answer(self, channel: str, thread: str, text: str, user: str = "") -> Reply:
        # A direct message with the bot (channel id D…) is the user's own chat: always allowed.
        direct = channel.startswith("D")
        command = command_in(text)
        is_admin: bool | None = True
        if command and command.admins and not direct and self.config.may_subscribe != "anyone":
            is_admin = await self._is_admin(user, channel, command.name)
        caller = Caller(self.name, channel, thread, is_admin=is_admin, is_group=not direct, admins_are=ADMINS_ARE)
        return await asyncio.to_thread(self.commands.handle, caller, text)

    async def _is_admin(self, user: str, channel: str, command: str) -> bool | None:
        """Whether the user is a workspace admin or owner (users.info, kept ADMIN_CACHE_SECONDS);
        None when Slack could not tell us."""
        now = time.monotonic()
        if (known := self._admins.get(user)) and known[0] > now:
            return known[1]
        try:
            response = await self.client.users_info(user=user)
        except SlackApiError as exc:
            reason = _error(exc) or f"HTTP {getattr(exc.response, 'status_code', '?')}"
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            info = response.get("user") or {}
            is_admin = any(bool(info.get(k)) for k in ("is_admin", "is_owner", "is_primary_owner"))
            self._admins = {u: v for u, v in self._admins.items() if v[0] > now}  # forget the expired ones
            self._admins[user] = (now + ADMIN_CACHE_SECONDS, is_admin)
            return is_admin
        log.warning("Slack users.info for user %s failed (%s): /%s in channel %s is refused for now",
                    user or "?", reason, command, channel)
        return None

    async def _on_command(self, ack, respond, command: dict) -> None:
        await ack()  # within Slack's 3 seconds, before any work
        name = command.get("command", "")
        text = (command.get("text") or "").strip()
        line = text if name == UMBRELLA else f"{name} {text}"
        if name == UMBRELLA and not line:
            line = "help"
        channel, user = command.get("channel_id", ""), command.get("user_id", "")
        async with self.pacer.in_order(f"{channel}/{user}"):
            reply = await self._answer(channel, "", line, user)
            fallback, blocks = render_blocks(reply)
            # An ephemeral answer is seen by its user alone: it is paced as that user's own chat,
            # so a crowd asking in one channel is not answered one a second.
            await self.pacer.reply(
                f"{channel}/{user}" if reply.private else channel,
                lambda: _call(respond, text=fallback, blocks=blocks, unfurl_links=False,
                              response_type="ephemeral" if reply.private else "in_channel"),
                f"slack channel {channel}: reply to {name}")
            if reply.image is not None and not reply.private:
                await self.pacer.reply(channel, lambda: _call(self._upload, channel=channel, thread="",
                                                              image=reply.image),
                                       f"slack channel {channel}: picture for {name}")

    async def _on_mention(self, event: dict, say) -> None:
        text = _MENTION.sub("", event.get("text") or "").strip() or "help"
        channel = event.get("channel", "")
        async with self.pacer.in_order(f"{channel}/{event.get('user', '')}"):
            reply = await self._answer(channel, "", text, event.get("user", ""))
            fallback, blocks = render_blocks(reply)
            await self.pacer.reply(channel, lambda: _call(say, text=fallback, blocks=blocks,
                                                          thread_ts=event.get("thread_ts"), unfurl_links=False),
                                   f"slack channel {channel}: reply to a mention")
            if reply.image is not None:
                await self.pacer.reply(channel, lambda: _call(self._upload, channel=channel,
                                                              thread=event.get("thread_ts") or "", image=reply.image),
                                       f"slack channel {channel}: picture for a mention")

    async def _upload(self, channel: str, thread: str, image: Image):
        """The picture as a file shared in the channel (or thread), with files_upload_v2. An image block
        needs a public image_url, or a slack_file from this same upload, usable only once Slack has
        processed it: one call more and a race, for nothing the file does not show already."""
        try:
            return await self.client.files_upload_v2(channel=channel, thread_ts=thread or None, file=image.png,
                                                     filename="bieter-verlauf.png", title=image.caption,
                                                     alt_txt=image.alt)
        except SlackRequestError as exc:  # the upload step itself (not an API method) was refused
            raise Rejected(str(exc)) from exc

    async def _on_error(self, error: Exception, body: dict) -> None:
        channel = (body or {}).get("channel_id") or ((body or {}).get("event") or {}).get("channel")
        log.error("Slack handler failed in channel %s: %s", channel, error)

    # --- delivery ----------------------------------------------------------------------
    async def send(self, chat_id: str, thread_id: str, reply: Reply, reply_to: str | None = None) -> str:
        fallback, blocks = render_blocks(reply)
        # A follow-up goes into the story's thread; a chat subscribed inside a thread already gets
        # everything there (Slack threads do not nest).
        response = await _call(self.client.chat_postMessage, channel=chat_id, text=fallback, blocks=blocks,
                               thread_ts=thread_id or reply_to or None, unfurl_links=self.config.unfurl_links,
                               unfurl_media=self.config.unfurl_links)
        return str(response["ts"])

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        fallback, blocks = render_blocks(reply)
        await _call(self.client.chat_update, channel=chat_id, ts=message_id, text=fallback, blocks=blocks)

    def is_group(self, chat_id: str) -> bool:
        return False  # Slack has no per-group minute limit; one message per second per channel


async def _call(method, /, **kwargs):
    """One Web API call or response_url post, its errors told in the delivery errors the pacer and
    the worker act on. A response_url answers with a bare status (slack_sdk raises nothing): a 429
    or 5xx there must not pass for success."""
    try:
        response = await method(**kwargs)
    except SlackApiError as exc:
        raise _translate(exc) from exc
    except (ClientError, asyncio.TimeoutError, OSError) as exc:
        raise Transient(f"{type(exc).__name__}: {exc}") from exc
    status = getattr(response, "status_code", 200)
    if isinstance(response, WebhookResponse) and status != 200:
        if status == 429:
            retry_after = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
            raise RetryLater(_seconds(retry_after), "Slack rate limit on the response URL")
        if status >= 500:
            raise Transient(f"response URL: HTTP {status}")
        raise Rejected(f"response URL: HTTP {status} {response.body[:100]}")
    return response


def _seconds(header) -> float:
    value = (header[0] if isinstance(header, list) else header) or "1"
    try:
        return float(value)
    except ValueError:
        return 1.0


def _error(exc: SlackApiError) -> str:
    """Slack's error code; a 5xx from a proxy may have a plain-text body instead of JSON."""
    data = exc.response.data if exc.response is not None else None
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _translate(exc: SlackApiError) -> Exception:
    status = getattr(exc.response, "status_code", 200)
    error = _error(exc)
    if error == "ratelimited" or status == 429:
        headers = exc.response.headers or {}
        return RetryLater(_seconds(headers.get("Retry-After") or headers.get("retry-after")), "Slack rate limit")
    if error in GONE:
        return ChatGone(error)
    if status >= 500 or error in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
        return Transient(error or f"HTTP {status}")
    return Rejected(error or f"HTTP {status}")
