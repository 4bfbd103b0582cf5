"""`dealticker classify` and the seed case through the whole analysis."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from bot.classify import MAX_LINE_BYTES, classify_stream
from bot.language import LanguageDetector
from bot.pipeline import Analyser
from tests.conftest import ROOT

SEED = {"id": "seed", "title": "Walmart will gemeinsam mit Microsoft über TikTok-Kauf verhandeln",
        "summary": "Microsoft bekommt beim Versuch, das US-Geschäft der chinesischen Videoplattform Tiktok zu "
                   "übernehmen, Unterstützung von der Supermarktkette Walmart. Der Deal wäre ein Politikum."}


def run(config, lines: list[str]) -> tuple[int, list[dict]]:
    """(bad lines, answers) for the given lines."""
    out = io.BytesIO()
    bad = classify_stream(config, io.BytesIO(("\n".join(lines) + "\n").encode("utf-8")), out)
    return bad, [json.loads(line) for line in out.getvalue().decode("utf-8").splitlines()]


def test_seed_case(shipped_config):
    code, [result] = run(shipped_config, [json.dumps(SEED, ensure_ascii=False)])
    assert code == 0 and result["id"] == "seed"
    assert result["relevant"] and result["language"] == "de" and result["score"] >= 0.7
    assert {b["name"] for b in result["bidders"]} == {"Microsoft", "Walmart"}
    assert result["summary"] == SEED["summary"]
    assert "bidder:Microsoft" in result["reasons"]


def test_relevance_ignores_language_but_reports_it(shipped_config):
    item = {"id": 7, "title": "Oracle wins the bid for TikTok's US business",
            "summary": "ByteDance agreed to sell a majority stake to a consortium led by Oracle."}
    _, [result] = run(shipped_config, [json.dumps(item)])
    assert result["relevant"] and result["language"] == "en"


def test_bad_lines_get_an_error_and_the_rest_go_on(shipped_config):
    lines = ["{not json", json.dumps({"id": "x", "title": 5}), json.dumps([1, 2]),
             json.dumps({"id": "empty", "title": "", "summary": ""}), json.dumps(SEED)]
    bad, results = run(shipped_config, lines)
    assert bad == 4 and len(results) == 5
    assert results[0] == {"id": 1, "error": results[0]["error"]} and "line 1" in results[0]["error"]
    assert results[1]["id"] == "x" and "strings" in results[1]["error"]
    assert "error" in results[2] and results[3]["id"] == "empty"
    assert results[4]["relevant"]


@pytest.mark.parametrize("text, hint, expected", [
    ("Apple stellt neues iPhone vor", "de", "de"),
    ("Oracle wins TikTok deal as Microsoft bid is rejected by ByteDance", "de", "en"),
    ("Trump verlengt deadline voor verkoop TikTok opnieuw, ByteDance krijgt 90 dagen", None, "nl"),
    ("12345 !!!", None, "unknown"),
])
def test_language_detection_is_deterministic_and_uses_the_hint(text, hint, expected):
    detector = LanguageDetector()
    assert {detector.detect(text, hint) for _ in range(3)} == {expected}


def test_irrelevant_items_skip_language_detection(shipped_config):
    analysis = Analyser(shipped_config).analyse("Dax schließt fester", "Die Börse ist gut gelaunt.", "de")
    assert not analysis.verdict.relevant and analysis.summary == "" and analysis.bidders == ()


def test_wrong_language_hint_type_is_an_error_line(shipped_config):
    code, [result] = run(shipped_config, [json.dumps({"id": 3, "title": "Tiktok-Verkauf", "lang": 7})])
    assert code == 1 and result["id"] == 3 and "lang" in result["error"]


def test_every_line_gets_one_utf8_answer_whatever_it_holds(tmp_path):
    """Hostile lines in one stream, through the command itself with an ASCII-only locale: each
    line is answered exactly once, in valid UTF-8, and the lines after a bad one still are."""
    good = json.dumps({"id": "good", **{k: SEED[k] for k in ("title", "summary")}}, ensure_ascii=False)
    huge_teaser = "Oracle übernimmt das US-Geschäft von TikTok. " * 15_000  # 0.8 MB: read, then cut
    lines = [
        (b'{"id": "surrogate", "title": "TikTok-Verkauf \\ud800 an Oracle"}', "surrogate", True),
        ('{"id": "latin1", "title": "TikTok-Übernahme"}'.encode("latin-1"), "latin1", False),
        (b'{"id": "10MB", "summary": "' + b"x" * 10_000_000 + b'"}', None, False),
        (b"[" * 200_000, None, False),
        (b'{"id": NaN, "title": "TikTok"}', None, False),
        (b'"just a string"', None, False),
        (json.dumps({"id": "long", "title": "TikTok-Verkauf", "summary": huge_teaser}).encode(), "long", True),
        (b'{"id": "\\udc00", "title": "TikTok"}', "\ufffd", True),
    ]
    stream = b"".join(raw + b"\n" + good.encode() + b"\n" for raw, _, _ in lines)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "classify", "--config", "config/dealticker.toml"],
                            input=stream, capture_output=True, cwd=ROOT, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "PYTHONIOENCODING": "ascii"})
    answers = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    # A line whose id cannot be read is answered with its line number; each bad line has a good one after it.
    expected = [ident if ident is not None else 2 * n + 1 for n, (_, ident, _) in enumerate(lines)]
    assert [a["id"] for a in answers] == [i for ident in expected for i in (ident, "good")]
    for (raw, ident, ok), answer in zip(lines, answers[::2]):
        assert ("error" not in answer) == ok, (ident, answer)
    assert all(a["relevant"] for a in answers[1::2])
    assert "UTF-8" in answers[2]["error"] and str(MAX_LINE_BYTES) in answers[4]["error"]
    assert "nested too deeply" in answers[6]["error"]
    assert answers[12]["summary"] == ("Oracle übernimmt das US-Geschäft von TikTok. " * 2).strip()
    assert result.returncode == 1 and b"Traceback" not in result.stderr
