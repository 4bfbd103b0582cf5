"""Shared fixtures: configuration, stores on SQLite and PostgreSQL, the loopback feed server, the bot on the
Telegram and Slack stand-ins."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.commands import Commands
from bot.config import Config, FeedConfig, load_config
from bot.german import GermanText
from bot.store import Store
from bot.stories import StoryModel
from tests.feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
FEEDS = DATA / "feeds"
PG_URL = os.environ.get("DEALTICKER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def shipped_config() -> Config:
    return load_config(ROOT / "config" / "dealticker.toml", env={})


@pytest.fixture(scope="session")
def stories(shipped_config) -> StoryModel:
    """The shipped story model (its German text layer loads once per test session)."""
    return StoryModel.build(shipped_config.deal, GermanText())


@pytest.fixture
def config(shipped_config, tmp_path) -> Config:
    """The shipped deal configuration with no feeds and a throwaway SQLite database."""
    return dataclasses.replace(shipped_config, feeds=(), database_url=f"sqlite:///{tmp_path / 'test.db'}")


def with_feeds(config: Config, *feeds: tuple[str, str]) -> Config:
    return dataclasses.replace(config, feeds=tuple(FeedConfig(name=n, url=u, language="de") for n, u in feeds))


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any failure means: no PostgreSQL here
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}"


@contextmanager
def pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose tables (and advisory-lock keys) live in a fresh schema, dropped afterwards;
    skips the test when no PostgreSQL is reachable."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def _backend_store(backend: str, tmp_path: Path, migrated: bool) -> Iterator[Store]:
    with (nullcontext(f"sqlite:///{tmp_path / 'store.db'}") if backend == "sqlite" else pg_schema()) as url:
        s = Store(url)
        if migrated:
            s.migrate()
        try:
            yield s
        finally:
            s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A migrated store; the PostgreSQL one lives in its own schema, dropped afterwards."""
    with _backend_store(request.param, tmp_path, migrated=True) as s:
        yield s


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_store(request, tmp_path):
    """A store on an empty database (no migration run yet); on PostgreSQL in its own schema, dropped afterwards."""
    with _backend_store(request.param, tmp_path, migrated=False) as s:
        yield s


@pytest.fixture
def pg_url():
    """A database URL whose tables (and advisory-lock keys) live in a schema of their own."""
    with pg_schema() as url:
        yield url


@pytest.fixture
def commands(config):
    """Command logic on a migrated SQLite store of the test's own configuration."""
    store = Store(config.database_url)
    store.migrate()
    yield Commands(config, store)
    store.close()


@pytest.fixture
def feed_server():
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def telegram_stub():
    from tests.telegram_stub import TelegramStub
    with TelegramStub() as stub:
        yield stub


@pytest.fixture
async def telegram_bot(config, telegram_stub, feed_server):
    from tests.chat_bots import TelegramBot  # which imports this module's helpers: imported when used
    async with TelegramBot(config, telegram_stub, feed_server) as bot:
        yield bot


@pytest.fixture
def slack_stub():
    from tests.chat_bots import CHANNEL
    from tests.slack_stub import SlackStub
    with SlackStub() as stub:
        stub.add_channel(CHANNEL, "tiktok-deal")
        stub.add_user("U1", "anna", is_admin=True)  # a workspace admin: may (un)subscribe the channel
        yield stub


@pytest.fixture
async def slack_bot(config, slack_stub, feed_server):
    from tests.chat_bots import SlackBot
    async with SlackBot(config, slack_stub, feed_server) as bot:
        yield bot


def feed_bytes(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def write_config(tmp_path: Path, feeds: list[tuple[str, str]]) -> Path:
    """The shipped configuration with these (name, url) feeds instead of the shipped ones."""
    config = (ROOT / "config" / "dealticker.toml").read_text(encoding="utf-8")
    config = config[: config.index("# Feeds to poll.")]
    config += "".join(f"[[feeds]]\nname = {json.dumps(n)}\nurl = {json.dumps(u)}\nlanguage = \"de\"\n"
                      for n, u in feeds)
    path = tmp_path / "dealticker.toml"
    path.write_text(config, encoding="utf-8")
    return path


def start_dealticker(tmp_path: Path, feeds: list[tuple[str, str]], env: dict[str, str] | None = None,
                     log_name: str = "run.log", args: tuple[str, ...] = ("run",)) -> subprocess.Popen:
    """`dealticker run` as its own process: the shipped deal, these feeds, a SQLite file in tmp_path."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DEALTICKER_CONFIG": str(write_config(tmp_path, feeds)),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", **(env or {})}
    log = open(tmp_path / log_name, "w")
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=full_env, stdout=log,
                            stderr=subprocess.STDOUT)
