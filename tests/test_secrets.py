"""Secrets from files (NAME_FILE, as Docker and Compose secrets give them): read, refused clearly, never shown."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.conftest import ROOT

CONFIG = ROOT / "config" / "dealticker.toml"
TELEGRAM = "123456789:AAHk2o_very-secret-token-value-12345"
SECRETS = {  # every secret the configuration reads, with a value it accepts
    "DATABASE_URL": "postgresql+psycopg://dealticker:pa55-w0rd@db:5432/dealticker",
    "TELEGRAM_BOT_TOKEN": TELEGRAM,
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-0123",
    "SLACK_BOT_TOKEN": "xoxb-1-2-secretbot",
    "SLACK_APP_TOKEN": "xapp-1-secretapp",
    "SLACK_SIGNING_SECRET": "signing-secret-4567",
}


def _files(tmp_path: Path, values: dict[str, str]) -> dict[str, str]:
    """NAME_FILE variables for these values, each file written as `echo value > file` would."""
    env = {}
    for name, value in values.items():
        path = tmp_path / name.lower()
        path.write_text(f"  {value}\n", encoding="utf-8")
        env[f"{name}_FILE"] = str(path)
    return env


def _problems(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIG, env=env)
    return "\n".join(caught.value.problems)


def test_every_secret_read_from_a_file_gives_the_same_configuration_as_the_variable(tmp_path):
    from_files = load_config(CONFIG, env=_files(tmp_path, SECRETS))
    assert from_files == load_config(CONFIG, env=SECRETS)
    assert from_files.database_url == SECRETS["DATABASE_URL"]
    assert from_files.telegram.token == TELEGRAM and from_files.telegram.webhook_secret == "webhook-secret-0123"
    assert (from_files.slack.bot_token, from_files.slack.app_token, from_files.slack.signing_secret) == (
        "xoxb-1-2-secretbot", "xapp-1-secretapp", "signing-secret-4567")
    assert not any(value in repr(from_files) for name, value in SECRETS.items() if name != "DATABASE_URL")


def test_an_empty_file_leaves_its_platform_off(tmp_path):
    env = _files(tmp_path, {"TELEGRAM_BOT_TOKEN": "", "SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": ""})
    cfg = load_config(CONFIG, env=env)
    assert not cfg.telegram.enabled and not cfg.slack.enabled


def test_a_variable_and_its_file_together_are_refused_naming_both_and_showing_neither(tmp_path):
    env = {**SECRETS, **_files(tmp_path, SECRETS)}
    text = _problems(env)
    for name, value in SECRETS.items():
        assert f"environment: {name}_FILE: {name} is set too — set only one of them" in text
        assert value not in text


def test_an_unreadable_file_is_named_with_its_variable_and_path_never_its_content(tmp_path):
    binary = tmp_path / "binary"
    binary.write_bytes(b"123456789:\xff\xfesecret-bytes-in-the-token")
    text = _problems({"TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "missing"),
                      "SLACK_BOT_TOKEN_FILE": str(tmp_path),
                      "DATABASE_URL_FILE": str(binary)})
    assert f"environment: TELEGRAM_BOT_TOKEN_FILE: cannot read {tmp_path / 'missing'}: No such file or directory" in text
    assert f"environment: SLACK_BOT_TOKEN_FILE: cannot read {tmp_path}: Is a directory" in text
    assert f"environment: DATABASE_URL_FILE: cannot read {binary}: not UTF-8 text" in text
    assert "secret-bytes" not in text and "xff" not in text


def test_a_wrong_database_url_in_a_file_names_the_file_variable(tmp_path):
    text = _problems(_files(tmp_path, {"DATABASE_URL": "mysql://root@db/x"}))
    assert "environment: DATABASE_URL_FILE: must be an SQLite or PostgreSQL URL, not mysql" in text


def test_the_store_opens_the_database_the_file_names(tmp_path):
    """What a container does with DATABASE_URL_FILE: the database is created where the file says."""
    db = tmp_path / "from-file.db"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **_files(tmp_path, {"DATABASE_URL": f"sqlite:///{db}"})}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(CONFIG), "feeds"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert db.exists() and db.stat().st_size > 0


def test_check_config_refuses_both_without_a_traceback_or_the_token(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TELEGRAM_BOT_TOKEN": TELEGRAM,
           **_files(tmp_path, {"TELEGRAM_BOT_TOKEN": TELEGRAM})}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(CONFIG), "check-config"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN_FILE: TELEGRAM_BOT_TOKEN is set too" in result.stderr
    assert TELEGRAM not in result.stderr + result.stdout and "Traceback" not in result.stderr
