"""Who acts and what happens in German deal news: the lexicons of actors and actions, and their lookup."""
from __future__ import annotations

from dataclasses import dataclass

# Who acts in deal news beyond the configured bidders and the names the tagger finds. Each entry is a
# lemma, a compound head, a lemma prefix ("richter*": Richter, Richterin, Bundesrichter) or consecutive
# lemmas ("supreme court"). Written for German news on takeovers under state review in general.
ACTORS = {
    "senat": ("senat", "senator*", "zweite kammer"),
    "repraesentantenhaus": ("repraesentantenhaus", "kongresskammer", "abgeordnete*", "abgeordneter"),
    "kongress": ("kongress", "parlament", "bundestag"),
    "oberstes-gericht": ("supreme court", "suprem court", "oberst gericht", "oberst gerichtshof", "verfassungsgericht*",
                         "verfassungsrichter*", "bundesverfassungsgericht", "gerichtshof"),
    "gericht": ("gericht", "richter*", "bundesrichter*", "berufungsgericht", "justiz", "kammergericht"),
    "handelsministerium": ("handelsministerium", "handelsminister*", "commerce"),
    "finanzministerium": ("finanzministerium", "finanzminister*", "staatskasse"),
    "justizministerium": ("justizministerium", "justizminister*"),
    "cfius": ("cfius", "ausschuss fuer auslandsinvestitionen", "auslandsinvestition"),
    "weisses-haus": ("weiss haus", "weisses haus", "sprecherin", "regierungssprecher*"),
    "regierung": ("regierung", "administration", "washington", "biden-regierung"),
    "praesident": ("praesident", "staatschef", "vizepraesident", "us-praesident"),
    "china": ("peking", "china", "chinesisch regierung", "beijing"),
    "kartellamt": ("kartellamt", "kartellbehoerde", "wettbewerbshueter", "ftc", "eu-kommission", "kommission"),
    "aufsicht": ("aufsicht*", "regulierer", "behoerde"),
    "kaeufer": ("kaeufer*", "bieter", "interessent*", "investor*", "konsortium", "investorengruppe"),
}
# Institutions that act as one side: a ministry or agency is the government ("US-Regierung setzt Verbot
# aus" / "Handelsministerium beugt sich"), and so are the country and its capital ("USA verbannen",
# "Washington"); a chamber is the parliament ("Repräsentantenhaus stimmt" / "Mehrheit im Kongress"), any
# court is the judiciary. The head of state stays apart from the government:
# "Präsident billigt Deal" and "Ministerium verschiebt Verbot" are two steps.
FAMILIES = {
    "regierung": "regierung", "handelsministerium": "regierung", "finanzministerium": "regierung",
    "justizministerium": "regierung", "cfius": "regierung", "aufsicht": "regierung",
    "us": "regierung", "usa": "regierung", "amerika": "regierung", "washington": "regierung",
    "praesident": "praesident", "weisses-haus": "praesident",
    "senat": "parlament", "repraesentantenhaus": "parlament", "kongress": "parlament",
    "gericht": "gericht", "oberstes-gericht": "gericht",
}
# What happens: verbs (split verbs joined by the text layer), their nouns and fixed phrases.
ACTIONS = {
    "verbot": ("verbieten", "verbot", "verbannen", "bann", "sperre", "sperren", "untersagen", "unterbinden",
               "rauswerfen", "fliegen"),
    "abschaltung": ("abschalten", "abschaltung", "dichtmachen", "betrieb einstellen", "nicht erreichbar",
                    "nicht verfuegbar", "nicht mehr verfuegbar", "nicht mehr erreichbar",
                    "vom netz", "verschwinden", "offline"),
    "wiederherstellung": ("wiederherstellung", "wieder erreichbar", "freischalten", "wieder online",
                          "zurueckkehren", "rueckkehr", "rettung"),
    "interesse": ("interesse", "interessiert", "interessent*", "pruefen", "erwaegen", "sondieren", "ausloten",
                  "liebaeugeln", "mitmischen", "im gespraech", "im rennen", "bieterrennen", "in stellung"),
    "gebot": ("bieten", "gebot", "angebot", "offerte", "fusionsangebot", "vorschlagen", "vorlegen"),
    "abschluss": ("abschluss", "abschliessen", "vollziehen", "perfekt", "unter dach und fach"),
    "zuschlag": ("zuschlag", "vorzug", "zum zug", "entscheiden fuer", "auswaehlen", "rennen machen", "gewinner",
                 "favorit"),
    "verhandlung": ("verhandeln", "verhandlung", "gespraech", "uebernahmegespraech", "verkaufsgespraech",
                    "talks"),
    "einigung": ("einigen", "einigung", "grundsatzeinigung", "rahmenabkommen", "abkommen", "vereinbarung",
                 "verstaendigen", "durchbruch", "konsens", "rahmen"),
    "unterzeichnung": ("unterschreiben", "unterzeichnen", "unterschrift", "unterzeichnung", "besiegeln",
                       "vertrag"),
    "anordnung": ("anordnen", "anordnung", "dekret", "erlass", "verordnung", "executive order",
                  "notstandsverordnung"),
    "zustimmung": ("billigen", "zustimmen", "zustimmung", "genehmigen", "genehmigung", "segen", "absegnen",
                   "gutheissen", "gruen licht", "befuerworten", "stimmen", "votieren", "abstimmung", "mehrheit fuer"),
    "ablehnung": ("ablehnen", "ablehnung", "zurueckweisen", "abweisen", "absage", "veto", "verweigern",
                  "dementieren", "bestreiten", "abblitzen", "nachsehen", "scheitern", "platzen", "nicht infragen",
                  "nicht in frage", "kein plan"),
    "aufhebung": ("aufheben", "zuruecknehmen", "kassieren", "widerrufen", "aufhebung"),
    "ruecktritt": ("zuruecktreten", "ruecktritt", "hinwerfen", "abschied", "verlassen"),
    "verlaengerung": ("verlaengern", "verlaengerung", "aufschub", "aufschieben", "verschieben",
                      "fristverlaengerung", "mehr zeit", "schonfrist"),
    "aussetzung": ("aussetzen", "stoppen", "blockieren", "verhindern", "einstweilig verfuegung", "auf eis",
                   "stopp", "durchsetzen", "unbestimmt zeit"),
    "hindernis": ("erschweren", "huerde", "hindernis", "verzoegern", "bremsen", "stolperstein", "verkomplizieren",
                  "in den weg"),
    "klage": ("klagen", "klage", "verklagen", "anrufen", "eilantrag", "berufung", "juristisch", "gerichtlich", "wehren",
              "vor gericht"),
    "urteil": ("urteil", "urteilen", "gerichtsurteil", "verfassungskonform", "rechtens", "verfassungswidrig"),
    "anhoerung": ("anhoerung", "verhoer", "aussagen", "befragen", "verteidigen", "anhoeren"),
    "forderung": ("verlangen", "fordern", "forderung", "zwingen", "ultimatum", "drohen", "androhen"),
    "treffen": ("treffen", "empfangen", "telefonieren", "telefonat", "besuch"),
    "investition": ("investieren", "einsteigen", "einstieg", "beteiligen", "beteiligung", "staatsfonds",
                    "anteilseigner"),
    "bewertung": ("bewerten", "bewertung", "wert"),
    "gruendung": ("gruenden", "gruendung", "joint venture", "gemeinschaftsunternehmen", "ableger", "neugruendung",
                  "neu unternehmen", "eigentuemerstruktur"),
}
# Names that only say who reported: never an actor of the event.
REPORTERS = frozenset("reuters bloomberg cnbc npr dpa afp ap wsj wall street journal financial times "
                      "fox business news insider axios".split())
# English loanwords the tagger takes for names after a hyphen ("Tiktok-Deal", "App-Store"): no actor.
LOANWORDS = frozenset("deal deals store stores app apps update updates news chef".split())


@dataclass(frozen=True)
class Lexicon:
    """A lexicon indexed for lookup: each text is read once, not once per entry."""

    exact: dict[str, tuple[str, ...]]  # word -> keys
    prefixes: tuple[tuple[str, str], ...]  # (prefix, key)
    phrases: dict[str, tuple[tuple[tuple[str, ...], str], ...]]  # first word -> ((phrase, key), ...)


def compile_lexicon(lexicon: dict[str, tuple[str, ...]]) -> Lexicon:
    """Index a lexicon whose entries are words, prefixes ("richter*") or phrases ("supreme court")."""
    exact: dict[str, list[str]] = {}
    phrases: dict[str, list] = {}
    prefixes = []
    for key, entries in lexicon.items():
        for e in entries:
            if " " in e:
                phrases.setdefault(e.split()[0], []).append((tuple(e.split()), key))
            elif e.endswith("*"):
                prefixes.append((e[:-1], key))
            else:
                exact.setdefault(e, []).append(key)
    return Lexicon({w: tuple(k) for w, k in exact.items()}, tuple(prefixes),
                    {w: tuple(p) for w, p in phrases.items()})


def find(lexicon: Lexicon, lemmas: list[str], heads: list[str]) -> set[str]:
    """The lexicon's keys that the words (lemmas, and compound heads at the same places) name."""
    words = set(lemmas) | set(heads)
    found = {key for w in words for key in lexicon.exact.get(w, ())}
    found |= {key for prefix, key in lexicon.prefixes if key not in found and any(w.startswith(prefix) for w in words)}
    for i in range(len(lemmas)):
        for first in {lemmas[i], heads[i]}:
            for phrase, key in lexicon.phrases.get(first, ()):
                if key not in found and _phrase_at(lemmas, heads, i, phrase):
                    found.add(key)
    return found


def _phrase_at(lemmas: list[str], heads: list[str], i: int, phrase: tuple[str, ...]) -> bool:
    """The phrase's words in a row from `i`, each as a word or as a compound's head ("vor
    Berufungsgericht" is "vor gericht")."""
    return i + len(phrase) <= len(lemmas) and all(w in (lemmas[i + j], heads[i + j]) for j, w in enumerate(phrase))
