"""Relevance on the labelled German development set and on the compounding cases German needs."""
from __future__ import annotations

import pytest

from bench.relevance import evaluate
from bot.relevance import RelevanceModel
from tests.conftest import DATA, ROOT


@pytest.fixture(scope="module")
def model(shipped_config):
    return RelevanceModel.build(shipped_config.deal)


def test_development_set_meets_targets():
    result = evaluate(DATA / "relevance_dev.jsonl", ROOT / "config" / "dealticker.toml")
    assert result["items"] >= 150 and result["hard_negatives"] * 2 >= result["items"]
    assert result["precision"] >= 0.97, [(k, i["id"], i["title"]) for k, i, _ in result["errors"]]
    assert result["recall"] >= 0.95, [(k, i["id"], i["title"]) for k, i, _ in result["errors"]]
    assert result["bidder_precision"] >= 0.9


@pytest.mark.parametrize("title", [
    "TikTok-Kauf: Entscheidung bis Mitte September",
    "Tiktok-Übernahme wird zum Politikum",
    "Oracle nimmt das US-Geschäft von TikTok ins Visier und will es übernehmen",
    "Bytedance-Verkauf: Peking stellt Bedingungen",
    "Zwangsverkauf von Tiktok rückt näher",
    "tiktok uebernahme durch microsoft?",
    "Tik Tok: Käufer für das US-Geschäft gefunden",
    "Wer bekommt den Zuschlag für Tiktoks US-Sparte?",
    "Microsoft will US-Geschäft der chinesischen Videoapp übernehmen",
])
def test_german_spellings_and_compounds_count(model, title):
    teaser = "Die Gespräche mit Tiktok laufen." if "tiktok" not in title.lower() and "tik tok" not in title.lower() else ""
    assert model.judge(title, teaser).relevant


@pytest.mark.parametrize("title, teaser", [
    ("Neue Tiktok-Challenge beunruhigt Eltern", "Schulen warnen vor dem gefährlichen Trend."),
    ("Microsoft kauft Activision Blizzard", "Der Deal ist 69 Milliarden Dollar schwer."),
    ("Walmart übernimmt TV-Hersteller Vizio", "Der Einzelhändler zahlt 2,3 Milliarden Dollar."),
    ("Oracle schließt Cerner-Übernahme ab", "Der Softwarekonzern baut sein Gesundheitsgeschäft aus."),
    ("Die beliebtesten Apps: TikTok vor Microsoft Teams und WhatsApp", "Die meistgeladenen Apps des Jahres."),
    ("Händler verkaufen jetzt über den TikTok Shop", "Die Plattform startet ihr Shopping-Angebot in Deutschland."),
    ("Bytedance kauft Spielestudio", "Der Tiktok-Konzern übernimmt einen Entwickler von Handyspielen."),
])
def test_hard_negatives_do_not_count(model, title, teaser):
    verdict = model.judge(title, teaser)
    assert not verdict.relevant, verdict


def test_reasons_name_the_matched_terms(model):
    verdict = model.judge("Walmart will gemeinsam mit Microsoft über TikTok-Kauf verhandeln", "")
    assert "subject:tiktok" in verdict.reasons and "deal:kauf" in verdict.reasons
    assert {"bidder:Microsoft", "bidder:Walmart"} <= set(verdict.reasons)


@pytest.mark.parametrize("raw, expected", [
    ("<p>Microsoft will <b>TikTok</b> kaufen</p>", True),
    ("Dax schließt fester <img src='x.jpg'>", False),
    ("Tik\u00adTok-Kauf rückt näher", True),          # a soft hyphen inside the name
    ("&#84;ikTok: Verkauf rückt näher", True),         # a character reference
    ("Bytedance-Verkauf", True),
])
def test_pre_check_never_loses_a_possible_match(model, raw, expected):
    assert model.could_match(raw) is expected
