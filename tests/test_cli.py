"""The command line: options on either side of the command, exit codes, and every accepted
configuration surviving `poll --once` and `run`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import load_config
from bot.statuses import KEYS as ROLES
from bot.config_limits import LIMITS, known_languages
from tests.conftest import ROOT, write_config
from tests.factories import ORACLE_FEED
from tests.feedserver import Route

SHIPPED = (ROOT / "config" / "dealticker.toml").read_text(encoding="utf-8")


def _env(tmp_path: Path, db: str = "bot.db") -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": f"sqlite:///{tmp_path / db}"}


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env or {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


@pytest.mark.parametrize("args", [
    ["--config", "{cfg}", "check-config"], ["check-config", "--config", "{cfg}"],
    ["check-config", "-v", "--config", "{cfg}"], ["-v", "check-config", "--config={cfg}"],
])
def test_options_are_accepted_before_and_after_the_command(tmp_path, args):
    path = tmp_path / "x.toml"
    path.write_text(SHIPPED, encoding="utf-8")
    result = _cli(*[a.format(cfg=path) for a in args])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: OK")


def test_option_after_the_command_does_not_lose_the_one_before(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(SHIPPED.replace("per_host = 2", "per_host = 0"), encoding="utf-8")
    result = _cli("--config", str(path), "check-config", "-v")
    assert result.returncode == 2 and "poll.per_host" in result.stderr


@pytest.mark.parametrize("args", [["bogus"], ["poll"], ["check-config", "--nonsense"], []])
def test_usage_errors_exit_2(args):
    result = _cli(*args)
    assert result.returncode == 2 and "usage:" in result.stderr and "Traceback" not in result.stderr


def test_poll_once_exits_1_when_every_feed_failed_and_0_when_one_worked(tmp_path, feed_server):
    feed_server.routes["/gone"] = Route(status=500, body=b"down")
    config = write_config(tmp_path, [("Kaputt", feed_server.url("/gone")), ("Fehlt", feed_server.url("/missing"))])
    failed = _cli("poll", "--once", "--config", str(config), env=_env(tmp_path, "a.db"))
    assert failed.returncode == 1, failed.stderr
    assert "Kein abgerufener Feed war erreichbar" in failed.stderr and "Traceback" not in failed.stderr
    feed_server.routes["/ok"] = Route(body=ORACLE_FEED)
    config = write_config(tmp_path, [("Kaputt", feed_server.url("/gone")), ("Gut", feed_server.url("/ok"))])
    partly = _cli("poll", "--once", "--config", str(config), env=_env(tmp_path, "b.db"))
    assert partly.returncode == 0, partly.stderr
    assert "Zuschlag" in partly.stdout


def _terms(prefix: str, count: int) -> list[str]:
    width = int(LIMITS["term"].high)
    return [f"{prefix}{i:04d}".ljust(width, "q") for i in range(count)]


def _high(key: str) -> int | float:
    value = LIMITS[key].high
    return int(value) if float(value).is_integer() else value


def _padded(url: str, length: int) -> str:
    return url + ("&" if "?" in url else "?") + "pad=" + "x" * (length - len(url) - 5)


def upper_bound_config(feed_url: str, failing_url: str) -> str:
    """Every number at the top of its range, every list as long and every string as long as allowed."""
    n = _high
    host = ".".join(["a" * 63] * 3 + ["a" * 61])  # a 253-character host name
    lines = [
        "[bot]", f"languages = {json.dumps(sorted(known_languages()))}", 'timezone = "Pacific/Kiritimati"',
        *(f"{k} = {n('bot.' + k)}" for k in ("retention_days", "story_window_hours", "summary_max_chars",
                                            "summary_max_sentences")),
        "[poll]", *(f"{k} = {n('poll.' + k)}" for k in ("interval_seconds", "jitter_seconds", "timeout_seconds",
                                                       "max_bytes", "concurrency", "per_host", "max_backoff_seconds")),
        f"user_agent = {json.dumps('A' * n('poll.user_agent'))}",
        "[telegram]", f"channels = {json.dumps(['@c' + str(i).zfill(31) for i in range(n('telegram.channels'))])}",
        f"webhook_listen = {json.dumps(host)}", f"webhook_port = {n('telegram.webhook_port')}",
        "[slack]", f"channels = {json.dumps(['C' + str(i).zfill(20) for i in range(n('slack.channels'))])}",
        f"http_listen = {json.dumps(host)}", f"http_port = {n('slack.http_port')}",
        "[deal]", f"name = {json.dumps('D' * n('deal.name'))}",
        f"subject = {json.dumps(['*tiktok'] + _terms('s', n('deal.subject') - 1))}",
        f"threshold = {n('deal.threshold')}", f"bidder_weight = {n('deal.bidder_weight')}",
        *(f"{k} = {json.dumps(_terms(k[:3], n('deal.' + k)))}"
          for k in ("not_bidder_cues", "subject_references", "subject_as_buyer")),
        "[deal.deal_terms]", f"zuschlag = {n('deal.deal_terms[]')}",
        *(f"{t} = {n('deal.deal_terms[]')}" for t in _terms("d", n("deal.deal_terms") - 1)),
        "[deal.negative_terms]", *(f"{t} = {LIMITS['deal.negative_terms[]'].low}"
                                   for t in _terms("x", n("deal.negative_terms"))),
        "[deal.roles]", *(f"{role} = {json.dumps(_terms(role[:3], n('deal.roles[]')))}" for role in ROLES),
    ]
    for i in range(n("deal.bidders")):
        name = "Oracle" if i == 0 else f"Bieter {i:03d} ".ljust(n("deal.bidders[].name"), "b")
        aliases = ["Oracle"] * (i == 0) + _terms(f"a{i:03d}", n("deal.bidders[].aliases") - (i == 0))
        lines += ["[[deal.bidders]]", f"name = {json.dumps(name)}", f"aliases = {json.dumps(aliases)}"]
    for i in range(n("feeds")):
        url = _padded(feed_url if i == 0 else f"{failing_url}?n={i}", n("feeds[].url"))
        lines += ["[[feeds]]", f"name = {json.dumps(f'Feed {i:04d} '.ljust(n('feeds[].name'), 'f'))}",
                  f"url = {json.dumps(url)}", 'language = "de"']
    return "\n".join(lines) + "\n"


def test_a_config_at_every_upper_bound_survives_poll_and_run(tmp_path, feed_server):
    """Whatever check-config accepts, `poll --once` and `run` (poll, store, purge, deliver) survive."""
    feed_url = _padded(feed_server.url("/feed"), int(LIMITS["feeds[].url"].high))
    feed_server.routes[feed_url.split(str(feed_server.httpd.server_address[1]), 1)[1]] = Route(body=ORACLE_FEED)
    path = tmp_path / "upper.toml"
    path.write_text(upper_bound_config(feed_server.url("/feed"), feed_server.url("/missing")), encoding="utf-8")
    config = load_config(path, env={})  # what check-config accepts
    assert len(config.feeds) == LIMITS["feeds"].high and config.poll.interval_seconds == LIMITS[
        "poll.interval_seconds"].high

    poll = _cli("poll", "--once", "--config", str(path), env=_env(tmp_path, "poll.db"), timeout=300)
    assert poll.returncode == 0 and "Traceback" not in poll.stderr, poll.stderr[-2000:]
    assert "Zuschlag" in poll.stdout

    with open(tmp_path / "run.log", "w") as log:
        run = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--config", str(path)], cwd=ROOT,
                               env=_env(tmp_path, "run.db"), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300  # a hang guard, not a speed requirement
            while "Zuschlag" not in (tmp_path / "run.log").read_text() and run.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            run.send_signal(signal.SIGTERM)
            code = run.wait(60)
        finally:
            run.kill()
    output = (tmp_path / "run.log").read_text()
    assert code == 0 and "Zuschlag" in output and "Traceback" not in output, output[-3000:]


def test_feeds_lists_every_feed_and_retry_clears_the_back_off(tmp_path, feed_server):
    feed_server.routes["/ok"] = Route(body=ORACLE_FEED)
    feed_server.routes["/down"] = Route(status=503, body=b"busy")
    config = str(write_config(tmp_path, [("Gut", feed_server.url("/ok")), ("Kaputt", feed_server.url("/down"))]))
    env = _env(tmp_path)
    assert _cli("poll", "--once", "--config", config, env=env).returncode == 0

    listed = _cli("feeds", "--config", config, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "Gut: in Ordnung, zuletzt abgerufen" in listed.stdout
    assert ("Kaputt: gestört – Fehlerantwort des Servers (HTTP 503 Service Unavailable); 1 Fehlversuch; "
            "nächster Versuch") in listed.stdout
    assert feed_server.url("/down") in listed.stdout
    assert "Feeds: 1 gestört, 1 in Ordnung (2 Feeds)" in listed.stdout

    unknown = _cli("feeds", "--retry", "Nirgends", "--config", config, env=env)
    assert unknown.returncode == 2 and "Nirgends" in unknown.stderr

    retried = _cli("feeds", "--retry", "kaputt", "--config", config, env=env)
    assert retried.returncode == 0
    assert "1 gestörter Feed wird beim nächsten Abruf wieder versucht" in retried.stdout
    assert "Kaputt: wartet auf den nächsten Abruf" in retried.stdout
    hits = len(feed_server.hits("/down"))
    # Without the retry the feed would wait one poll interval; now the next poll asks it at once.
    _cli("poll", "--once", "--config", config, env=env)
    assert len(feed_server.hits("/down")) == hits + 1


def test_run_fails_on_a_failed_migration_as_poll_does(tmp_path):
    """`run` migrates in a child process; a database from a newer Dealticker (a revision this one lacks)
    must still stop it before anything else, with the one line and exit code `poll --once` gives."""
    import sqlite3

    with sqlite3.connect(tmp_path / "newer.db") as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('fromthefuture')")
    config = str(write_config(tmp_path, [("Gut", "http://127.0.0.1:9/feed")]))
    env = _env(tmp_path, "newer.db")
    run = _cli("run", "--config", config, env=env)
    poll = _cli("poll", "--once", "--config", config, env=env)
    assert run.returncode == poll.returncode == 1
    assert "dealticker run: CommandError: Can't locate revision identified by 'fromthefuture'" in run.stderr
    assert run.stderr.replace("dealticker run:", "dealticker poll:") == poll.stderr.replace(
        "Abruf von 1 Feed …\n", "")
