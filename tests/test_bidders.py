"""Bidders are the companies named as acquirers, with the status each clause gives them; others are not."""
from __future__ import annotations

import pytest

from bench.bidders_dev import canonical, evaluate, half, load
from bot.bidders import BidderFinder
from bot.statuses import KEYS, label

# Status agreement reached on tests/data/bidders_dev.jsonl, rounded down. The rules were first written on
# the odd ids only; since a fresh held-out set (tests/data/bidders_holdout.jsonl, never read by the rules'
# authors) was written, both halves are development data, and the figure that counts is the fresh set's.
DEV_AGREEMENT_FLOOR = 0.92
ALL_AGREEMENT_FLOOR = 0.87
# The first fresh set, measured once after the rules (0.669, 93/139), then released as development data when
# a third set was written elsewhere (0.782, 111/142 after the status2 rules; 0.775, 110/142 after the status3
# rules, which follow the majority of the sets where this one's labels differ): a floor against regressions.
FRESH_AGREEMENT_FLOOR = 0.77
# The third set (bidders_holdout2.jsonl): 0.523 (79/151) before the status2 rules, 0.550 (83/151) after, then
# released as development data (a fourth set is measured elsewhere): 0.755 (114/151) after the status3 rules.
THIRD_AGREEMENT_FLOOR = 0.75
# The fourth set (bidders_holdout3.jsonl), never developed on: 0.697 (92/132) before the status3 rules, 0.705
# (93/132) after them. What German no rule was written from gets; a floor, not a target to tune to.
UNSEEN_AGREEMENT_FLOOR = 0.70


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


@pytest.mark.parametrize("title, teaser, expected", [
    # One status per clause: commas before a new statement, "als"/"as", "während", colons, dashes.
    ("Oracle gewinnt, Microsoft geht leer aus", "", {"Oracle": "approved", "Microsoft": "rejected"}),
    ("Oracle wins TikTok deal as Microsoft bid is rejected", "", {"Oracle": "approved", "Microsoft": "rejected"}),
    ("Microsoft verhandelt, Oracle und Softbank prüfen nur", "",
     {"Microsoft": "negotiating", "Oracle": "interested", "SoftBank": "interested"}),
    ("Während Walmart verhandelt, zieht sich Twitter zurück", "", {"Walmart": "negotiating", "Twitter": "withdrawn"}),
    ("Bytedance lässt Microsoft abblitzen – Oracle wird Tiktok-Partner", "",
     {"Microsoft": "rejected", "Oracle": "approved"}),
    # An enumeration is one clause: every name gets its status.
    ("Oracle, Silver Lake und MGX bekommen je 15 Prozent an Tiktok USA", "",
     {"Oracle": "approved", "Silver Lake": "approved", "MGX": "approved"}),
    # Lemmas: one cue for every form and word order.
    ("Oracle und Walmart wollen TikTok gemeinsam kaufen", "", {"Oracle": "interested", "Walmart": "interested"}),
    ("Microsoft will Tiktok kaufen", "", {"Microsoft": "interested"}),
    # Negation, conditionals and plans are not facts of a stronger status.
    ("Tiktok: Gespräche mit Microsoft lehne man ab", "", {"Microsoft": "rejected"}),
    ("Perplexity könnte ein Angebot für Tiktok vorlegen", "", {"Perplexity": "interested"}),
    ("Oracle erwägt ein Gebot für Tiktok", "", {"Oracle": "interested"}),
    ("Amazon zeigt kein Interesse an Tiktok", "", {"Amazon": None}),
    ("Oracle verhandelt nicht mehr über Tiktok", "", {"Oracle": None}),
    ("Oracle soll die Sicherheit von Tiktok USA übernehmen", "", {"Oracle": None}),
    ("Tiktok-Deal: Amazon und Perplexity könnten leer ausgehen", "", {"Amazon": None, "Perplexity": None}),
    ("Tiktok-Verkauf: Ob Perplexity den Zuschlag erhält, ist offen", "", {"Perplexity": None}),
    ("Peking erwägt Verkauf von Tiktok an Musk", "", {"Elon Musk": None}),
    ("Oracle soll den Tiktok-Zuschlag erhalten haben", "", {"Oracle": "approved"}),  # a report of a fact
    ("Microsoft lehnt Kommentar zu Tiktok ab", "", {"Microsoft": None}),
    ("Tiktok-Übernahme: Microsoft nicht mehr im Rennen", "", {"Microsoft": "rejected"}),
    ("Oracle und Walmart würden gemeinsam für Tiktok bieten", "", {"Oracle": "interested", "Walmart": "interested"}),
    # A noun phrase after "nach" is background: it speaks of the names in its own phrase.
    ("Walmart hat nach dem Aus seines Partners Microsoft Interesse an Tiktok", "",
     {"Walmart": "interested", "Microsoft": "rejected"}),
    # A headline that names no bidder gives the story's status; a description refers to the headline's bidder.
    ("Tiktok-Deal abgeschlossen", "Oracle hostet künftig die Daten von Tiktok USA.", {"Oracle": "approved"}),
    # Preliminary talks are interest, not talks (bid-013 and relevance_dev read them so; bid-009 and hold-008
    # read talks: a clash between the labels, kept as the relevance set has it).
    ("Twitter will bei Tiktok mitmischen", "Der Kurznachrichtendienst hat Vorgespräche mit Bytedance geführt.",
     {"Twitter": "interested"}),
    ("Twitter steigt ein", "Der Kurznachrichtendienst verhandelt mit Bytedance.", {"Twitter": "approved"}),
    # A plural description speaks of all the headline's bidders, and never of a single one.
    ("Blackstone und Silver Lake sollen bei Tiktok mitbieten", "Die Finanzinvestoren verhandeln über Anteile.",
     {"Blackstone": "negotiating", "Silver Lake": "negotiating"}),
    ("Oracle soll dazukommen", "Die Investoren von Bytedance verhandeln über eine Abspaltung.", {"Oracle": None}),
    # A headline asking who does what ("Wer verhandelt") states no story status for the teaser's names.
    ("Tiktok-Poker: Wer verhandelt, wer nur zuschaut",
     "Die Gruppe um Oracle verhandelt über Details, und Perplexity wartet auf eine Antwort.",
     {"Oracle": "negotiating", "Perplexity": None}),
    # "aber" after the finite verb is no conjunction: the description holds its whole clause.
    ("Alphabet will mitbieten", "Der Konzern habe aber rasch abgewinkt.", {"Alphabet": "withdrawn"}),
    ("Twitter will einsteigen", "Der Kurznachrichtendienst verhandelt mit Bytedance.", {"Twitter": "negotiating"}),
])
def test_status_per_clause(finder, title, teaser, expected):
    found = names(finder.find(title, teaser))
    assert {k: found.get(k, "-") for k in expected} == expected


def test_any_name_gets_a_status_by_the_same_rules(finder):
    """Discovered names (not in the configuration) get their status from their own clause."""
    title = "Heidelberg Materials gewinnt Bieterkampf, Holcim geht leer aus"
    assert finder.status_of(title, "", "Heidelberg Materials") == "approved"
    assert finder.status_of(title, "", "Holcim") == "rejected"
    assert finder.status_of("Vonovia könnte Angebot für Deutsche Wohnen nachbessern", "", "Vonovia") == "interested"
    # The target refusing talks with a bidder turns that bidder down (tests/data/bidders_dev.md: "keine
    # Gespräche" by the target's board is "rejected"); a bidder's own lack of interest states nothing.
    assert finder.status_of("Deutsche Wohnen: Kein Interesse an Gesprächen mit Vonovia", "", "Vonovia") == "rejected"
    assert finder.status_of("Vonovia: Kein Interesse an Deutsche Wohnen", "", "Vonovia") is None
    assert finder.status_of("Vonovia zieht Angebot für Deutsche Wohnen zurück", "", "Deutsche Wohnen") == "withdrawn"
    text = "Während Bain verhandelt, prüft KKR noch ein Gebot"
    assert finder.status_at(text, text.index("KKR"), text.index("KKR") + 3) == "interested"
    assert finder.status_at(text, text.index("Bain"), text.index("Bain") + 4) == "negotiating"


@pytest.mark.parametrize("title, name, expected", [
    # German takeover language beyond the configured deal, through the status of any name.
    ("Siemens übernimmt Altair für zehn Milliarden Dollar", "Siemens", "approved"),
    ("Kartellamt genehmigt Übernahme durch Vonovia", "Vonovia", "approved"),
    ("Übernahme durch Vonovia unter Dach und Fach", "Vonovia", "approved"),
    ("Deutsche Wohnen weist Offerte von Vonovia zurück", "Vonovia", "rejected"),
    ("EU-Kommission stoppt Übernahme von Tele Columbus durch Vodafone", "Vodafone", "rejected"),
    ("Der Verkauf an Bain ist geplatzt, Advent übernimmt", "Bain", "rejected"),
    ("Der Verkauf an Bain ist geplatzt, Advent übernimmt", "Advent", "approved"),
    ("Cinven verhandelt exklusiv über Stada, nachdem Advent ausgestiegen ist", "Advent", "withdrawn"),
    ("Cinven verhandelt exklusiv über Stada, nachdem Advent ausgestiegen ist", "Cinven", "negotiating"),
    ("Liberty Steel bläst Übernahme von Thyssenkrupp ab", "Liberty Steel", "withdrawn"),
    ("Advent legt nach: 40 Euro je Aktie", "Advent", "bid_submitted"),
    ("Unicredit hat ein Auge auf die Commerzbank geworfen", "Unicredit", "interested"),
    ("Commerzbank lehnt Gespräche mit Unicredit ab", "Unicredit", "rejected"),
    ("Advent will Stada nicht mehr übernehmen", "Advent", None),
    ("Die Verhandlungen zwischen Adnoc und Covestro sind gescheitert", "Adnoc", "rejected"),
])
def test_takeover_language_in_general(finder, title, name, expected):
    assert finder.status_of(title, "", name) == expected


def test_status_agreement_on_the_development_half(finder, shipped_config):
    known = canonical(shipped_config.deal)
    items = load()
    dev, held_out = (evaluate(finder, half(items, which), known) for which in ("dev", "held-out"))
    whole = evaluate(finder, items, known)
    print(f"\nstatus agreement: development half {dev['agreement']:.3f} ({dev['agree']}/{dev['pairs']}), "
          f"held-out half {held_out['agreement']:.3f} ({held_out['agree']}/{held_out['pairs']})")
    assert dev["agreement"] >= DEV_AGREEMENT_FLOOR
    assert whole["agreement"] >= ALL_AGREEMENT_FLOOR


def test_status_agreement_on_the_fresh_held_out_set(finder, shipped_config):
    from bench.bidders_dev import HOLDOUT

    fresh = evaluate(finder, load(HOLDOUT), canonical(shipped_config.deal))
    print(f"\nstatus agreement on the fresh held-out set: {fresh['agreement']:.3f} ({fresh['agree']}/{fresh['pairs']})")
    assert fresh["agreement"] >= FRESH_AGREEMENT_FLOOR
    assert fresh["precision"] >= 0.9  # a configured bidder found where the labels name none is rare


def test_status_agreement_on_the_third_set(finder, shipped_config):
    from bench.bidders_dev import HOLDOUT2

    third = evaluate(finder, load(HOLDOUT2), canonical(shipped_config.deal))
    assert third["agreement"] >= THIRD_AGREEMENT_FLOOR
    assert third["recall"] >= 0.9  # configured bidders are found in new wordings too


def test_status_agreement_on_german_never_developed_on(finder, shipped_config):
    from bench.bidders_dev import HOLDOUT3

    unseen = evaluate(finder, load(HOLDOUT3), canonical(shipped_config.deal))
    print(f"\nstatus agreement on the unseen set: {unseen['agreement']:.3f} ({unseen['agree']}/{unseen['pairs']})")
    assert unseen["agreement"] >= UNSEEN_AGREEMENT_FLOOR
    assert unseen["precision"] >= 0.95  # a configured bidder is rarely found where the labels name none


def test_a_status_holds_until_a_later_dated_report_changes_it():
    """Reports arrive out of order (a feed polled late): the publication dates decide, and a report that
    names the bidder without a status leaves the status as it was."""
    from datetime import datetime, timezone

    from bot.bidders import advance
    from bot.models import Sighting

    def seen(status, day):
        return Sighting("Oracle", status, datetime(2020, 9, day, tzinfo=timezone.utc), "heise", f"l{day}", "t")

    standing = advance(None, seen("negotiating", 10), True)
    standing = advance(standing, seen("approved", 14), True)
    standing = advance(standing, seen(None, 15), False)  # named only: the approval holds
    assert (standing.status, standing.since.day) == ("approved", 14)
    standing = advance(standing, seen("bid_submitted", 12), False)  # older report, polled late
    assert (standing.status, standing.since.day, standing.articles) == ("approved", 14, 4)
    standing = advance(standing, seen("rejected", 20), False)  # a later report changes it
    assert (standing.status, standing.since.day) == ("rejected", 20)
