"""Find the companies an item names as bidders, and the status each clause gives them."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from bot.config import DealConfig
from bot.german import GermanText
from bot.match import TermSet, normalise, sentences
from bot.models import BidderMention, BidderStanding, Sighting
from bot.statuses import strength

# How far (in characters) a cue like "laut" or "Konkurrent" may stand from a name to qualify it.
_CUE_REACH = 28
_WORD = re.compile(r"[a-z0-9]+")
# German grammar, not deal language, so not configured. A negated clause states no status ("kein
# Interesse", "verhandelt nicht"; a cue may hold its negation: "nicht weiter verfolgt"); a conditional,
# planned or asked one ("könnte ein Angebot vorlegen", "erwägt ein Gebot", "ob X den Zuschlag erhält",
# "um … zu beteiligen") states interest at most, and no loss or withdrawal.
_NEGATION = frozenset("nicht nie niemals weder not never".split())
_NEGATING_ARTICLE = frozenset("kein keine keinen keinem keiner keines no".split())  # negates what follows
_CONDITIONAL = frozenset("koennte koennten wuerde wuerden waere waeren moechte moechten falls wenn could would "
                         "might if".split())
_QUESTION = frozenset("ob whether".split())  # "Ob Fox einsteigt, ist unklar": an open question, no status
_PLAN_LEMMAS = frozenset("wollen planen erwaegen pruefen vorbereiten".split())
# Words that open a clause of their own, with or without a comma, when a verb follows them
# (and, for the coordinating ones, when one precedes them too).
_OPENERS = frozenset("waehrend nachdem obwohl obgleich weil stattdessen derweil unterdessen doch "
                     "whereas while after as".split())
_JOINERS = frozenset("und oder aber sondern and but".split())
# A clause opening with one of these prepositions has a phrase before its verb that is background
# ("Nach der Absage an Microsoft verhandelt Walmart"): that phrase is a clause of its own.
_BACKGROUND = frozenset("nach trotz wegen angesichts".split())
# Where clauses end whatever follows: semicolons, colons (headline "Trump: …"), question marks
# ("Wer kauft Tiktok? …"), spaced dashes.
_HARD = re.compile(r"\s*[;:?!]\s+|\s+-+\s+|\s*\u2014\s*")
_COMMA = re.compile(r",\s*")
# Parts of speech that make a headline fragment a statement of its own ("Oracle vorn, …",
# "… Murdoch-Anteil noch offen"), besides a verb or a status cue.
_PREDICATE = ("ADJ(D)", "ADV")
# A cue made of these only is a noun phrase ("Gebot", "nach dem Aus", "aus dem Rennen"): it counts
# only where no verb or predicate cue stands in the clause ("prüft ein Gebot" is interest).
_NOMINAL = ("NN", "NE", "ART", "APPR", "PPOSAT", "ADJ(A)", "CARD")
# A teaser clause that names no bidder but opens with one of these descriptions ("Der
# Softwarekonzern aus Redmond geht leer aus") speaks of the one bidder its headline names.
_DESCRIPTION = re.compile(r"^(?:(?:er|sie|es)\s|(?:der|die|das)\s+(?:[a-z-]+\s+)?[a-z-]*(?:konzern|unternehmen|start-up|startup|"
                          r"dienst|kette|investor|geber|gesellschaft|gruppe|konsortium|buendnis|milliardaer|"
                          r"fonds|firma|riese)\b)")
# A bidder named where one of these stands in its clause without a status of its own bids with the
# others ("Mit im Boot ist Investor Kevin O'Leary", "Teil des Konsortiums um Oracle"): it shares the
# headline's status.
_PARTNER = re.compile(r"partner|konsortium|gruppe um|im boot|gemeinsam mit|zusammen mit|buendnis|allianz|an der seite")
_SHARED: GermanText | None = None


def _german() -> GermanText:
    global _SHARED
    if _SHARED is None:
        _SHARED = GermanText()
    return _SHARED


@dataclass(frozen=True)
class Clause:
    start: int  # offsets in the normalised part
    end: int
    cues: tuple[tuple[str, int, int, bool], ...]  # (status, start, end, a verb or phrase: not a noun phrase)
    negated: bool
    conditional: bool
    planned: bool  # "sollen": a report keeps talks or a withdrawal ("soll verhandeln"), but not a done deal
    intent: bool  # "wollen" without a conditional: "will über den Kauf verhandeln" is entering talks
    text: str


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
    german: GermanText | None = None  # the pipeline's text layer; a shared one is built when not given

    @classmethod
    def build(cls, deal: DealConfig, german: GermanText | None = None) -> "BidderFinder":
        owner = {a: b.name for b in deal.bidders for a in b.aliases}
        role_of = {cue: role for role, cues in deal.roles for cue in cues}
        context = [t for t, _ in deal.deal_terms] + list(deal.subject)
        return cls(deal, TermSet.build(owner, whole_word=True), owner, TermSet.build(context),
                   TermSet.build(role_of), role_of, TermSet.build(deal.not_bidder_cues),
                   TermSet.build(t for t, _ in deal.deal_terms), german)

    def find(self, title: str, teaser: str) -> tuple[BidderMention, ...]:
        """Bidders in the order the text names them, each with the most advanced status a clause states."""
        found: dict[str, str | None] = {}
        story = None
        title_names: set[str] = set()
        described: list[str | None] = []
        partners: set[str] = set()
        for part, norm, is_title in self._parts(title, teaser):
            hits = self.names.find(norm)
            clauses = self.clauses(part)
            if not is_title:
                described += [_status([c], c.start, c.start) for c in clauses if _DESCRIPTION.match(c.text)
                              and not any(c.start <= h_start < c.end for _, h_start, _ in hits)]
            if not hits:
                if is_title:
                    # A headline that names no bidder states the story's status where it speaks of the
                    # deal ("Tiktok-Deal abgeschlossen", not "Richter stoppt Download-Verbot"): it holds
                    # for bidders whose clauses state none.
                    story = min((_status([c], c.start, c.start) for c in clauses if self.deal_words.search(c.text)),
                                key=_rank, default=None)
                continue
            # A name only counts as a bidder where the sentence speaks of the deal.
            if not is_title and not self.context.search(norm) and not any(c.cues for c in clauses):
                continue
            cue_spans = [(s, e) for _, s, e in self.cues.find(norm)]
            for alias, start, end in hits:
                if self._qualified(norm, start, end, cue_spans):
                    continue
                name = self.alias_owner[alias]
                if is_title:
                    title_names.add(name)
                role = _status(clauses, start, end)
                if role is None and not is_title:
                    clause = next((c for c in clauses if c.start <= start < c.end), None)
                    if clause is not None and not clause.negated and _PARTNER.search(clause.text):
                        partners.add(name)
                if name not in found or _rank(role) < _rank(found[name]):
                    found[name] = role
        if len(title_names) == 1:
            name = next(iter(title_names))
            for role in described:
                if _rank(role) < _rank(found[name]):
                    found[name] = role
        lead = min((found[n] for n in title_names), key=_rank, default=None)
        for name in partners:
            if found[name] is None and lead in ("negotiating", "bid_submitted", "approved"):
                found[name] = lead
        return tuple(BidderMention(name, role or story) for name, role in found.items())

    def status_of(self, title: str, teaser: str, name: str) -> str | None:
        """The status title and teaser give any name (a discovered one, not only a configured bidder)
        by the same clause rules as `find`: the most advanced over the places it is named, else None."""
        pattern = TermSet.build([name], whole_word=True)
        best = None
        for part, norm, _ in self._parts(title, teaser):
            spans = [(s, e) for _, s, e in pattern.find(norm)]
            if spans:
                clauses = self.clauses(part)
                for start, end in spans:
                    role = _status(clauses, start, end)
                    best = role if _rank(role) < _rank(best) else best
        return best

    def status_at(self, text: str, start: int, end: int) -> str | None:
        """The status the clause around text[start:end] gives that span (offsets in `text` as written)."""
        offsets = _offsets(text)
        return _status(self.clauses(text), offsets[start], offsets[end])

    @staticmethod
    def _parts(title: str, teaser: str):
        yield title, normalise(title), True
        for s in sentences(teaser):
            yield s, normalise(s), False

    def clauses(self, part: str) -> list[Clause]:
        """The part's clauses in order, with the status cues each states (offsets in normalise(part))."""
        german = self.german or _german()
        offsets = _offsets(part)
        norm = normalise(part)
        tokens = [(offsets[t.start], t) for t in german.tokens(part)]
        cue_starts = [s for _, s, _ in self.roles.find(norm)]
        return [self._clause(norm, start, end, german, part, offsets)
                for start, end in _split(norm, tokens, cue_starts)]

    def _clause(self, norm: str, start: int, end: int, german: GermanText, part: str, offsets) -> Clause:
        text = norm[start:end]
        # Lemmas make one cue of "will … kaufen", "wollen gemeinsam kaufen"; the split verb is joined
        # within the clause only, so "gewinnt, … gehen leer aus" does not make "ausgewinnen".
        o_start, o_end = offsets.index(start), offsets.index(end)
        tokens = [(offsets[o_start + t.start], t) for t in german.tokens(part[o_start:o_end])]
        lemma_text, lemma_at = "", []
        for _, t in tokens:
            lemma_at.append(len(lemma_text))
            lemma_text += t.lemma + " "
        hits = [(term, start + s, start + e) for term, s, e in self.roles.find(text)]
        for term, s, _ in self.roles.find(lemma_text):
            pos, t = tokens[bisect_right(lemma_at, s) - 1]
            hits.append((term, pos, pos + len(normalise(t.text))))
        cues = []
        for term, s, e in hits:
            inside = [t for pos, t in tokens if s <= pos < e]
            cues.append((self.role_of[term], s, e, not all(t.pos.startswith(_NOMINAL) for t in inside)))
        words = [normalise(t.text) for _, t in tokens]
        # "kein" negates the noun phrase it opens: "keine Antwort zu ihrem Vorschlag" does not negate it.
        negated = bool(set(words) & (_NEGATION | _QUESTION)) or any(
            w in _NEGATING_ARTICLE and any(tokens[i][0] <= s <= tokens[min(i + 3, len(tokens) - 1)][0]
                                           for _, s, _ in hits) for i, w in enumerate(words))
        if any(set(_WORD.findall(term)) & (_NEGATION | _NEGATING_ARTICLE) for term, _, _ in hits):
            negated = False
        conditional = bool(set(words) & _CONDITIONAL) or any(
            t.lemma in _PLAN_LEMMAS or (t.pos == "PTKZU" and i + 1 < len(tokens) and tokens[i + 1][1].pos.startswith("V"))
            for i, (_, t) in enumerate(tokens))
        planned = any(t.lemma == "sollen" for _, t in tokens)
        intent = not set(words) & _CONDITIONAL and any(t.lemma == "wollen" for _, t in tokens)
        return Clause(start, end, tuple(cues), negated, conditional, planned, intent, text)
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


def _offsets(text: str) -> list[int]:
    """Offset in normalise(text) of each offset in text (folding "ü" to "ue" moves what follows)."""
    out = [0]
    for ch in text:
        out.append(out[-1] + len(normalise(ch)))
    return out


def _split(norm: str, tokens: list, cue_starts: list[int]) -> list[tuple[int, int]]:
    """Clause boundaries: hard punctuation always; a comma or "und" where a statement stands on both
    sides (so "Oracle, Silver Lake und MGX bekommen …" stays one clause); an opener word ("während")
    before a verb; a background phrase ("Nach der Absage an X") before its clause's first verb."""
    cuts = {m.start(): m.end() for m in _HARD.finditer(norm)}
    soft = {m.start(): m.end() for m in _COMMA.finditer(norm)}
    joiners = set()
    for pos, t in tokens:
        word = normalise(t.text)
        if pos > 0 and (word in _OPENERS or word in _JOINERS) and pos not in soft:
            soft[pos] = pos
            joiners.update([pos] if word in _JOINERS else [])
    verbs = [pos for pos, t in tokens if t.pos.startswith("V")]
    full_verbs = [pos for pos, t in tokens if t.pos.startswith("VV")]
    predicates = sorted(verbs + [pos for pos, t in tokens if t.pos.startswith(_PREDICATE)] + cue_starts)
    # Each candidate is judged within the stretch between the hard cuts and commas around it.
    majors = sorted({0, len(norm)} | set(cuts) | {e for e in cuts.values()} | {p for p, e in soft.items() if p != e}
                    | {e for p, e in soft.items() if p != e})
    last = 0  # where the clause before a candidate starts: the last cut or kept candidate
    for b in sorted(soft):
        after = soft[b]
        left = max(last, max((e for c, e in cuts.items() if c < b), default=0))
        right = majors[bisect_right(majors, after)] if after < len(norm) else len(norm)
        comma = b != after
        # A comma needs a statement on both sides; a joiner ("und") a lexical verb on both sides
        # ("… keine Antwort zu ihrem Vorschlag mit Oracle und Walmart erhalten" is one clause: its
        # auxiliary waits for the participle); an opener word a verb after it.
        if comma:
            keep = any(left <= v < b for v in predicates) and any(after <= v < right for v in predicates)
        elif b in joiners:
            keep = any(left <= v < b for v in full_verbs) and any(after <= v < right for v in verbs)
        else:
            keep = any(after <= v < right for v in verbs)
        if not keep:
            del soft[b]
        else:
            last = after
    spans, start = [], 0
    for b in sorted(set(cuts) | set(soft)):
        spans.append((start, b))
        start = cuts.get(b, soft.get(b))
    spans.append((start, len(norm)))
    out = []
    for s, e in spans:
        first = next((t for pos, t in tokens if s <= pos < e), None)
        verb = next((v for v in verbs if s < v < e), None)
        if first is not None and normalise(first.text) in _BACKGROUND and verb is not None:
            out += [(s, verb), (verb, e)]
        elif e > s:
            out.append((s, e))
    return out


def _status(clauses: list[Clause], start: int, end: int) -> str | None:
    clause = next((c for c in clauses if c.start <= start < c.end), None)
    if clause is None or clause.negated or not clause.cues:
        return None
    strong = [c for c in clause.cues if c[3]]
    cues = strong or list(clause.cues)
    def distance(cue) -> int:
        _, c_start, c_end, _ = cue
        return 0 if c_start <= start < c_end else min(abs(c_start - end), abs(start - c_end))
    role = min(cues, key=lambda c: (_rank(c[0]), distance(c)))[0]
    if clause.conditional and role not in ("interested", "negotiating" if clause.intent else ""):
        return None if role in ("rejected", "withdrawn") else "interested"
    if clause.planned and role == "approved":
        return None  # "Oracle soll die Sicherheit übernehmen": a plan, the deal is not done
    return role


def _rank(role: str | None) -> int:
    """Lower is stronger: when one item gives several statuses, the one furthest along the deal wins."""
    return -strength(role)


def sightings(mentions: tuple[BidderMention, ...], published, source: str, link: str,
              title: str) -> list[Sighting]:
    """One item's mentions as sightings: bidders the item gives the same status bid together."""
    return [Sighting(m.name, m.role, published, source, link, title,
                     tuple(o.name for o in mentions if o.name != m.name and m.role and o.role == m.role))
            for m in mentions]


def advance(current: BidderStanding | None, s: Sighting, new_outlet: bool) -> BidderStanding:
    """The standing after one more report. A status holds until a report dated later states another;
    reports arrive out of order (a feed polled late), so the dates decide, not the arrival."""
    if current is None:
        return BidderStanding(s.bidder, s.status, s.published if s.status else None,
                              s.published if s.status else None, s.partners if s.status else (), 1, 1,
                              s.published, s.published, s.link, s.title, s.source)
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
        s.source if newest else current.last_source)
