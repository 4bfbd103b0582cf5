"""Summaries: whole German sentences, within the limits, without boilerplate."""
from __future__ import annotations

import pytest

from bot.summary import summarise

SEED_TEASER = ("Microsoft bekommt beim Versuch, das US-Geschäft der chinesischen Videoplattform Tiktok zu "
               "übernehmen, Unterstützung von der Supermarktkette Walmart. Der Deal wäre ein Politikum.")


def test_seed_teaser_is_kept_whole():
    assert summarise("Walmart will gemeinsam mit Microsoft über TikTok-Kauf verhandeln", SEED_TEASER) == SEED_TEASER


@pytest.mark.parametrize("abbreviation", ["z. B.", "Dr.", "U.S.", "15. September", "u. a.", "Nr. 1"])
def test_never_cut_inside_abbreviations(abbreviation):
    teaser = (f"Der Konzern will {abbreviation} über das Angebot entscheiden, sagte ein Sprecher. "
              "Ein zweiter Satz folgt hier. Ein dritter Satz ist zu viel.")
    summary = summarise("Titel", teaser)
    assert summary.startswith(f"Der Konzern will {abbreviation} über das Angebot entscheiden")
    assert summary.endswith("Ein zweiter Satz folgt hier.")


def test_limits_hold_and_cut_only_at_sentence_end():
    sentence = "Oracle und Silver Lake verhandeln weiter über die Zukunft der Plattform in den USA. "
    summary = summarise("Titel", sentence * 6, max_chars=300, max_sentences=2)
    assert len(summary) <= 300 and summary.endswith(".") and summary.count(".") == 2


def test_overlong_single_sentence_is_cut_at_a_word():
    summary = summarise("Titel", "Wort " * 200 + "Ende.", max_chars=120)
    assert len(summary) <= 120 and summary.endswith("…") and "Wor…" not in summary


@pytest.mark.parametrize("junk", ["Mehr lesen", "Weiterlesen …", "Foto: dpa", "[…]", "© Reuters 2025"])
def test_boilerplate_is_removed(junk):
    summary = summarise("Titel", f"Bytedance prüft die Angebote. {junk}")
    assert summary == "Bytedance prüft die Angebote."


def test_empty_teaser_falls_back_to_title():
    assert summarise("Oracle bekommt Tiktok", "") == "Oracle bekommt Tiktok"


@pytest.mark.parametrize("junk", ["Mehr lesen\nhttps://example.org/a", "Weiterlesen\n\n…",
                                  "The post TikTok: Oracle vorn appeared first on Blog.\nTeilen"])
def test_call_to_action_before_a_line_break_is_removed(junk):
    # The old pattern ended in `.*$`, which stops at a line break, so the boilerplate stayed.
    assert summarise("Titel", f"Bytedance prüft die Angebote.\n{junk}") == "Bytedance prüft die Angebote."


def test_huge_teaser_still_gives_whole_sentences_within_the_limit():
    sentence = "Oracle und Silver Lake verhandeln weiter über die Zukunft der Plattform in den USA. "
    teaser = sentence * (10_000_000 // len(sentence))
    assert summarise("Titel", teaser, max_chars=300, max_sentences=2) == (sentence * 2).strip()


def test_a_sentence_cut_by_the_reading_window_is_not_shown():
    # A long photo credit is cleaned away, which pulls a sentence that runs past the part of the
    # teaser that is read into the summary's reach; it must not appear cut off.
    teaser = "Erster Satz. Foto: " + "x" * 1160 + " Der zweite Satz endet erst nach dem Fenster, viel später."
    summary = summarise("Titel", teaser, max_chars=300)
    assert summary.endswith(".") and all(s.strip() + "." in teaser for s in summary.split(".")[:-1])
