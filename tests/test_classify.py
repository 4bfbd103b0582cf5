"""`dealticker classify` and the seed case through the whole analysis."""
from __future__ import annotations

import io
import json

import pytest

from bot.cli import classify_stream
from bot.language import LanguageDetector
from bot.pipeline import Analyser

SEED = {"id": "seed", "title": "Walmart will gemeinsam mit Microsoft über TikTok-Kauf verhandeln",
        "summary": "Microsoft bekommt beim Versuch, das US-Geschäft der chinesischen Videoplattform Tiktok zu "
                   "übernehmen, Unterstützung von der Supermarktkette Walmart. Der Deal wäre ein Politikum."}


def run(config, lines: list[str]) -> tuple[int, list[dict]]:
    out = io.StringIO()
    code = classify_stream(config, io.StringIO("\n".join(lines) + "\n"), out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


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
    code, results = run(shipped_config, lines)
    assert code == 1 and len(results) == 5
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
