"""Bidders are the companies named as acquirers, with their status; others are not."""
from __future__ import annotations

import pytest

from bot.bidders import BidderFinder
from bot.statuses import KEYS, label


@pytest.fixture(scope="module")
def finder(shipped_config):
    return BidderFinder.build(shipped_config.deal)


def names(mentions):
    return {m.name: m.role for m in mentions}


def test_seed_case(finder):
    found = names(finder.find(
        "Walmart will gemeinsam mit Microsoft über TikTok-Kauf verhandeln",
        "Microsoft bekommt beim Versuch, das US-Geschäft der chinesischen Videoplattform Tiktok zu übernehmen, "
        "Unterstützung von der Supermarktkette Walmart. Der Deal wäre ein Politikum. "
        "Walmart konkurriert im Online-Handel in den USA mit dem Branchenprimus Amazon."))
    assert found == {"Walmart": "negotiating", "Microsoft": "negotiating"}


@pytest.mark.parametrize("title, teaser, expected", [
    ("Oracle erhält den Zuschlag für Tiktok", "", {"Oracle": "approved"}),
    ("Bytedance lehnt Angebot von Microsoft für Tiktok ab", "", {"Microsoft": "rejected"}),
    ("Twitter zieht sich aus dem Rennen um Tiktok zurück", "", {"Twitter": "withdrawn"}),
    ("Triller legt Milliardengebot für Tiktok vor", "Partner ist der Finanzinvestor Centricus.",
     {"Triller": "bid_submitted"}),
    ("Perplexity zeigt Interesse an Tiktok US", "", {"Perplexity": "interested"}),
    ("Tiktok-Verkauf: Amazon-Konkurrent Walmart will mitbieten", "", {"Walmart": None}),
])
def test_roles(finder, title, teaser, expected):
    found = names(finder.find(title, teaser))
    assert {k: found.get(k) for k in expected} == expected
    assert "Amazon" not in found


def test_sources_are_not_bidders(finder):
    found = names(finder.find(
        "Microsoft verhandelt über Tiktok-Kauf",
        "Laut Reuters zieht sich Twitter aus dem Bieterrennen zurück, wie Bloomberg berichtete."))
    assert found["Microsoft"] == "negotiating" and found["Twitter"] == "withdrawn"
    assert set(found) == {"Microsoft", "Twitter"}


def test_every_status_has_cues_in_the_shipped_config_and_its_own_label(shipped_config):
    assert {role for role, _ in shipped_config.deal.roles} == set(KEYS)
    assert len({label(k) for k in KEYS} | {label(None)}) == len(KEYS) + 1
