"""The German text layer and the event model: what users notice is one alert per event across outlets."""
from __future__ import annotations

import dataclasses

import pytest

from bench.story_grouping import evaluate, load, store_grouping, through_relevance
from bot.german import GermanText
from bot.stories import StoryModel
from tests.conftest import DATA


@pytest.fixture(scope="module")
def german() -> GermanText:
    return GermanText()


@pytest.fixture(scope="module")
def model(shipped_config, german) -> StoryModel:
    return StoryModel.build(shipped_config.deal, german)


def _grouping(name: str, config, model, tmp_path_factory, relevant_only: bool = False):
    """A labelled set through the store's real grouping (SQLite), item by item as polls would."""
    items = load(DATA / name)
    if relevant_only:
        items = through_relevance(items, config)
    config = dataclasses.replace(config, database_url=f"sqlite:///{tmp_path_factory.mktemp('events')}/x.db")
    score = evaluate(store_grouping(items, config, model), {i["link"]: i["event"] for i in items})
    print(f"\n{name}{' (items relevance keeps)' if relevant_only else ''}: {score.alerts} alerts for "
          f"{score.events} events, pair precision {score.precision:.3f}, pair recall {score.recall:.3f}, "
          f"{score.events_whole} of {score.events_multi} events whole")
    return score


@pytest.fixture(scope="module")
def grouped(shipped_config, model, tmp_path_factory):
    """The development set (the rules were tuned on it)."""
    return _grouping("events_dev.jsonl", shipped_config, model, tmp_path_factory)


@pytest.fixture(scope="module")
def held_out(shipped_config, model, tmp_path_factory):
    """The held-out set, written before the second round of rules and not tuned on."""
    return _grouping("events_holdout.jsonl", shipped_config, model, tmp_path_factory)


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
    assert "senat" in f.actors and f.actions["zustimmung"] == 2.0
    assert f.actions["unterzeichnung"] == 0.5  # the teaser announces it as the next step ("will ... noch")


def test_headline_background_is_not_the_event(model):
    """What a headline names after "nach"/"gegen" is the cause or target, a teaser's earlier step is
    background, and a name after "in" or glued to the subject's is no actor."""
    f = model.features("Bytedance stoppt Verhandlungen nach Trumps Zollpaket", "")
    assert f.actors["trump"] == 1.0 and f.actions["aussetzung"] == 2.0 and "@subject" in f.actors
    f = model.features("Tiktok-Nutzer klagen gegen Verbot in Montana", "")
    assert f.actions == {"klage": 2.0, "verbot": 1.0} and "montana" not in f.actors
    f = model.features("Tiktok-Verbot um eine Woche verschoben",
                       "Nach der Zustimmung von Präsident Trump zum Deal gibt das Ministerium mehr Zeit.")
    assert f.actions["verlaengerung"] == 2.0 and f.actions["zustimmung"] == 0.5
    assert "usa" not in model.features("Tiktok USA soll 14 Milliarden Dollar wert sein", "").actors


def test_grouping_meets_the_issue_goal(grouped):
    """Issue 8 on the development set: P 0.988, R 0.919, 66 alerts for 60 events when measured."""
    assert grouped.precision >= 0.95 and grouped.recall >= 0.90
    assert grouped.alerts <= 1.1 * grouped.events


def test_grouping_of_relevant_items_meets_the_issue_goal(shipped_config, model, tmp_path_factory):
    """In production only the items relevance keeps reach the story model (152 of 206): P 0.986,
    R 0.902, 64 alerts for 59 events when measured."""
    score = _grouping("events_dev.jsonl", shipped_config, model, tmp_path_factory, relevant_only=True)
    assert score.precision >= 0.95 and score.recall >= 0.90
    assert score.alerts <= 1.1 * score.events


def test_second_held_out_set_stays_at_its_measured_level(shipped_config, model, tmp_path_factory):
    """The second held-out set (dense same-day neighbours): P 0.571, R 0.848, 14 alerts for 15 events when
    measured, the same as before this round. A floor, far from the goal."""
    score = _grouping("events_holdout2.jsonl", shipped_config, model, tmp_path_factory)
    assert score.precision >= 0.55 and score.recall >= 0.80


def test_held_out_events_stay_at_their_measured_level(held_out):
    """The held-out set does not reach the goal (the development set's rules do not carry over fully):
    P 0.902, R 0.786, 34 alerts for 26 events when measured (before this round: P 0.785, R 0.729, 34).
    A floor, so it cannot silently get worse; bench/NOTES-german.md says what is missed and why."""
    assert held_out.precision >= 0.85 and held_out.recall >= 0.75
    assert held_out.alerts <= 1.35 * held_out.events


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


def test_a_next_step_whose_teaser_recounts_the_story_is_another_alert(store, model):
    """Commerce postponing the ban hours after Trump approved the deal, its teaser opening with that
    approval: two events, two alerts, though the teaser shares the story's names."""
    from tests.factories import article
    approval = [article("Trump gibt Tiktok-Deal seinen Segen", "SPIEGEL", 0,
                        teaser="Der US-Präsident hat der Vereinbarung mit Oracle und Walmart im Grundsatz "
                               "zugestimmt. Ein neues Unternehmen soll in Texas entstehen.")]
    postponed = [article("Tiktok-Verbot um eine Woche verschoben", "tagesschau", 8,
                         teaser="Nach der Zustimmung von Präsident Trump zum Deal mit Oracle und Walmart gibt "
                                "das Handelsministerium der App mehr Zeit.")]
    first, _ = store.add_articles(approval, 48, model)
    second, updated = store.add_articles(postponed, 48, model)
    assert len(first) == 1 and len(second) == 1 and updated == []
