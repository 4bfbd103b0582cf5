"""Find bidders nobody configured: names that stand in a bidder role in German deal language."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bot.bidders import BidderFinder
from bot.clauses import offsets, rank
from bot.config import DealConfig
from bot.german import GermanText, Token
from bot.lexicon import ACTORS, REPORTERS
from bot.match import TermSet, normalise, sentences
from bot.models import BidderMention
from bot.provenance import MEDIA

# Nouns that make the name right after them a bidder ("Käufer X", "Tech-Investor X"), as lemma or head.
ROLE_NOUNS = frozenset("kaeufer bieter mitbieter investor investoren interessent interessentin geldgeber "
                       "finanzinvestor staatsfonds beteiligungsgesellschaft beteiligungsfirma fonds "
                       "investmentfirma".split())
# Nouns that make a name after "um"/"von"/"mit"/"durch" a bidder ("Konsortium um X", "Gebot von X",
# "Übernahme durch X"), and the same nouns glued after a name ("Mnuchin-Gruppe", "McCourt-Angebot").
GROUP_NOUNS = frozenset("konsortium gruppe buendnis allianz lager gebot angebot offerte einstieg beteiligung kauf "
                        "uebernahme verkauf".split())  # as compound heads too: "Investorengruppe", "Kaufangebot"
# Deal nouns whose other party follows a preposition: "Verkauf an X", "Gespräche mit X", "Entscheidung für X".
TALK_NOUNS = frozenset("verkauf kauf gespraech verhandlung einigung vereinbarung deal vorschlag entscheidung "
                       "zuschlag partnerschaft kontrolle uebernahme zwangsverkauf".split())
_TALK_LINKS, _LINKS = frozenset("an mit durch fuer".split()), frozenset("an mit durch fuer um von gegen".split())
# Verbs (lemmas; split verbs come joined) that make their subject a bidder when the clause speaks of a deal.
BUY_VERBS = frozenset("kaufen uebernehmen erwerben bieten mitbieten ueberbieten einsteigen beteiligen vorlegen "
                      "unterbreiten einreichen verhandeln interessieren schnappen buhlen zurueckziehen "
                      "aussteigen mitmischen nachbessern nachlegen offerieren zukaufen kaufinteresse".split())
# Statuses whose cues after a name make it a buyer; approval and rejection are mostly others' acts.
_OWN_STATUSES = ("interested", "negotiating", "bid_submitted", "withdrawn")
# Cues anyone may state of a deal, not only a buyer: "Meta hofft auf Tiktok-Aus", "Mnuchin wartet ab".
_WEAK = ("hoff", "abwart", "wart", "option", "denkbar", "ein thema", "sammel", "such")
# Bidder-side phrases a verb lemma does not show: "geht leer aus", "erhält den Zuschlag", "Interesse an".
_BIDDER_PHRASE = re.compile(r"leer aus|zuschlag|das nachsehen|(?:im|aus dem|ins) rennen|hut in den ring|"
                            r"interesse an|interessiert|angebot|gebot|offerte|kauf|einstieg|mitbiet|"
                            r"bewirbt|partner|geldgeber|investoren|gewinnt|gewonnen|macht das rennen|an bord|"
                            r"prozent|anteil")
_WITH = (("gemeinsam", "mit"), ("zusammen", "mit"), ("seite", "von"), ("seite", "der"))  # "an der Seite von X"
# A title before a name makes it an official, not a bidder, unless a former one ("frühere Finanzminister X").
OFFICES = tuple("praesident minister senator abgeordnet kanzler gouverneur richter sprecher botschafter regierungschef "
                "staatschef premier buergermeister kommissar beamt berater anwalt analyst experte politiker demokrat "
                "republikaner vorsitzend aufseher regulierer staatssekretaer parteichef fraktionschef".split())
_FORMER = frozenset("frueher ehemalig ex einstig".split())
_INSTITUTIONS = {"court", "house", "senate", "congress", "department", "commission", "bundesregierung"}
# Countries, regions and cities German deal news names: a place never bids ("USA", "Abu Dhabi").
PLACES = frozenset(normalise(p) for p in (
    "USA|US|Amerika|Vereinigte Staaten|China|Volksrepublik|Indien|Japan|Russland|Kanada|Mexiko|Brasilien|Europa|"
    "EU|Deutschland|Frankreich|Italien|Spanien|Großbritannien|Grossbritannien|England|Irland|Niederlande|Schweiz|"
    "Österreich|Polen|Taiwan|Hongkong|Singapur|Südkorea|Korea|Australien|Israel|Iran|Türkei|Ukraine|"
    "Saudi-Arabien|Katar|Emirate|Vereinigte Arabische Emirate|VAE|Abu Dhabi|Dubai|Golf|Asien|Afrika|Washington|"
    "Peking|Beijing|Shanghai|Shenzhen|New York|Kalifornien|Texas|Florida|Los Angeles|San Francisco|"
    "Silicon Valley|Redmond|Austin|London|Paris|Brüssel|Berlin|Frankfurt|München|Hamburg|Düsseldorf|Köln|"
    "Leverkusen|Mailand|Rom|Madrid|Tokio|Moskau|Wall Street|Delaware|Virginia|Neuseeland|Südafrika|Ägypten|"
    "Nigeria|Argentinien|Chile|Vietnam|Indonesien|Malaysia|Thailand|Philippinen|Pakistan|Bangladesch|Schweden|"
    "Norwegen|Dänemark|Finnland|Belgien|Luxemburg|Portugal|Griechenland|Tschechien|Ungarn|Rumänien|Bayern").split("|"))
# Words that cannot be a bidder's name on their own though the tagger may take them for names.
_NOT_NAMES = frozenset("wer was ob ex tech app apps deal update chef the and of to for a an".split())
# Descriptions that may stand before a subject name: "Investor Frank McCourt will …", "Milliardär X bietet".
_DESCRIBERS = frozenset("investor milliardaer unternehmer gruender chef manager geschaeftsmann finanzinvestor "
                        "konzern firma fonds medienmogul mogul star youtuber".split())
_NOUNS = ROLE_NOUNS | GROUP_NOUNS | TALK_NOUNS | _DESCRIBERS
_GIVEN = re.compile(r"[A-Z][a-z]{2,}")  # a given name makes the unknown word after it a surname ("Marc Andreessen")
_WEB = re.compile(r"\.(?:com|ai|io|net|org|de)\b")  # "Employer.com" is one name


@dataclass(frozen=True)
class Discovery:
    finder: BidderFinder
    german: GermanText
    subject: TermSet
    configured: tuple[tuple[str, ...], ...]  # every alias of a configured bidder, as normalised words
    never: frozenset  # names never bidders, normalised: not_bidders, media, institutions, places
    never_words: frozenset  # words that make a name an institution ("Supreme Court", "US-Senat")
    cues: TermSet
    memory: bool = True
    # Names found so far (canonical -> spellings) and a finder for them: later reports are read for them as
    # for configured bidders, so their status keeps up where a report only names them ("Einigung mit X").
    _seen: dict = field(default_factory=dict, compare=False, repr=False)
    _state: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, deal: DealConfig, german: GermanText, memory: bool = True,
              finder: BidderFinder | None = None) -> "Discovery":  # the pipeline's finder: clauses read once
        aliases = {a for b in deal.bidders for a in (b.name, *b.aliases)}
        actors = {e.rstrip("*") for entries in ACTORS.values() for e in entries}
        never = {normalise(n) for n in (*deal.not_bidders, *deal.ignore, *MEDIA, *REPORTERS)} | PLACES
        never |= {a for a in actors if " " in a} | {normalise(t.strip("*^$")) for t in deal.subject}
        roles = ("kaeufer", "bieter", "interes", "investor", "konsortium")
        words = {a for a in actors if " " not in a and not a.startswith(roles)} | _INSTITUTIONS
        return cls(finder or BidderFinder.build(deal, german), german, TermSet.build(deal.subject),
                   tuple(_words(a) for a in aliases), frozenset(never), frozenset(words),
                   TermSet.build(deal.not_bidder_cues), memory)

    def remember(self, names) -> None:
        """Treat these names as found before (e.g. the discovered bidders a store holds, at start)."""
        self._seen.update({n: self._seen.get(n, set()) | {n} for n in names})
        self._state.pop("finder", None)

    def _recall(self, title: str, teaser: str) -> tuple[BidderMention, ...]:  # names found before
        if self._seen and "finder" not in self._state:  # the finder's rules, with these names as its bidders
            owner = {f: n for n, forms in self._seen.items() for f in forms}
            self._state["finder"] = replace(self.finder, names=TermSet.build(owner, whole_word=True), alias_owner=owner)
        return self._state["finder"].find(title, teaser) if self._seen else ()

    def find(self, title: str, teaser: str) -> tuple[BidderMention, ...]:
        """Unconfigured names in a bidder role, in text order, each with the status the bidder rules give it."""
        written: dict[str, set[str]] = {}  # canonical name -> the forms as written
        for part in [title, *sentences(teaser)]:
            for name, form in self._in_part(part):
                written.setdefault(name, set()).add(form)
        # "Kotick" and "Bobby Kotick" in one item are one bidder: the longest form names it.
        names = [n for n in written if not any(_contains(m, n) for m in written)]
        out = []
        for name in names:
            forms = written[name].union(*(written[m] for m in written if _contains(name, m)))
            roles = [self.finder.status_of(title, teaser, f) for f in forms]
            out.append(BidderMention(name, min(roles, key=rank, default=None), discovered=True))
        if not self.memory:
            return tuple(out)
        out += [BidderMention(m.name, m.role, discovered=True) for m in self._recall(title, teaser)
                if not any(o.name == m.name or _contains(o.name, m.name) or _contains(m.name, o.name) for o in out)]
        for name in names:  # remember; "Bobby Kotick" after "Kotick" names him fully
            known = next((k for k in self._seen if name == k or _contains(k, name) or _contains(name, k)), name)
            key, spellings = max(known, name, key=lambda n: len(_words(n))), self._seen.get(known, set()) | {name}
            if key != known or self._seen.get(known) != spellings | {known}:
                self._seen[key] = self._seen.pop(known, set()) | spellings | {known}
                self._state.pop("finder", None)
        return tuple(out)

    def _in_part(self, part: str):
        """(canonical name, name as written) for each name the headline or sentence puts in a bidder role."""
        tokens, at, norm = self.german.tokens(part), offsets(part), normalise(part)
        clauses = self.finder.reader.read(part)
        cue_spans = [(s, e) for _, s, e in self.cues.find(norm)]
        accepted: list[tuple[int, int]] = []  # (clause start, run end) of names in a bidder role
        for i, j in sorted(_runs(tokens, part) + _listed_words(tokens)):
            last = tokens[j - 1].start + len(tokens[j - 1].text)
            forms = part[tokens[i].start:(web.end() if (web := _WEB.match(part, last)) else last)]
            name = _canonical(forms, norm, j < len(tokens) and tokens[j].pos.startswith("NN") and not tokens[j].joined)
            k = next((k for k in range(j, len(tokens)) if not tokens[k].joined), len(tokens))  # "Tik-Tok"
            compound = normalise(part[tokens[i].start:tokens[k - 1].start + len(tokens[k - 1].text)])
            if not name or not self._may_bid(name, tokens, i) or self.subject.search(compound):
                continue
            start, end = at[tokens[i].start], at[tokens[j - 1].start + len(tokens[j - 1].text)]
            clause = next((c for c in clauses if c.start <= start < c.end), None)
            # "Konkurrent X", "laut X": the finder's own rule for not-bidder cues
            if clause is None or clause.negated or BidderFinder._qualified(norm, start, end, cue_spans):
                continue
            inside = [tokens[k] for k in range(len(tokens)) if clause.start <= at[tokens[k].start] < clause.end]
            # "Oracle, Silver Lake und MGX": a name listed right after a bidder (only commas and "und" between)
            listed = accepted and accepted[-1][0] == clause.start and accepted[-1][1] < i and all(
                t.pos == "KON" for t in tokens[accepted[-1][1]:i])
            if listed or _is_name(tokens, i) and self._in_role(tokens, i, j, inside, clause, end):
                accepted.append((clause.start, j))
                yield name, forms

    def _in_role(self, tokens: list[Token], i: int, j: int, inside: list[Token], clause, end: int) -> bool:
        before = [t for t in inside if t.start < tokens[i].start]
        after = [t for t in inside if t.start >= tokens[j - 1].start + len(tokens[j - 1].text)]
        prev = before[-1] if before else None
        # "Käufer X", "Finanzinvestor X", "Tech-Investor X"
        if prev is not None and (prev.lemma in ROLE_NOUNS or prev.head in ROLE_NOUNS):
            return True
        # "Konsortium um X", "Gebot von X", "Übernahme durch X", "Verkauf des US-Geschäfts an X"
        if prev is not None and prev.lemma in _LINKS:
            nouns = [t for t in before[-6:-1] if t.pos.startswith("NN") or t.joined]
            if any(t.head in GROUP_NOUNS and prev.lemma in ("um", "von", "gegen") for t in nouns[-1:]) or any(
                    t.head in TALK_NOUNS or t.lemma in TALK_NOUNS for t in nouns) and prev.lemma in _TALK_LINKS:
                return True
            # "Mit Oracle liefen Gespräche": "mit" and a talks cue in the clause
            if prev.lemma == "mit" and any(t.head in TALK_NOUNS or t.lemma in ("verhandeln", "sprechen", "reden")
                                           for t in after):
                return True
        # "Koticks Angebot", "Mnuchin-Gruppe"; in "des Netscape-Gründers" the name only qualifies a noun
        nxt = tokens[j] if j < len(tokens) else None
        if nxt is not None and nxt.head in GROUP_NOUNS and (_possessive(tokens[j - 1].text) or nxt.joined and (
                nxt.head not in ("kauf", "verkauf", "uebernahme", "beteiligung"))):
            return True
        if nxt is not None and nxt.joined:
            return False
        rest = " ".join(normalise(t.text) for t in after)
        buying = any(t.lemma in BUY_VERBS or t.head in BUY_VERBS for t in before[-1:] + after) or bool(
            _BIDDER_PHRASE.search(rest)) or any(
            c[0] in _OWN_STATUSES and c[1] >= end and not clause.text[c[1] - clause.start:].startswith(_WEAK)
            for c in clause.cues)
        # "gemeinsam mit X" next to a bidder or a buy verb
        words = tuple(t.lemma for t in before[-3:])
        if any(words[-len(w):] == w for w in _WITH) and (buying or self.finder.names.search(clause.text)):
            return True
        # The clause's subject: "X will Tiktok kaufen", "X legt Angebot vor", "Auch X bietet mit",
        # "Nun steigt X bei … ein" (the finite verb before it).
        if not buying or (prev is not None and prev.pos.startswith("APPR")):
            return False
        if any(t.lemma == "der" and normalise(t.text) in ("des", "der") and k and before[k - 1].pos.startswith("NN")
               for k, t in enumerate(before)):
            return False  # "Die Firma des Gründers X …": X is a genitive attribute, not the subject
        lead = [t for k, t in enumerate(before) if not (
            t.pos.startswith(("ART", "ADJ", "ADV", "KON", "PTK")) or t.proper or normalise(t.text) in _FORMER
            or t.pos.startswith("NN") and (t.head in _DESCRIBERS or k + 1 < len(before) and before[k + 1].joined))]
        return not lead or (len(lead) == 1 and lead[0].pos.endswith("(FIN)"))

    def _may_bid(self, name: str, tokens: list[Token], i: int) -> bool:
        key, words = normalise(name), list(_words(name))
        bare = [w[:-1] if _possessive(w) else w for w in words]
        if key in self.never or key in _NOT_NAMES or len(key) < 3 or self.subject.search(key) or all(
                w in self.never for w in words) or any(w in self.never_words for w in words):
            return False
        if any(_overlap(words, alias) or _overlap(bare, alias) for alias in self.configured):
            return False  # a configured bidder: the finder reports it
        prev = tokens[i - 1] if i else None
        # An office before the name, unless a former one: "US-Präsident Trump", not "Ex-Finanzminister X".
        if prev is not None and (prev.lemma.startswith(OFFICES) or not prev.proper and prev.head.startswith(OFFICES)):
            k = next((k for k in range(i - 1, 0, -1) if not tokens[k].joined), 0)
            return bool({normalise(t.text) for t in tokens[max(0, k - 2):i]} & _FORMER)
        # A place: "in den USA, Kanada und Neuseeland", "aus Abu Dhabi"
        k = next((k for k in range(i - 1, -1, -1)
                  if not (tokens[k].proper or tokens[k].pos.startswith(("ART", "KON")))), -1)
        if k >= 0 and tokens[k].pos.startswith("APPR") and tokens[k].lemma in ("in", "nach", "aus"):
            return False
        # The seller's people: "Bytedance-Gründer Zhang Yiming", "Tiktok-Chef X"
        return not (prev is not None and prev.joined and i > 1 and self.subject.search(normalise(tokens[i - 2].text)))


def _runs(tokens: list[Token], text: str) -> list[tuple[int, int]]:
    """Runs of name words ("Frank McCourt"); a possessive ends one: "Frank McCourts Project Liberty" is two."""
    runs, i = [], 0
    while i < len(tokens):
        if not _is_name(tokens, i) or tokens[i].joined:
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and _continues(tokens, i, j, text) and not (
                j - i >= 2 and _possessive(tokens[j - 1].text)):
            j += 1
        runs.append((i, j))
        i = j
    return runs


def _continues(tokens: list[Token], i: int, j: int, text: str) -> bool:
    """A name word, or a capitalised word the tagger did not take for a noun or verb, after a space; after a
    given name even one it took for a noun ("Marc Andreessen", "Reid Rasner")."""
    t, prev = tokens[j], tokens[j - 1]
    if t.joined or text[prev.start + len(prev.text):t.start] != " ":
        return False
    given = prev.pos == "NE" and j - i == 1 and _GIVEN.fullmatch(prev.text) and not _possessive(prev.text)
    return _is_name(tokens, j) or t.text[0].isupper() and not t.initial and (
        not t.pos.startswith(("NN", "V")) or prev.pos == "NE" and t.pos != "NN" or given and t.head not in _NOUNS)


def _listed_words(tokens: list[Token]) -> list[tuple[int, int]]:
    """Capitalised words after "und" taken for nouns ("Oracle und Blackstone"): names only in a list of bidders."""
    def alone(k: int) -> bool:  # not part of a compound or a longer noun phrase
        return not tokens[k].joined and not (k + 1 < len(tokens) and (tokens[k + 1].joined or tokens[k + 1].pos in (
            "NN", "NE")))
    return [(k, k + 1) for k in range(2, len(tokens)) if tokens[k - 1].lemma in ("und", "oder", "sowie")
            and tokens[k].pos == "NN" and not tokens[k].proper and tokens[k].text[0].isupper()
            and not tokens[k].initial and tokens[k].head not in _NOUNS and alone(k)]


def _is_name(tokens: list[Token], k: int) -> bool:
    # A word the tagger calls a name only because it does not know it is a noun where it opens a sentence
    # ("Zusammenschluss") or a compound ("Werbetechnik-Unternehmen"), unless tagged NE ("Mnuchin-Gruppe").
    t, glued = tokens[k], k + 1 < len(tokens) and tokens[k + 1].joined
    return t.proper and t.pos != "CARD" and t.text[0].isupper() and not (
        (t.initial or glued) and t.pos.startswith("NN") and not t.text.isupper())


def _canonical(written: str, norm: str, before_noun: bool = False) -> str:
    """The name as written without a leading "Ex-" and a possessive -s ("McCourts Angebot" -> "McCourt")."""
    words = written.replace("’", "'").split()
    words = words[1:] if words and words[0].lower() in ("ex", "ex-") else words
    if words and _possessive(words[-1]) and (len(words) > 1 or before_noun or re.search(
            rf"\b{re.escape(normalise(words[-1][:-1]))}\b(?!s)", norm)):
        words[-1] = words[-1][:-1]
    return " ".join(words).strip(" -'")


def _possessive(word: str) -> bool:
    # English "'s" belongs to the name ("People's Bid"); German adds a bare -s ("McCourts Angebot").
    return len(word) > 3 and word[-1] == "s" and word[-2] not in "su'" and not word.isupper()


def _overlap(words, alias) -> bool:
    """One name holds the other word for word: "Frank McCourt" and "McCourt", "Sequoia Capital" and "Sequoia"."""
    short, long_ = sorted((tuple(words), tuple(alias)), key=len)
    return any(long_[k:k + len(short)] == short for k in range(len(long_) - len(short) + 1))


def _contains(longer: str, shorter: str) -> bool:
    """`longer` holds `shorter` word for word and has more words ("Frank McCourt" holds "McCourt")."""
    short, long_ = _words(shorter), _words(longer)
    return len(short) < len(long_) and _overlap(short, long_)


def _words(name: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9']+", normalise(name).replace("’", "'")))
