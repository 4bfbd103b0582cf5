"""The configuration: the shipped file is valid, and every mistake is named with its line."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, _line_of, load_config
from bot.config_limits import LIMITS, doc_anchor
from tests.conftest import ROOT

SHIPPED = (ROOT / "config" / "dealticker.toml").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dealticker.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_covers_outlets_and_both_rounds(shipped_config):
    hosts = {f.url.split("/")[2] for f in shipped_config.feeds}
    assert len(hosts) >= 12, hosts
    names = {b.name for b in shipped_config.deal.bidders}
    assert {"Microsoft", "Walmart", "Oracle", "Twitter", "Triller"} <= names  # 2020
    assert {"Silver Lake", "MGX", "Project Liberty", "Perplexity", "Amazon"} <= names  # 2024-2026
    assert shipped_config.languages == ("de",)
    assert shipped_config.database_url.startswith("sqlite:///")


def test_config_is_frozen(shipped_config):
    with pytest.raises(AttributeError):
        shipped_config.timezone = "UTC"


def test_database_url_comes_from_environment(tmp_path):
    cfg = load_config(_write(tmp_path, SHIPPED), env={"DATABASE_URL": "postgresql+psycopg://db/x"})
    assert cfg.database_url == "postgresql+psycopg://db/x"


def test_database_url_that_cannot_be_opened_is_refused_without_showing_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, SHIPPED), env={"DATABASE_URL": "postgres-secret@host"})
    assert caught.value.problems == ["environment: DATABASE_URL: is not a database URL — e.g. "
                                     "sqlite:///data/dealticker.db or postgresql+psycopg://user@host/db"]


def test_environment_names_the_file(tmp_path):
    path = _write(tmp_path, SHIPPED.replace('name = "TikTok-Verkauf"', 'name = "Anderer Deal"'))
    assert load_config(env={"DEALTICKER_CONFIG": str(path)}).deal.name == "Anderer Deal"


def test_every_problem_is_listed_with_its_line(tmp_path):
    broken = SHIPPED.replace("interval_seconds = 600", "interval_seconds = \"oft\"")
    broken = broken.replace('url = "https://t3n.de/rss.xml"', 'url = "t3n.de/rss.xml"')
    broken = broken.replace("[poll]\n", "[poll]\nintervall = 5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, broken), env={})
    problems = caught.value.problems
    assert len(problems) == 3, problems
    by_key = {p.split(": ")[1]: p for p in problems}
    lines = broken.splitlines()
    for key, needle in (("poll.interval_seconds", 'interval_seconds = "oft"'),
                        ("poll.intervall", "intervall = 5")):
        line_no = int(by_key[key].split(":")[1])
        assert needle in lines[line_no - 1], by_key[key]
    assert "did you mean 'interval_seconds'" in by_key["poll.intervall"]
    url_problem = next(p for p in problems if ".url" in p)
    assert 't3n.de/rss.xml' in lines[int(url_problem.split(":")[1]) - 1]
    assert "http://, https:// or file://" in url_problem


def test_toml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, SHIPPED.replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin')),
                    env={})
    assert "not valid TOML" in caught.value.problems[0] and "line" in caught.value.problems[0]


@pytest.mark.parametrize("change, expected", [
    ('timezone = "Europe/Berlin"', 'unknown time zone'),
    ('"*verkauf$" = 1.0', 'the weight must be a number'),
    ('"tiktok shop" = -1.0', 'the weight must be negative'),
    ('subject = ["*tiktok", "*tik tok", "*bytedance", "*byte dance", "douyin"]', 'needs at least one term'),
])
def test_wrong_values_are_explained(tmp_path, change, expected):
    replacement = {
        'timezone = "Europe/Berlin"': 'timezone = "Mars/Olympus"',
        '"*verkauf$" = 1.0': '"*verkauf$" = "viel"',
        '"tiktok shop" = -1.0': '"tiktok shop" = 1.0',
        'subject = ["*tiktok", "*tik tok", "*bytedance", "*byte dance", "douyin"]': "subject = []",
    }[change]
    assert change in SHIPPED
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, SHIPPED.replace(change, replacement)), env={})
    assert any(expected in p for p in caught.value.problems), caught.value.problems


def _cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", **(env_extra or {})})


def test_check_config_cli(tmp_path):
    ok = _cli("--config", str(_write(tmp_path, SHIPPED)), "check-config")
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = _cli("--config", str(_write(tmp_path, SHIPPED.replace("per_host = 2", "per_host = 0"))), "check-config")
    assert bad.returncode == 2
    assert "poll.per_host: must be between 1 and 16, not 0" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_run_refuses_invalid_config_without_traceback(tmp_path):
    result = _cli("--config", str(_write(tmp_path, "[deal]\n")), "run")
    assert result.returncode == 2
    assert "feeds" in result.stderr and "Traceback" not in result.stderr


def test_secrets_come_from_the_environment_or_a_file_and_never_show(tmp_path):
    token = "123456789:AAHk2o_very-secret-token-value-12345"
    secret_file = tmp_path / "token"
    secret_file.write_text(token + "\n")
    cfg = load_config(_write(tmp_path, SHIPPED), env={"TELEGRAM_BOT_TOKEN_FILE": str(secret_file),
                                                      "SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_APP_TOKEN": "xapp-1"})
    assert cfg.telegram.enabled and cfg.telegram.token == token
    assert cfg.slack.enabled and cfg.slack.socket_mode
    assert token not in repr(cfg) and "xoxb-1-2" not in repr(cfg)
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, SHIPPED), env={"TELEGRAM_BOT_TOKEN": "not-a-token",
                                                    "SLACK_BOT_TOKEN": "xoxp-user-token"})
    text = "\n".join(caught.value.problems)
    assert "environment: TELEGRAM_BOT_TOKEN: does not look like a bot token" in text
    assert "SLACK_BOT_TOKEN: must be the bot token that starts with xoxb-" in text
    assert "not-a-token" not in text and "xoxp-user-token" not in text


# Values the check once let through, after which `poll` crashed or no alert was ever sent:
# (text in the shipped file, its replacement, the option the problem must name, text on the named line).
NONSENSE = [
    ("\nretention_days = 90", "\nretention_days = 1000000000", "bot.retention_days", None),
    ("story_window_hours = 48", "story_window_hours = 1000000000000", "bot.story_window_hours", None),
    ("interval_seconds = 600", "interval_seconds = 1000000000000000", "poll.interval_seconds", None),
    ("threshold = 0.7", "threshold = 7", "deal.threshold", None),
    ('languages = ["de"]', 'languages = ["deutsch"]', "bot.languages[0]", None),
    ("bidder_weight = 0.4", "bidder_weight = -3", "deal.bidder_weight", None),
    ('"bieter" = 1.0', '"bieter" = 60', "vocabulary.deal_terms.bieter", None),
    ('"tiktok shop" = -1.0', '"tiktok shop" = -5', 'deal.negative_terms."tiktok shop"', None),
    ('"verkaufen" = 0.6', '"*" = 0.6', 'vocabulary.deal_terms."*"', None),
    ('"genehmig" = 0.5', '"genehmig" = 5', "vocabulary.drivers.genehmig", None),
    ('"*kernfusion" = -0.5', '"*kernfusion" = 0.5', 'vocabulary.negative_terms."*kernfusion"', None),
    ('"genehmig" = 0.5', '"genehmig" = 0.5\n"*fusion" = 0.4', 'vocabulary.drivers."*fusion"', '"*fusion" = 0.4'),
    ('[vocabulary]\n', '[vocabulary]\nsubject = ["x"]\n', "vocabulary.subject", 'subject = ["x"]'),
    ('subject_as_buyer = ["kauft"', 'subject_as_buyer = ["*"', "vocabulary.subject_as_buyer[0]", None),
    ('name = "heise online"', 'name = "T3N"', "feeds[10].name", 'name = "t3n"'),
    ('url = "https://t3n.de/rss.xml"', 'url = "https://www.spiegel.de/wirtschaft/index.rss"', "feeds[10].url", None),
    ('url = "https://t3n.de/rss.xml"', 'url = "ftp://t3n.de/rss.xml"', "feeds[10].url", None),
    ('url = "https://t3n.de/rss.xml"', 'url = "https://t3n.de/' + "x" * 2000 + '"', "feeds[10].url", None),
    ('name = "t3n"', 'name = "' + "t" * 201 + '"', "feeds[10].name", None),
    ('url = "https://t3n.de/rss.xml"\nlanguage = "de"', 'url = "https://t3n.de/rss.xml"\nlanguage = "deutsch"',
     "feeds[10].language", 'language = "deutsch"'),
    ("http_port = 3000", "http_port = -5", "slack.http_port", None),
    ("webhook_port = 8443", "webhook_port = 70000", "telegram.webhook_port", None),
    ('webhook_listen = "0.0.0.0"', 'webhook_listen = "mein server"', "telegram.webhook_listen", None),
    ("channels = []\n# Show", 'channels = ["Allgemein"]\n# Show', "telegram.channels[0]", "channels ="),
    ('user_agent = "Dealticker/0.1 (German deal-news alert bot)"', 'user_agent = "' + "x" * 100_000 + '"',
     "poll.user_agent", None),
    ('user_agent = "Dealticker/0.1 (German deal-news alert bot)"', 'user_agent = "Dealticker\\r\\nX: y"',
     "poll.user_agent", None),
    ('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlinn"', "bot.timezone", None),
    ("summary_max_chars = 300", "summary_max_chars = 100000", "bot.summary_max_chars", None),
    ("max_bytes = 5000000", "max_bytes = 10000000000", "poll.max_bytes", None),
    ('name = "Walmart"', 'name = "' + "W" * 150 + '"', "deal.bidders[1].name", None),
    ('# database_url = "sqlite:///data/dealticker.db"', 'database_url = "mysql://db/deals"', "bot.database_url", None),
    ('"verbot" = 0.5\n', '"verbot" = 5\n', "deal.drivers.verbot", '"verbot" = 5'),
    ('"verbot" = 0.5\n', '"verbot" = 0.5\n"*us-geschaeft" = 0.5\n', 'deal.drivers."*us-geschaeft"',
     '"*us-geschaeft" = 0.5'),
    ('not_driver_cues = ["*schule"', 'not_driver_cues = ["*"', "deal.not_driver_cues[0]", None),
]


@pytest.mark.parametrize("old, new, option, on_line", NONSENSE, ids=[n[2] + ":" + n[1][-12:] for n in NONSENSE])
def test_nonsense_is_refused_with_the_option_and_its_line(tmp_path, old, new, option, on_line):
    assert SHIPPED.count(old) == 1, old
    text = SHIPPED.replace(old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text), env={})
    [problem] = caught.value.problems
    _, line, where, _ = problem.split(":", 3)
    assert where.strip() == option, problem
    assert (on_line or new.split("\n")[-1][:20]) in text.splitlines()[int(line) - 1], problem


def _comment_above(lines: list[str], line_no: int) -> str:
    """The nearest comment block above a line, passing over other options and [[table]] headers."""
    i = line_no - 2
    while i >= 0 and lines[i].strip() and not lines[i].lstrip().startswith(("#", "[deal", "[bot", "[poll")) \
            and ("=" in lines[i] or lines[i].lstrip().startswith("[[")):
        i -= 1
    block = []
    while i >= 0 and lines[i].lstrip().startswith("#"):
        block.insert(0, lines[i].lstrip("# ").strip())
        i -= 1
    return " ".join(block)


@pytest.mark.parametrize("key", list(LIMITS))
def test_every_limit_is_stated_in_the_shipped_file_and_the_readme(key):
    lines = SHIPPED.splitlines()
    anchor = doc_anchor(key)
    line_no = _line_of(SHIPPED, anchor)
    line = lines[line_no - 1].replace("vocabulary.", "").replace("deal.", "")
    assert re.match(r"\s*\[*" + re.escape(anchor.split(".")[-1]), line), anchor
    assert LIMITS[key].text() in _comment_above(lines, line_no), (key, LIMITS[key].text())
    configuration = README[README.index("## Configuration"):README.index("## How it works")]
    assert LIMITS[key].text() in configuration, (key, LIMITS[key].text())


def test_a_deal_term_replaces_the_generic_entry_and_names_alone_need_the_vocabulary(tmp_path):
    text = SHIPPED.replace('"us-kontrolle" = 0.6', '"us-kontrolle" = 0.6\n"fusion" = 0.2')
    deal = load_config(_write(tmp_path, text), env={}).deal
    assert dict(deal.deal_terms)["fusion"] == 0.2 and [t for t, _ in deal.deal_terms].count("fusion") == 1
    # Without [vocabulary] and without deal terms of its own, a deal has nothing to score with.
    start, end = SHIPPED.index("\n[vocabulary]\n"), SHIPPED.index("\n[deal]\n")
    no_words = SHIPPED[:start] + SHIPPED[end:]
    no_words = no_words[:no_words.index("\n[deal.deal_terms]\n")] + "\n" + no_words[no_words.index("# What forces"):]
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, no_words), env={})
    assert any("deal.deal_terms: needs at least one term" in p for p in caught.value.problems), caught.value.problems
