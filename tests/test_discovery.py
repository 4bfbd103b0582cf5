"""Bidder discovery: names nobody configured that German deal news puts in a bidder role."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.discovery import REMOVED, proof
from bot.config import load_config
from bot.discovery import Discovery
from bot.german import GermanText

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config():
    return load_config(ROOT / "config" / "dealticker.toml", env={})


@pytest.fixture(scope="module")
def german():
    return GermanText()


@pytest.fixture
def discovery(config, german):
    return Discovery.build(config.deal, german)


def found(discovery, title, teaser=""):
    return {m.name: m.role for m in discovery.find(title, teaser)}


def test_a_new_investor_is_found_with_its_status(discovery):
    mentions = discovery.find("Finanzinvestor Susquehanna legt Angebot für Tiktok vor",
                              "Der Fonds will das US-Geschäft der Video-App übernehmen.")
    assert [(m.name, m.role, m.discovered) for m in mentions] == [("Susquehanna", "bid_submitted", True)]


@pytest.mark.parametrize("title, teaser, name", [
    ("Bobby Kotick will Tiktok kaufen", "", "Bobby Kotick"),
    ("Tiktok: Konsortium um Reid Rasner bietet mit", "", "Reid Rasner"),
    ("Gebot von KKR für Tiktok", "Der Finanzinvestor hat ein Angebot abgegeben.", "KKR"),
    ("Käufer Liberty Strategic Capital verhandelt über Tiktok", "", "Liberty Strategic Capital"),
    ("Koticks Angebot für Tiktok liegt auf dem Tisch", "", "Kotick"),
    ("Omnivest steigt bei Tiktok ein", "", "Omnivest"),
    ("Frank McCourt will Tiktok übernehmen", "McCourts Konsortium legt ein Angebot vor.", "Frank McCourt"),
    ("Silver Lake und MGX steigen bei Tiktok ein", "", "Silver Lake"),
])
def test_names_in_bidder_roles_are_found_as_written(config, german, title, teaser, name):
    # A user who configured Microsoft only: every other bidder has to be discovered.
    deal = dataclasses.replace(config.deal, bidders=tuple(b for b in config.deal.bidders if b.name == "Microsoft"))
    discovery = Discovery.build(deal, german, memory=False)
    assert name in found(discovery, title, teaser)


def test_a_partner_named_with_gemeinsam_mit_is_a_bidder(discovery):
    got = found(discovery, "Oracle will Tiktok gemeinsam mit Susquehanna übernehmen")
    assert list(got) == ["Susquehanna"]  # Oracle is configured: the finder reports it, not discovery


@pytest.mark.parametrize("title, teaser", [
    ("US-Präsident Trump will Tiktok-Verkauf erzwingen", "Trump: Oracle soll die App kaufen."),
    ("Senator Mark Warner will den Tiktok-Deal stoppen", "Der Demokrat fordert eine neue Prüfung."),
    ("Bytedance verhandelt über Verkauf von Tiktok", "Bytedance legt ein neues Angebot vor."),
    ("Reuters: Oracle verhandelt über Tiktok", "Laut Bloomberg bietet Oracle mehr."),
    ("Supreme Court bestätigt Tiktok-Verkaufsgesetz", "Das Gericht weist die Klage ab."),
    ("USA und Indien wollen Tiktok kaufen lassen", "In Kanada und Neuseeland bietet niemand."),
    ("Tiktok-Konkurrent Snap will wachsen", "Meta und Google hoffen vergeblich auf ein Tiktok-Aus."),
])
def test_officials_seller_media_courts_places_and_rivals_are_never_found(discovery, title, teaser):
    assert found(discovery, title, teaser) == {}


def test_names_the_config_rules_out_are_never_found(config, german):
    deal = dataclasses.replace(config.deal, not_bidders=config.deal.not_bidders + ("Susquehanna",),
                               ignore=("Omnivest",))
    discovery = Discovery.build(deal, german)
    assert found(discovery, "Susquehanna und Omnivest legen Angebote für Tiktok vor") == {}


def test_a_found_name_is_followed_in_later_reports(discovery):
    assert found(discovery, "Susquehanna legt Angebot für Tiktok vor") == {"Susquehanna": "bid_submitted"}
    # A later report only names it: it is read as for a configured bidder.
    assert found(discovery, "Tiktok-Deal: Einigung mit Susquehanna erzielt") == {"Susquehanna": "approved"}


def test_removing_five_real_bidders_costs_at_most_five_points_of_recall(config, german):
    """The proof of issue 9: with Oracle, Walmart, Perplexity, Project Liberty and Blackstone deleted
    from the config, discovery finds them again: overall bidder recall drops by at most 0.05."""
    rows = [r for r in proof(config, german) if r["set"].startswith(("tiktok", "relevance"))]
    for r in rows:
        print(f"{r['set']}: recall full {r['full']['recall_all']:.3f}, without {', '.join(REMOVED)} "
              f"{r['cut']['recall_all']:.3f}; discovered not_bidders {r['cut']['not_bidder']}")
    for r in rows:
        assert r["full"]["recall_all"] - r["cut"]["recall_all"] <= 0.05 + 1e-9, r["set"]
        assert r["cut"]["not_bidder"] <= 2, r["set"]
