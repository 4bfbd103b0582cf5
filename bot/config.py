"""Load and validate the TOML configuration into one frozen, typed object."""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = Path("config/dealticker.toml")
DEFAULT_DATABASE_URL = "sqlite:///data/dealticker.db"


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds one line per problem."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    language: str | None = None


@dataclass(frozen=True)
class BidderConfig:
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class DealConfig:
    name: str
    subject: tuple[str, ...]
    deal_terms: tuple[tuple[str, float], ...]
    negative_terms: tuple[tuple[str, float], ...]
    bidders: tuple[BidderConfig, ...]
    threshold: float = 0.7
    bidder_weight: float = 0.4
    roles: tuple[tuple[str, tuple[str, ...]], ...] = ()
    not_bidder_cues: tuple[str, ...] = ()
    # Names that are never bidders whatever the text says (the seller's people, politicians), and names
    # found as bidders by mistake: both are left out of /bidders and of "Neuer Bieter" alerts.
    not_bidders: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    subject_references: tuple[str, ...] = ()
    subject_as_buyer: tuple[str, ...] = ()
    # What forces or decides the deal without being a sale word (a law, a ruling, a deadline),
    # with weights like deal_terms; counted only where the subject is the one concerned.
    drivers: tuple[tuple[str, float], ...] = ()
    not_driver_cues: tuple[str, ...] = ()
    subject_as_seller: tuple[str, ...] = ()
    # Words for a part of a company ("Sparte", "Tochter"): "Sparte von Covestro" changing hands is
    # not Covestro changing hands.
    subject_parts: tuple[str, ...] = ()
    # Words for a merger of two ("Fusion"): "Deutsche Bank und Commerzbank verhandeln über Fusion" with no
    # bidder named is another merger.
    merger_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class PollConfig:
    interval_seconds: int = 600
    jitter_seconds: int = 60
    timeout_seconds: float = 20.0
    max_bytes: int = 5_000_000
    concurrency: int = 32
    per_host: int = 2
    max_backoff_seconds: int = 6 * 3600
    user_agent: str = "Dealticker/0.1 (+https://github.com/dealticker/dealticker)"


@dataclass(frozen=True)
class TelegramConfig:
    """Telegram is on when a token is set. Secrets never appear in repr or logs."""

    token: str = field(default="", repr=False)
    api_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str = field(default="", repr=False)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    channels: tuple[str, ...] = ()
    link_previews: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class SlackConfig:
    """Slack is on with a bot token plus an app token (Socket Mode) or a signing secret (HTTP)."""

    bot_token: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    signing_secret: str = field(default="", repr=False)
    api_url: str | None = None
    http_listen: str = "0.0.0.0"
    http_port: int = 3000
    channels: tuple[str, ...] = ()
    unfurl_links: bool = False
    may_subscribe: str = "admins"  # who may (un)subscribe a channel: "admins" (workspace admins/owners) or "anyone"

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token and (self.app_token or self.signing_secret))

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)


@dataclass(frozen=True)
class ServerConfig:
    """The health and metrics HTTP server (bot.server): off unless an address to listen on is set."""

    listen: str = ""
    port: int = 9108

    @property
    def enabled(self) -> bool:
        return bool(self.listen)


@dataclass(frozen=True)
class StorageConfig:
    """How long what the bot did is remembered ([storage])."""

    delivery_retention_days: int = 90  # delivery records in a final state; see OutboxStore.purge_deliveries


@dataclass(frozen=True)
class Config:
    deal: DealConfig
    feeds: tuple[FeedConfig, ...]
    poll: PollConfig = field(default_factory=PollConfig)
    languages: tuple[str, ...] = ("de",)
    timezone: str = "Europe/Berlin"
    retention_days: int = 90
    story_window_hours: int = 48
    summary_max_chars: int = 300
    summary_max_sentences: int = 2
    database_url: str = DEFAULT_DATABASE_URL
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    source: str = ""


def config_path(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("DEALTICKER_CONFIG") or DEFAULT_PATH)


def load_config(path: Path | str | None = None, env: dict[str, str] | None = None) -> Config:
    """Read, validate and freeze the configuration; raise ConfigError listing every problem."""
    env = dict(os.environ) if env is None else env
    path = Path(path) if path else config_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, [f"{path}: file not found — copy config/dealticker.toml or set DEALTICKER_CONFIG"])
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"{path}: cannot read the file ({exc})"])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"{path}: not valid TOML: {exc} — check quotes, brackets and commas there"])
    from bot.config_schema import build  # the schema is long; keep it in its own module

    problems: list[tuple[str, str]] = []
    cfg = build(raw, problems, env)
    if problems:
        # In file order, the environment's problems last, so the list reads top to bottom.
        located = sorted((float("inf") if where.isupper() else _line_of(text, where), where, msg)
                         for where, msg in problems)
        raise ConfigError(path, [f"environment: {where}: {msg}" if line == float("inf") else
                                 f"{path}:{line}: {where}: {msg}" for line, where, msg in located])
    return cfg.__class__(**{**cfg.__dict__, "source": str(path)})


_PATH_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_-]+)|\[(\d+)\]')


def _line_of(text: str, where: str) -> int:
    """Best-effort line number for a TOML path like `feeds[3].url` or `deal.deal_terms."*kauf"`
    (tomllib keeps no positions). An index counts `[[table]]` headers; on a key it points into
    the key's value, which starts on the key's line."""
    parts: list[tuple[str, int | None]] = []
    for quoted, bare, index in _PATH_PART.findall(where):
        if index and parts:
            parts[-1] = (parts[-1][0], int(index))
        elif not index:
            parts.append((json.loads(f'"{quoted}"') if quoted else bare, None))
    lines = text.splitlines()
    start, line_no = 0, 1
    table: list[str] = []
    for name, index in parts:
        table.append(name)
        header = re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(re.escape(t) for t in table) + r"\s*\]\]?\s*(#.*)?$")
        key = re.compile(r"^\s*(?:" + re.escape(name) + "|" + re.escape(json.dumps(name, ensure_ascii=False))
                         + "|'" + re.escape(name) + r"')\s*=")
        headers_seen = -1
        for i in range(start, len(lines)):
            if header.match(lines[i]):
                headers_seen += 1
                if headers_seen == (index or 0):
                    start, line_no = i + 1, i + 1
                    break
            elif key.match(lines[i]):
                start, line_no = i, i + 1
                break
    return line_no


def env_secret(env: dict[str, str], name: str, problems: list[tuple[str, str]]) -> str:
    """A secret from NAME, or from the file NAME_FILE names (Docker and Compose secrets). An empty file is
    no secret, so one Compose file can name the files of platforms that stay off."""
    value = env.get(name, "").strip()
    path = env.get(f"{name}_FILE", "").strip()
    if value and path:
        problems.append((f"{name}_FILE", f"{name} is set too — set only one of them"))
    elif path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:  # never the text: a decode error quotes the secret's bytes
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            problems.append((f"{name}_FILE", f"cannot read {path}: {reason or exc}"))
    return value
