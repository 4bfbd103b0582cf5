"""Two instances on one PostgreSQL: one polls and receives, both deliver, nothing twice, a killed leader is replaced
(on Telegram and on Slack)."""
from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import create_engine, insert, select, text, update

from bot import schema
from bot.leader import Leadership
from bot.store import Store, utcnow
from bot.store.lease import LEADER_KEY, InstanceLock
from bot.store.outbox import CHAT_HOLD
from tests.chat_bots import SECRET
from tests.conftest import PG_URL, start_dealticker, write_config
from tests.slack_stub import SlackStub, deliver, slash_command_body
from tests.telegram_stub import TelegramStub

CHATS = [str(30000 + i) for i in range(400)]
ASKER = 777  # a private chat that is not subscribed and asks for /help
ITEMS = {
    "oracle": """<item><title>Oracle erhält den Zuschlag für das US-Geschäft von Tiktok</title>
<link>https://example.org/oracle-tiktok</link><guid>oracle-tiktok-1</guid>
<description>Bytedance hat sich für Oracle als Käufer entschieden. Walmart ist als Partner dabei.</description>
<pubDate>Sun, 13 Sep 2020 20:00:00 +0000</pubDate></item>""",
    "frist": """<item><title>Trump verlängert Frist für den Verkauf von Tiktok um 75 Tage</title>
<link>https://example.org/frist-tiktok</link><guid>frist-tiktok-2</guid>
<description>Der US-Präsident gibt Bytedance mehr Zeit, das US-Geschäft von Tiktok an einen Käufer abzugeben.
</description><pubDate>Mon, 14 Sep 2020 09:00:00 +0000</pubDate></item>""",
}


def _feed(*names: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Test</title>'
            f'<language>de</language>{"".join(ITEMS[n] for n in names)}</channel></rss>')


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def test_one_leader_at_a_time_and_a_new_one_when_its_session_ends(pg_url, tmp_path):
    first, second = Store(pg_url), Store(pg_url)
    a, b = InstanceLock(first.engine), InstanceLock(second.engine)
    try:
        assert (a.check().leader, b.check().leader) == (True, False)
        assert a.check().leader and b.check().instances == 2
        a.release()  # the leader's session ends (as when its process dies)
        # (the server ends the session a moment after the client closed it)
        _wait(lambda: b.check().leader, 5, "the second takes the lock")
        assert b.check().instances == 1
        assert not a.check().leader  # back, it joins as a follower
    finally:
        a.release()
        b.release()
        first.close()
        second.close()
    # SQLite: one instance by definition, always the leader.
    lone = Store(f"sqlite:///{tmp_path / 'lone.db'}")
    assert InstanceLock(lone.engine).check().leader
    lone.close()


async def test_a_leader_whose_session_is_cut_stops_polling_and_takes_the_lock_again(pg_url):
    store = Store(pg_url)
    events: list[str] = []

    async def gain() -> None:
        events.append("poll")

    async def loss() -> None:
        events.append("stop polling")

    leadership = Leadership(store, {}, gain, loss)
    lock = leadership.lock
    try:
        assert await leadership.confirm()
        admin = create_engine(PG_URL)
        with admin.begin() as conn:  # what a database restart or a dropped connection does
            assert conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
                " AND classid = :key AND objid = hashtext(:schema)::oid"),
                {"key": LEADER_KEY, "schema": pg_url.rsplit("%3D", 1)[1]}).scalar() == 1
        admin.dispose()
        assert not await leadership.confirm()  # noticed at the next check (or before a poll)
        assert await leadership.confirm()  # a fresh session, and the lock is free
        assert events == ["poll", "stop polling", "poll"]
    finally:
        lock.release()
        store.close()


def test_two_instances_started_together_migrate_one_after_the_other(pg_url):
    stores = [Store(pg_url), Store(pg_url)]
    errors: list[Exception] = []

    def migrate(store: Store, gate: threading.Barrier) -> None:
        gate.wait()
        try:
            store.migrate()
        except Exception as exc:  # what the second instance would have died of
            errors.append(exc)

    gate = threading.Barrier(2)
    threads = [threading.Thread(target=migrate, args=(s, gate)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "the migrations blocked each other"
    assert not errors
    assert stores[0].subscribe("telegram", "1") and not stores[1].subscribe("telegram", "1")
    for store in stores:
        store.close()


def _queue(store: Store, chats: int, alerts: int) -> None:
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(insert(schema.deliveries), [
            {"alert_id": a, "followup_id": 0, "platform": "telegram", "chat_id": str(c), "thread_id": "",
             "status": "pending", "attempts": 0, "next_attempt": now, "needs_edit": False, "created": now}
            for a in range(1, alerts + 1) for c in range(chats)])


def test_two_instances_claim_whole_chats_never_the_same(pg_url):
    first, second = Store(pg_url), Store(pg_url)
    first.migrate()
    _queue(first, chats=200, alerts=3)
    claimed: dict[str, list] = {}

    def claim(name: str, store: Store, gate: threading.Barrier) -> None:
        gate.wait()
        claimed[name] = store.claim_due(["telegram"], 120)

    gate = threading.Barrier(2)
    threads = [threading.Thread(target=claim, args=(n, s, gate)) for n, s in (("a", first), ("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    chats = {n: Counter(r.chat_id for r in rows) for n, rows in claimed.items()}
    assert not set(chats["a"]) & set(chats["b"])
    assert len(chats["a"]) + len(chats["b"]) == 200  # 120 and the 80 left, whichever came first
    assert set(chats["a"].values()) | set(chats["b"].values()) == {3}  # a chat's every due row
    assert [r.alert_id for r in claimed["a"] if r.chat_id == next(iter(chats["a"]))] == [1, 2, 3]
    assert first.claim_due(["telegram"]) == [] and second.claim_due(["telegram"]) == []  # all held

    # A lease that lapsed (its holder died or stalled) passes on; the old holder's claim then fails.
    row = claimed["a"][0]
    with first.engine.begin() as conn:
        conn.execute(update(schema.deliveries).where(schema.deliveries.c.chat_id == row.chat_id)
                     .values(claimed=row.lease - CHAT_HOLD - timedelta(seconds=1)))
    taken = [r for r in second.claim_due(["telegram"]) if r.id == row.id]
    assert taken and not first.claim_delivery(row.id, row.lease)
    assert second.claim_delivery(row.id, taken[0].lease)
    # The holder itself may go on with the chats it still holds at once (an edit right after the send).
    mine = [f"telegram:{c}" for c in chats["a"] if c != row.chat_id]
    assert {r.chat_id for r in first.claim_due(["telegram"], mine=mine)} == set(chats["a"]) - {row.chat_id}
    first.close()
    second.close()


def _start(tmp_path, stub: TelegramStub, url: str, name: str, host: str) -> subprocess.Popen:
    # The two instances reach the stand-in under different host names, so its records tell them apart.
    return start_dealticker(tmp_path, [("Test", f"file://{tmp_path / 'feed.rss'}")], log_name=f"{name}.log", env={
        "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": stub.token, "PTB_TIMEDELTA": "1",
        "TELEGRAM_API_URL": stub.base_url.replace("127.0.0.1", host)})


def _log(tmp_path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()


@contextmanager
def _killed_at_the_end() -> Iterator[list[subprocess.Popen]]:
    """The instances a test starts; whichever still runs at the end (a failed test) is killed."""
    procs: list[subprocess.Popen] = []
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def _kill_the_leader_and_publish_again(tmp_path, store: Store, leader: subprocess.Popen, follower: subprocess.Popen,
                                       alerts, targets: list[str]) -> int:
    """SIGKILL to the leader mid fan-out, then a new item in the feed for the survivor to poll and deliver;
    then the survivor is stopped. Returns how many alerts had been sent at the kill."""
    leader.send_signal(signal.SIGKILL)
    leader.wait(10)
    killed_at = len(alerts())
    (tmp_path / "feed.rss").write_text(_feed("frist", "oracle"), encoding="utf-8")
    _wait(lambda: sum("Frist" in text for _, text in alerts()) >= len(targets)
          and not store.delivery_counts().get("pending"), 120, "the survivor polls the new item and delivers everything")
    time.sleep(1.5)  # anything sent twice would arrive now
    follower.send_signal(signal.SIGTERM)
    follower.wait(30)
    return killed_at


def _assert_every_alert_once(store: Store, alerts: list[tuple[str, str]], targets: list[str]) -> None:
    oracle = Counter(chat for chat, text in alerts if "Oracle erhält" in text)
    assert Counter(chat for chat, text in alerts if "Frist" in text) == Counter(targets)  # polled by the survivor
    assert set(oracle) <= set(targets) and set(oracle.values()) == {1}, [c for c, n in oracle.items() if n > 1]
    # Rows the killed leader had claimed in the instant before its request went out stay "sending"
    # (then "uncertain") and are not sent again; every other row reached its chat, once.
    with store.engine.connect() as conn:
        cut_off = set(conn.execute(select(schema.deliveries.c.chat_id).where(
            schema.deliveries.c.status == "sending")).scalars())
    assert len(cut_off) <= 2, cut_off
    assert not set(targets) - cut_off - set(oracle)


def test_leader_killed_during_fan_out(tmp_path, pg_url):
    (tmp_path / "feed.rss").write_text(_feed("oracle"), encoding="utf-8")
    store = Store(pg_url)
    store.migrate()
    for chat in CHATS:
        store.subscribe("telegram", chat)
    with TelegramStub() as stub, _killed_at_the_end() as procs:
        stub.limit_rate(per_second=30, per_chat_per_second=1, per_group_per_minute=20)
        port = stub.port
        alerts = lambda: [(str(m["chat_id"]), m["text"]) for m in stub.sent() if m["chat_id"] != ASKER]  # noqa: E731
        procs.append(leader := _start(tmp_path, stub, pg_url, "leader", "127.0.0.1"))
        _wait(lambda: "the leader now" in _log(tmp_path, "leader"), 60, "the first instance leads")
        procs.append(follower := _start(tmp_path, stub, pg_url, "follower", "localhost"))
        _wait(lambda: "instances sharing this database: 2" in _log(tmp_path, "follower"), 60,
              "the second one joins")
        stub.push_message(ASKER, "/help")
        _wait(lambda: stub.sent(ASKER), 30, "the leader answers /help")
        _wait(lambda: stub.hosts_of("sendMessage").count(f"localhost:{port}") >= 20, 60,
              "the follower delivers too")
        hosts_before_kill = Counter(stub.hosts_of("getUpdates"))
        conflicts_before_kill = [f for f in stub.failures if f["status"] == 409]
        stub.push_message(ASKER, "/help")  # answered by the survivor
        killed_at = _kill_the_leader_and_publish_again(tmp_path, store, leader, follower, alerts, CHATS)
    assert killed_at < len(CHATS), "the fan-out finished before the kill"
    assert not conflicts_before_kill and set(hosts_before_kill) == {f"127.0.0.1:{port}"}, \
        "only the leader may take updates"
    log = _log(tmp_path, "follower")
    assert follower.returncode == 0 and "Traceback" not in log, log[-3000:]
    assert "this instance is the leader now" in log and log.rstrip().endswith("Dealticker stopped (SIGTERM).")
    assert stub.token not in log + _log(tmp_path, "leader")

    _assert_every_alert_once(store, alerts(), CHATS)
    # Each /help answered once: the first by the leader, the second by the survivor.
    assert len(stub.sent(ASKER)) == 2
    store.close()


def free_ports(count: int) -> list[int]:
    import socket
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _start_on_slack(tmp_path, stub: SlackStub, url: str, name: str, host: str, port: int) -> subprocess.Popen:
    # Each instance has its own events endpoint (a load balancer would stand in front of both) and
    # reaches the stand-in under its own host name, so the stand-in's records say who called.
    config = write_config(tmp_path / name, [("Test", f"file://{tmp_path / 'feed.rss'}")])
    config.write_text(re.sub(r"(?m)^http_port = \d+", f"http_port = {port}", config.read_text(encoding="utf-8")),
                      encoding="utf-8")
    return start_dealticker(tmp_path, [], log_name=f"{name}.log", env={
        "DEALTICKER_CONFIG": str(config), "DATABASE_URL": url, "SLACK_BOT_TOKEN": stub.token,
        "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": stub.base_url.replace("127.0.0.1", host)})


def _slash(stub: SlackStub, port: int, name: str) -> int:
    body = slash_command_body("/dealticker", "help", "D0ASKER", "U1", stub.response_url(name))
    status, _, _ = asyncio.run(deliver(f"http://127.0.0.1:{port}/slack/events", body, SECRET))
    return status


def test_two_instances_on_slack_share_the_fan_out_and_a_killed_leader_is_replaced(tmp_path, pg_url):
    channels = [f"C{i:07d}" for i in range(200)]
    (tmp_path / "feed.rss").write_text(_feed("oracle"), encoding="utf-8")
    for name in ("leader", "follower"):
        (tmp_path / name).mkdir()
    store = Store(pg_url)
    store.migrate()
    for channel in channels:
        store.subscribe("slack", channel)
    leader_port, follower_port = free_ports(2)
    with SlackStub() as stub, _killed_at_the_end() as procs:
        stub.limit_rate(per_channel_per_second=1)
        alerts = lambda: [(p.channel, p.text or "") for p in stub.posts]  # noqa: E731
        procs.append(leader := _start_on_slack(tmp_path, stub, pg_url, "leader", "127.0.0.1", leader_port))
        _wait(lambda: "the leader now" in _log(tmp_path, "leader"), 60, "the first instance leads")
        procs.append(follower := _start_on_slack(tmp_path, stub, pg_url, "follower", "localhost", follower_port))
        _wait(lambda: "instances sharing this database: 2" in _log(tmp_path, "follower"), 60, "the second joins")
        # Slack sends each request to one endpoint: whichever instance gets it answers, once.
        assert _slash(stub, follower_port, "asked-follower") == 200
        assert _slash(stub, leader_port, "asked-leader") == 200
        posted_by = lambda host: [c for c in stub.calls("chat.postMessage") if c.host == host]  # noqa: E731
        _wait(lambda: len(posted_by(f"localhost:{stub.port}")) >= 20, 60, "the follower delivers too")
        killed_at = _kill_the_leader_and_publish_again(tmp_path, store, leader, follower, alerts, channels)
    assert killed_at < len(channels), "the fan-out finished before the kill"
    assert posted_by(f"127.0.0.1:{stub.port}") and posted_by(f"localhost:{stub.port}"), "both delivered"
    log = _log(tmp_path, "follower")
    assert follower.returncode == 0 and "Traceback" not in log, log[-3000:]
    assert "this instance is the leader now" in log
    assert stub.token not in log + _log(tmp_path, "leader") and SECRET not in log + _log(tmp_path, "leader")
    assert len(stub.responses("asked-follower")) == len(stub.responses("asked-leader")) == 1

    _assert_every_alert_once(store, alerts(), channels)
    store.close()

