"""The German text layer and the event model: what users notice is one alert per event across outlets."""
from __future__ import annotations

import dataclasses

import pytest

from bench.story_grouping import evaluate, load, store_grouping
from bot.german import GermanText
from bot.stories import StoryModel
from tests.conftest import DATA


@pytest.fixture(scope="module")
def german() -> GermanText:
    return GermanText()


@pytest.fixture(scope="module")
def model(shipped_config, german) -> StoryModel:
    return StoryModel.build(shipped_config.deal, german)


@pytest.fixture(scope="module")
def grouped(shipped_config, model, tmp_path_factory):
    """The development set through the store's real grouping (SQLite), item by item as polls would."""
    items = load(DATA / "events_dev.jsonl")
    config = dataclasses.replace(shipped_config, database_url=f"sqlite:///{tmp_path_factory.mktemp('dev')}/x.db")
    score = evaluate(store_grouping(items, config, model), {i["link"]: i["event"] for i in items})
    print(f"\nevents set: {score.alerts} alerts for {score.events} events, pair precision {score.precision:.3f}, "
          f"pair recall {score.recall:.3f}, {score.events_whole} of {score.events_multi} events whole")
    return score


def test_text_layer_gives_lemmas_heads_and_names(german):
    tokens = {t.text: t for t in german.tokens("Oracle erhält den Zuschlag, Zwangsverkauf und Stimmrechtsanteil: "
                                               "Biden unterschreibt das Tiktok-Verbot")}
    assert tokens["erhält"].lemma == "erhalten" and tokens["unterschreibt"].lemma == "unterschreiben"
    assert tokens["Zwangsverkauf"].head == "verkauf" and tokens["Stimmrechtsanteil"].head == "anteil"
    # Hyphenated compounds are split first: "Tiktok-Verbot" is a name and a noun, not one name.
    assert tokens["Verbot"].lemma == "verbot" and not tokens["Verbot"].proper and tokens["Verbot"].joined
    assert tokens["Oracle"].proper and tokens["Biden"].proper and not tokens["Zuschlag"].proper
    assert german.names("Tiktok-Chef Shou Zi Chew trifft Elon Musk") == ["Tiktok", "Shou Zi Chew", "Elon Musk"]


def test_split_verbs_get_their_whole_lemma(german):
    lemmas = german.lemmas("Bytedance zieht das Angebot zurück. Biden hebt Trumps Verbot auf")
    assert "zurueckziehen" in lemmas and "aufheben" in lemmas


def test_one_fact_in_different_wordings_agrees(model):
    from datetime import datetime, timezone
    when = datetime(2020, 8, 7, 8, tzinfo=timezone.utc)
    a = model.features("Regierung setzt 45-Tage-Frist für Tiktok-Verkauf", "", when).facts
    b = model.features("Binnen 45 Tagen muss Bytedance sich trennen", "", when).facts
    c = model.features("Anderthalb Monate bis zum Aus", "Die Verbote gelten ab dem 20. September.", when).facts
    assert "days:45" in a and "days:45" in b and "days:45" in c
    assert "due:09-21" in a and "date:09-20" in c  # the duration's end and the date, three days apart at most
    assert "amount:1.4e+10" in model.features("Tiktok USA soll 14 Milliarden Dollar wert sein", "").facts


def test_features_survive_storage(model):
    f = model.features("US-Senat billigt Tiktok-Gesetz", "Präsident Biden will es noch heute unterschreiben.")
    assert type(f).loads(f.dumps()) == f
    assert "senat" in f.actors and f.actions["zustimmung"] == 2.0 and f.actions["unterzeichnung"] == 1.0


def test_grouping_reaches_the_measured_level(grouped):
    """A floor at today's measured level (P 0.926, R 0.830, 74 alerts for 60 events), so it cannot silently
    get worse; the issue's goal is the next test."""
    assert grouped.precision >= 0.90 and grouped.recall >= 0.80
    assert grouped.alerts <= 1.25 * grouped.events


@pytest.mark.xfail(strict=True, reason="issue 8 goal not reached yet: P 0.926, R 0.830, 74 alerts for 60 events")
def test_grouping_meets_the_issue_goal(grouped):
    assert grouped.precision >= 0.95 and grouped.recall >= 0.90
    assert grouped.alerts <= 1.1 * grouped.events


def test_the_next_step_the_same_day_is_another_alert(store, model):
    """"Senat billigt Gesetz" and "Biden unterschreibt Gesetz" twelve hours later: two events, two alerts;
    a second outlet's report of each joins its own."""
    from tests.factories import article
    senate = [article("US-Senat billigt Tiktok-Gesetz", "tagesschau", 0,
                      teaser="Nach dem Repräsentantenhaus hat auch der Senat zugestimmt. Präsident Biden will es "
                             "noch heute unterschreiben."),
              article("Senat stimmt für Zwangsverkauf von Tiktok", "FAZ", 1,
                      teaser="Die zweite Kammer des Kongresses billigt das Hilfspaket samt Tiktok-Klausel.")]
    signed = [article("Biden unterschreibt Tiktok-Gesetz", "tagesschau", 12,
                      teaser="US-Präsident Biden hat das Gesetz unterzeichnet, das Bytedance zum Verkauf zwingt."),
              article("Biden unterzeichnet Gesetz: Tiktok droht Verbot in den USA", "Augsburger Allgemeine", 13,
                      teaser="US-Präsident Joe Biden hat das Gesetz unterschrieben, mit dem die Video-App verbannt "
                             "werden könnte.")]
    first, _ = store.add_articles(senate, 48, model)
    second, updated = store.add_articles(signed, 48, model)
    assert len(first) == 1 and len(second) == 1 and updated == []
    assert [s for s, _ in store.latest_alerts(5)[0].sources] == ["tagesschau", "Augsburger Allgemeine"]
