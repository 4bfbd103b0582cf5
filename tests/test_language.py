"""The language detector built from a subset of langdetect's profiles answers as the full one does."""
from __future__ import annotations

import dataclasses
import json

import pytest

from bot.language import LanguageDetector, profile_languages
from bot.config import FeedConfig
from bot.pipeline import Analyser
from tests.conftest import DATA

DEV_SETS = ("relevance_dev", "events_dev", "events_holdout", "events_holdout2", "bidders_dev",
            "deal_commerzbank_dev", "deal_covestro_dev")


def _dev_items() -> list[tuple[str, str, str | None]]:
    """(set, title and teaser as the Analyser joins them, labelled language) of every development item."""
    out = []
    for name in DEV_SETS:
        for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out.append((name, f"{row['title']}. {row.get('teaser') or row.get('summary') or ''}", row.get("language")))
    return out


@pytest.fixture(scope="module")
def full() -> LanguageDetector:
    return LanguageDetector()


def test_the_subset_answers_as_all_55_profiles_do_on_every_development_item(full, shipped_config):
    wanted = shipped_config.languages + tuple(f.language for f in shipped_config.feeds)
    subset = LanguageDetector.for_languages(wanted)
    assert len(subset.languages) < len(full.languages) // 4  # 11 of 55
    items = _dev_items()
    assert len(items) > 1000 and {label for *_, label in items} >= {"de", "en", "fr", "nl"}
    differ = [(name, text[:60], hint, full.detect(text, hint), subset.detect(text, hint))
              for name, text, label in items for hint in {None, "de", "en", label}
              if full.detect(text, hint) != subset.detect(text, hint)]
    assert differ == []
    # The answers are worth comparing: the labelled French and Dutch items are told apart from German.
    labelled = [(label, subset.detect(text)) for _, text, label in items if label in ("fr", "nl")]
    assert labelled and all(label == found for label, found in labelled)


def test_configured_and_hinted_languages_bring_their_neighbours(shipped_config):
    config = dataclasses.replace(shipped_config, languages=("de", "pl"),
                                 feeds=(FeedConfig("Kyiv", "https://kyiv.example/rss", "uk"),))
    loaded = Analyser(config).language.languages
    assert {"de", "pl", "cs", "sk", "uk", "ru", "en", "fr", "nl"} <= set(loaded)
    assert "ja" not in loaded and "zh-cn" not in loaded
    assert profile_languages(["de"]) == profile_languages(["de", "en", None])


@pytest.mark.parametrize("text, language", [
    ("Rząd w Warszawie rozważa zakaz aplikacji TikTok na telefonach służbowych urzędników.", "pl"),
    ("Правительство США требует продажи американского бизнеса компании до января.", "ru"),
    ("Hükümet uygulamanın Amerika satışını görüşüyor.", "tr"),
])
def test_a_language_left_out_is_never_taken_for_a_wanted_one(full, text, language):
    assert full.detect(text) == language == LanguageDetector.for_languages([language]).detect(text)
    german_only = LanguageDetector.for_languages(["de"])
    assert language not in german_only.languages
    # Without its profile the text cannot be told, but it is not German (it would be sent) either.
    assert german_only.detect(text) == "unknown" and german_only.detect(text, "de") == "unknown"
    assert german_only.detect(text, language) == language  # a feed that declares it is believed
