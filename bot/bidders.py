"""Find the companies an item names as bidders, and the status each clause gives them."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import DealConfig
from bot.clauses import ClauseReader, of_relative, rank, status
from bot.german import GermanText
from bot.match import TermSet, normalise, sentences
from bot.splitting import offsets
from bot.models import BidderMention, BidderStanding, Sighting

# How far (in characters) a cue like "laut" or "Konkurrent" may stand from a name to qualify it.
_CUE_REACH = 28
_WORD = re.compile(r"[a-z0-9]+")
# A bidder named where one of these stands in its clause without a status of its own bids with the
# others ("Mit im Boot ist Investor Kevin O'Leary", "Teil des Konsortiums um Oracle"): it shares the
# headline's status. A teaser clause that opens with a pronoun or holds a company description ("Der
# Softwarekonzern aus Redmond geht leer aus", "… verhandelt die Supermarktkette nun mit Oracle") speaks of
# the one bidder its headline names.
_PARTNER = re.compile(r"partner|konsortium|gruppe um|im boot|gemeinsam mit|zusammen mit|buendnis|allianz|"
                      r"an der seite")
# A name right after these prepositions (with an article or one word between) stands in someone else's
# phrase ("Verkauf an X", "Übernahme durch X", "Garantie für X"; not "mit X bieten", a partner): a plan
# or examination the clause's verb states is its subject's, not this name's ("an der Seite von X": a partner).
_DEPENDENT = re.compile(r"(?:^|\s)(?<!gemeinsam )(?<!zusammen )(?<!seite )(?:an|am|durch|von|vom|fuer|gegen|bei|beim|ueber|um|"
                        r"to|by|of|for)\s+(?:(?:de[mnrs]|die|das|eine[mnrs]?|ein)\s+)?(?:[a-z-]+\s+)?$")
# A name a short way after these is who the subject deals with; where the clause denies the deal
# ("führe keine Gespräche mit Triller", "nicht an die Unicredit abgeben"), that one was turned down.
_COUNTERPART = re.compile(r"(?:^|\s)(?:mit|an)\s+(?:[^\s,]+\s+){0,4}$")
# A name right after these is the one passed over where the clause states a choice: "die Entscheidung für
# Oracle statt für Triller" turns Triller down.
_INSTEAD = re.compile(r"(?:^|\s)(?:an)?statt\s+(?:fuer\s+|von\s+)?(?:de[mnrs]\s+|die\s+|das\s+)?$|"
                      r"(?:^|\s)anstelle\s+(?:von\s+)?(?:de[mnrs]\s+|die\s+|das\s+)?$")
_BEFORE = ("nach ", "seit ", "trotz ", "wegen ")
_OWNER = re.compile(r"[a-z-]*\s+(?:von|vom|um|der|des|aus)\s")
_INFINITIVE = re.compile(r"[a-z]{3,}(?:en|ern|eln)")
_COMPANY = (r"bieter|konzern|unternehmen|start-up|startup|dienst|kette|investor|geber|gesellschaft|gruppe|konsortium|"
            r"buendnis|milliardaer|fonds|firma|riese|haendler|bank|institut|minister|unternehmer|youtuber|influencer|"
            r"interessent")
_PLURAL = re.compile(rf"(?:^|\s)(?:die|beide)\s+(?:[a-z-]+\s+)?[a-z-]*(?:{_COMPANY})(?:en|e|n)\b")
# A teaser clause about the deal itself ("Die Verhandlungen dauern länger als erwartet", "Der Präsident hat
# die Vereinbarung gebilligt") speaks of the headline's single bidder too.
_PROCESS = re.compile(r"(?:^|\s)(?:der|die|das|den|dem)\s+(?:[a-z-]+\s+)?[a-z-]*(?:verhandlung|gespraech|deal|"
                      r"uebernahme|transaktion|verkauf|vereinbarung|einigung|abschluss)")
_DESCRIPTION = re.compile(rf"^(?:er|sie|es|man)\s|^(?:seine?[mnrs]?|ihre?[mnrs]?|beide)\s+(?:[a-z-]+\s+)?[a-z-]*(?:{_COMPANY})(?:en|e|n)?|(?:^|\s)(?<!fuer )(?<!von )(?<!an )(?<!mit )(?<!gegen )"
                          rf"(?<!ueber )(?<!auf )(?<!bei )(?<!um )(?<!durch )(?:der|die|das)\s+(?:[a-z-]+\s+)?"
                          rf"[a-z-]*(?:{_COMPANY})(?:en|e|n)?\b(?!\s+um\s)")  # "die Gruppe um Oracle" names its own


@dataclass(frozen=True)
class BidderFinder:
    deal: DealConfig
    names: TermSet
    alias_owner: dict
    context: TermSet
    roles: TermSet
    role_of: dict
    cues: TermSet
    deal_words: TermSet
    reader: ClauseReader

    @classmethod
    def build(cls, deal: DealConfig, german: GermanText | None = None) -> "BidderFinder":
        owner = {a: b.name for b in deal.bidders for a in b.aliases}
        role_of = {cue: role for role, cues in deal.roles for cue in cues}
        role_of = {**{_verb_final(cue): role for cue, role in role_of.items() if _verb_final(cue)}, **role_of}
        context = [t for t, _ in deal.deal_terms] + list(deal.subject)
        roles = TermSet.build(role_of)
        return cls(deal, TermSet.build(owner, whole_word=True), owner, TermSet.build(context),
                   roles, role_of, TermSet.build(deal.not_bidder_cues),
                   TermSet.build(t for t, _ in deal.deal_terms), ClauseReader(roles, role_of, german))

    def find(self, title: str, teaser: str) -> tuple[BidderMention, ...]:
        """Bidders in the order the text names them, each with the most advanced status a clause states."""
        return self._find(title, teaser, self.names, self.alias_owner)

    def status_of(self, title: str, teaser: str, name: str) -> str | None:
        """The status title and teaser give any name (a discovered one, not only a configured bidder) by
        the same rules as `find`; None where it is named without one, or not as a bidder ("laut X")."""
        found = self._find(title, teaser, TermSet.build([name], whole_word=True), {name: name})
        return found[0].role if found else None

    def status_at(self, text: str, start: int, end: int) -> str | None:
        """The status the clause around text[start:end] states (offsets in `text` as written)."""
        return status(self.reader.read(text), offsets(text)[start])

    def _find(self, title: str, teaser: str, names: TermSet, owner: dict) -> tuple[BidderMention, ...]:
        found: dict[str, str | None] = {}
        story = None
        title_names: dict[str, None] = {}  # in the order the headline names them
        described: list[tuple[str | None, bool, bool]] = []  # (status, about the deal, plural)
        partners: set[str] = set()
        for part, norm, is_title in self._parts(title, teaser):
            hits = names.find(norm)
            clauses = self.reader.read(part)
            if not is_title:
                described += [(status([c], c.start) or of_relative(clauses, k, norm), bool(_PROCESS.search(c.text) and not _DESCRIPTION.search(c.text)),
                               _plural(c.text))
                              for k, c in enumerate(clauses) if (_DESCRIPTION.search(c.text) or _PROCESS.search(c.text))
                              and not _owned_by_name(c.text, (names, self.names))]
            if not hits:
                if is_title:
                    # A headline that names no bidder states the story's status where it speaks of the
                    # deal ("Tiktok-Deal abgeschlossen", not "Richter stoppt Download-Verbot"): it holds
                    # for bidders whose clauses state none.
                    story = min((status([c], c.start) for c in clauses if self.deal_words.search(c.text)),
                                key=rank, default=None)
                continue
            # A name only counts as a bidder where the sentence speaks of the deal.
            if not is_title and not self.context.search(norm) and not any(c.cues for c in clauses):
                continue
            cue_spans = [(s, e) for _, s, e in self.cues.find(norm)]
            for alias, start, end in hits:
                if self._qualified(norm, start, end, cue_spans):
                    continue
                name = owner[alias]
                if is_title:
                    title_names[name] = None
                role = status(clauses, start)
                clause = next((c for c in clauses if c.start <= start < c.end), None)
                if role is None and clause is not None and len(_WORD.findall(norm[end:clause.end])) <= 3:
                    role = of_relative(clauses, clauses.index(clause), norm)
                later = clauses[clauses.index(clause) + 1:] if clause is not None else []
                if later and later[0].subjectless and not names.search(later[0].text):
                    role = min((role, status(later[:1], later[0].start)), key=rank)  # "… – und winkt nun ab"
                if role is None and is_title and clause is clauses[0]:
                    role = self._quoted(clauses, norm, names)
                elif role is None and is_title and _topic(clauses[0], norm) and not names.search(clauses[0].text) and (
                        not clauses[0].text.startswith(_BEFORE)):  # "Nach Trumps Veto: Microsoft …": background
                    # "Annahmefrist beendet: Adnoc sichert sich …": the headline's topic is its bidder's status.
                    role = status(clauses[:1], clauses[0].start)
                if role is None and clause is not None and _denied_to(clause, norm[clause.start:start],
                                                                      self.deal_words):
                    role = "rejected"
                elif role == "approved" and _INSTEAD.search(norm[max(0, start - 20):start]):
                    role = "rejected"
                if role == "interested" and any(c[3] for c in clause.cues) and self._dependent(norm, start, end):
                    role = None  # "Peking erwägt Verkauf an Musk", "EU prüft Adnoc-Übernahme": not their plan
                if role is None and not is_title:
                    if clause is not None and not clause.negated and _PARTNER.search(clause.text):
                        partners.add(name)
                if name not in found or rank(role) < rank(found[name]):
                    found[name] = role
        # Descriptions speak of the headline's bidders: of its single one, or, where the teaser describes
        # as many companies as the headline names, of each in turn ("Microsoft liegt vorn, Twitter ist raus
        # | Der Softwarekonzern verhandelt, der Kurznachrichtendienst hat seine Gespräche eingestellt").
        # A plural description ("Die Finanzinvestoren verhandeln") speaks of all of them.
        companies = [(role, plural) for role, process, plural in described if not process]
        if len(title_names) == 1:
            # (a plural description, "Die größten Investoren von Bytedance", is not the one bidder)
            pairs = [(next(iter(title_names)), role) for role, _, plural in described if not plural]
        elif companies and all(plural for _, plural in companies):
            pairs = [(name, role) for name in title_names for role, _ in companies]
        elif len(companies) == len(title_names):
            pairs = list(zip(title_names, (role for role, _ in companies)))
        else:
            pairs = []
        for name, role in pairs:
            if rank(role) < rank(found[name]):
                found[name] = role
        # Partners bid with the headline's subject: the bidder it names first.
        lead = found[next(iter(title_names))] if title_names else None
        for name in partners:
            if found[name] is None and lead in ("negotiating", "bid_submitted", "approved"):
                found[name] = lead
        return tuple(BidderMention(name, role or story) for name, role in found.items())

    @staticmethod
    def _quoted(clauses, norm: str, names: TermSet) -> str | None:
        """A headline "Orcel: Kein Angebot vor 2026" quotes its speaker: where the speaker is a bidder and
        the quote names no other, the quote's status is the speaker's."""
        first = clauses[0]
        if len(clauses) < 2 or not _topic(first, norm) or first.cues or names.search(norm[first.end:]):
            return None
        return min((status([c], c.start) for c in clauses[1:]), key=rank, default=None)

    def _dependent(self, norm: str, start: int, end: int) -> bool:
        """True where the name is not the subject of its clause's verb: it stands after a preposition or
        genitive article, or is glued to a deal word it modifies ("Adnoc-Übernahme", "Microsoft-Deal")."""
        if norm[end:end + 1] == "-" and self.deal_words.search(norm[end + 1:].split(" ", 1)[0]):
            return True
        return bool(_DEPENDENT.search(norm[max(0, start - 40):start]))

    @staticmethod
    def _parts(title: str, teaser: str):
        yield title, normalise(title), True
        for s in sentences(teaser):
            yield s, normalise(s), False

    @staticmethod
    def _qualified(text: str, start: int, end: int, cues: list[tuple[int, int]]) -> bool:
        """True when a cue sits right before the name ("laut CNBC", "Konkurrent Amazon") or
        right after it ("Amazon-Konkurrent Walmart": the name modifies the cue word)."""
        for c_start, c_end in cues:
            if c_end <= start and start - c_end <= _CUE_REACH and len(_WORD.findall(text[c_end:start])) <= 1:
                return True
            if c_start >= end and text[end:c_start] in ("-", ""):
                return True
        return False


def _owned_by_name(text: str, names) -> bool:
    """True where the description names its own party ("das Bündnis von Microsoft und Walmart", "die
    Gespräche der Gruppe um Oracle"): it speaks of those, not of the headline's bidder."""
    m = _DESCRIPTION.search(text) or _PROCESS.search(text)
    rest = text[m.end():m.end() + 40]
    return bool(_OWNER.match(rest) and any(n.search(rest) for n in names))


def _plural(text: str) -> bool:
    """True where the clause's description of a company is plural ("Die Finanzinvestoren verhandeln")."""
    described = _DESCRIPTION.search(text)
    return bool(described and _PLURAL.search(described.group()))


def _verb_final(cue: str) -> str | None:
    """A subordinate clause puts its finite verb last: "wollen ... kaufen" reads "…, dass X Tiktok kaufen
    will" as "kaufen ... wollen" in lemmas. Only for cues of two infinitives, the one order German flips."""
    parts = cue.split(" ... ")
    if len(parts) == 2 and all(_INFINITIVE.fullmatch(p) for p in parts):
        return f"{parts[1]} ... {parts[0]}"
    return None


def _topic(clause, norm: str) -> bool:
    """True for a headline's short lead before a colon: a speaker ("Orcel:") or a topic ("Annahmefrist beendet:")."""
    return norm[clause.end:clause.end + 2].lstrip().startswith(":") and len(_WORD.findall(clause.text)) <= 4


def _denied_to(clause, before: str, deal_words: TermSet) -> bool:
    """True where the clause refuses talks, an offer or a sale to the name after "mit"/"an" in it
    ("keine Gespräche mit Triller", "nicht an Microsoft verkaufen"), not where it leaves a deal open
    ("über den Verkauf an Oracle ist nicht entschieden") or gone ("Vereinbarung mit X nicht in Sicht")."""
    if not clause.denied or clause.pending or not _COUNTERPART.search(before):
        return False
    return any(r in ("negotiating", "bid_submitted") for r in [c[0] for c in clause.cues] + list(clause.topics)) or any(
        deal_words.search(verb) for verb in clause.verbs)


def sightings(mentions: tuple[BidderMention, ...], published, source: str, link: str,
              title: str) -> list[Sighting]:
    """One item's mentions as sightings: bidders the item gives the same status bid together."""
    return [Sighting(m.name, m.role, published, source, link, title,
                     tuple(o.name for o in mentions if o.name != m.name and m.role and o.role == m.role),
                     m.discovered)
            for m in mentions]


def advance(current: BidderStanding | None, s: Sighting, new_outlet: bool) -> BidderStanding:
    """The standing after one more report. A status holds until a report dated later states another;
    reports arrive out of order (a feed polled late), so the dates decide, not the arrival."""
    if current is None:
        return BidderStanding(s.bidder, s.status, s.published if s.status else None,
                              s.published if s.status else None, s.partners if s.status else (), 1, 1,
                              s.published, s.published, s.link, s.title, s.source, not s.discovered)
    status, status_at, since, partners = current.status, current.status_at, current.since, current.partners
    if s.status and (status_at is None or s.published >= status_at):
        if s.status != status:
            since = s.published
        status, status_at, partners = s.status, s.published, s.partners
    elif s.status and s.status == status and since and s.published < since:
        since = s.published  # an earlier report of the same status, polled late
    newest = s.published >= current.last_seen
    return BidderStanding(
        current.name, status, status_at, since, partners, current.articles + 1, current.outlets + new_outlet,
        min(current.first_seen, s.published), max(current.last_seen, s.published),
        s.link if newest else current.last_link, s.title if newest else current.last_title,
        s.source if newest else current.last_source, current.listed or not s.discovered)
