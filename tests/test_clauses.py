"""Status per clause in German takeover language, on sentences written for these tests (not the labelled sets)."""
from __future__ import annotations

import pytest

from bot.bidders import BidderFinder


@pytest.fixture(scope="module")
def finder(shipped_config):
    return BidderFinder.build(shipped_config.deal)


@pytest.mark.parametrize("title, teaser, name, expected", [
    # Clause splitting: a list of subjects reaches its verb; a decimal comma cuts nothing; a list of names
    # after a noun cue stays with it.
    ("Bain gewinnt, Cinven, Advent und KKR gehen leer aus", "", "Cinven", "rejected"),
    ("Bain gewinnt, Cinven, Advent und KKR gehen leer aus", "", "Bain", "approved"),
    ("Stada-Verkauf", "Bain erhält 12,5 Prozent, Cinven 7,5 Prozent, außerdem sollen Banken mitziehen.", "Bain",
     "approved"),
    ("Stada-Verkauf", "Eine nahezu fertige Vereinbarung mit Bain, Cinven und Advent liegt auf Eis.", "Advent",
     "negotiating"),
    # Split verbs whose particle closes a comma clause, after a verb HanTa misreads.
    ("Bain und Cinven legen vor, Advent zögert", "", "Cinven", "bid_submitted"),
    ("Vonovia bessert nach, Adler prüft", "", "Vonovia", "bid_submitted"),
    # Negation scope: "kein" negates its own noun phrase only.
    ("Stada: Kein Zeitplan für Gespräche mit Bain", "", "Bain", "negotiating"),
    ("Bain: Kein Angebot für Stada vor dem Sommer", "", "Bain", "interested"),
    ("Stada-Verkauf", "Eine Einigung mit Bain gibt es bisher nicht.", "Bain", "negotiating"),
    ("Stada-Verkauf", "Der Konzern führe keine Gespräche mit Cinven, sagte ein Sprecher.", "Cinven", "rejected"),
    ("Stada-Verkauf", "Der Eigentümer werde die Sparte nicht an Cinven verkaufen.", "Cinven", "rejected"),
    ("Stada-Verkauf", "Über den Verkauf an Cinven ist damit nicht entschieden.", "Cinven", None),
    ("Bain schließt ein Angebot für Stada aus", "", "Bain", "interested"),
    # Conditionals, expectations, demands and questions state no stronger fact.
    ("Stada-Verkauf", "Selbst wenn Bain zum Zug käme, bliebe vieles offen.", "Bain", None),
    # ... but a condition on a definite noun phrase presupposes it: the agreement exists (bid-048, bid-160).
    ("Stada-Verkauf", "Sollte die Vereinbarung mit Bain scheitern, steht Cinven bereit.", "Bain", "approved"),
    ("Stada-Verkauf", "Das Angebot von Bain sei nie geprüft worden, klagt der Investor.", "Bain", "bid_submitted"),
    ("Stada-Verkauf", "Der Abschluss der Übernahme durch Bain wird im Herbst erwartet.", "Bain", None),
    ("Stada-Verkauf", "Die Verhandlungen mit Bain dauern länger als erwartet.", "Bain", "negotiating"),
    ("Steigt Bain bei Stada ein?", "", "Bain", None),
    ("Stada-Verkauf", "Bain solle seine Pläne aufgeben, fordert der Betriebsrat.", "Bain", None),
    ("Stada-Verkauf", "Mit Derivaten kann Bain Aktien später übernehmen.", "Bain", None),
    ("Bain-Investoren wollen Mehrheit an Stada übernehmen", "", "Bain", None),
    # Who acts: someone else's examination or plan is not the bidder's.
    ("Kartellamt prüft Bain-Übernahme von Stada", "", "Bain", None),
    ("Politik erwägt Verkauf an Bain", "", "Bain", None),
    ("Bain prüft ein Gebot für Stada", "", "Bain", "interested"),
    ("Stada-Verkauf", "Die Entscheidung für Bain statt für Cinven fiel einstimmig.", "Cinven", "rejected"),
    # Entering is done; wanting to enter is interest; preliminary talks are interest.
    ("Bain steigt bei Stada ein", "", "Bain", "approved"),
    ("Bain will bei Stada einsteigen", "", "Bain", "interested"),
    ("Bain führt Vorgespräche über Stada", "", "Bain", "interested"),
    ("Bain verhandelt über Stada", "", "Bain", "negotiating"),
    # A noun cue named as a purpose or background is no offer.
    ("Stada-Verkauf", "Bain liegt kurz vor der Schwelle für ein Pflichtangebot.", "Bain", None),
    # A headline quoting a bidder: the quote is the speaker's.
    ("Bain: Kein Angebot vor 2027", "", "Bain", "interested"),
    # A relative clause between commas sits inside its main clause, which speaks for the names on both sides.
    ("Stada-Verkauf", "Für Bain und Cinven, die im Frühjahr noch Angebote abgegeben hatten, ist das Rennen gelaufen.",
     "Cinven", "rejected"),
    ("Stada-Verkauf", "Die Verhandlungen mit Bain, das gemeinsam mit Cinven bietet, und mit Advent laufen weiter.",
     "Advent", "negotiating"),
    # Verb-final order of a subordinate clause ("kaufen will"), and "mit … sprechen" after the object.
    ("Stada-Verkauf", "Es heißt, dass Bain die Firma kaufen will.", "Bain", "interested"),
    ("Stada-Verkauf", "Bain soll mit den Eigentümern über ein Modell sprechen.", "Bain", "negotiating"),
    # A reported or needed offer is none yet; wanting to enter beside a partner is the partner's interest too.
    ("Stada-Verkauf: Bain soll nachbessern", "", "Bain", "interested"),
    ("Stada-Verkauf", "Oberhalb von 30 Prozent müsste Bain ein Pflichtangebot vorlegen.", "Bain", "interested"),
    ("Stada-Verkauf", "Bain will an der Seite von Cinven bei Stada einsteigen.", "Cinven", "interested"),
    # "gilt als" is a view: an indefinite offer in it is none, a definite one is presupposed.
    ("Stada-Verkauf", "Ein Gebot von Bain gilt als chancenlos.", "Bain", None),
    ("Stada-Verkauf", "Das Gebot von Bain gilt als wenig glaubwürdig.", "Bain", "bid_submitted"),
    ("Stada-Verkauf", "Als aussichtsreichster Kaufinteressent gilt Bain.", "Bain", "interested"),
    ("Stada-Verkauf", "Das Gebot von Bain wurde übergangen.", "Bain", "rejected"),
    ("Stada-Verkauf", "Die Regulierer erlauben Bain die Aufstockung.", "Bain", "approved"),
])
def test_status_of_any_bidder(finder, title, teaser, name, expected):
    assert finder.status_of(title, teaser, name) == expected


def test_descriptions_follow_the_headline_order(finder):
    """Where the teaser describes as many companies as the headline names, each speaks of one in turn."""
    found = {m.name: m.role for m in finder.find(
        "Microsoft liegt vorn, Twitter ist draußen",
        "Der Softwarekonzern verhandelt weiter, der Kurznachrichtendienst hat seine Gespräche eingestellt.")}
    assert found == {"Microsoft": "negotiating", "Twitter": "withdrawn"}


def test_a_single_bidder_is_the_one_described(finder):
    found = {m.name: m.role for m in finder.find(
        "Walmart hält an Tiktok fest", "Man sei weiterhin interessiert, sagte ein Sprecher des Händlers.")}
    assert found == {"Walmart": "interested"}


def test_an_elliptic_clause_shares_the_modal_verb(finder):
    """"Bain soll 20 Prozent übernehmen, Cinven einsteigen": both are plans, neither a done deal."""
    assert finder.status_of("Stada-Plan: Bain soll 20 Prozent übernehmen, Cinven einsteigen", "", "Cinven") is None


@pytest.mark.parametrize("title, teaser, name, expected", [
    ("Stada-Verkauf", "Bain strebe nicht nur eine Beteiligung an, sondern wolle Stada ganz kaufen.", "Bain",
     "interested"),
    ("Bain: Der heimliche Gewinner im Bieterkampf um Stada", "", "Bain", "approved"),
    # A headline's topic before a colon is its bidder's status where the rest states none.
    ("Annahmefrist läuft: Bain sichert sich die Mehrheit an Stada", "", "Bain", "bid_submitted"),
])
def test_not_only_and_winners(finder, title, teaser, name, expected):
    assert finder.status_of(title, teaser, name) == expected
