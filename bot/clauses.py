"""Clauses of German news text and the status each states: clause splitting, negation, conditionals, plans."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache

from bot.german import GermanText
from bot.splitting import OF_ANTECEDENT, embed_relatives, offsets, split
from bot.match import TermSet, head_pattern, normalise
from bot.statuses import strength

_WORD = re.compile(r"[a-z0-9]+")
# German grammar, not deal language, so not configured. A negated clause states no status ("kein
# Interesse", "verhandelt nicht"; a cue may hold its negation: "nicht weiter verfolgt"); a conditional,
# planned or asked one ("könnte ein Angebot vorlegen", "erwägt ein Gebot", "ob X den Zuschlag erhält",
# "um … zu beteiligen") states interest at most, and no loss or withdrawal.
_NEGATION = frozenset("nicht nie niemals weder not never".split())
_NEGATING_ARTICLE = frozenset("kein keine keinen keinem keiner keines no".split())  # negates what follows
_CONDITIONAL = frozenset("koennte koennten wuerde wuerden waere waeren moechte moechten falls wenn could would "
                         "might if kann koennen can solle muesste muessten braeuchte braeuchten".split())  # "kann … übernehmen": possible, not done
_NO_COMMENT = frozenset("kommentar stellungnahme comment".split())
# "Amazon äußert sich nicht zu der Offerte": silence about what the clause names, which still holds.
_SILENT = frozenset("aeussern kommentieren".split())
_NOT_NEGATING = frozenset("nur zuletzt only".split())
_DENYING = frozenset("ausschliessen dementieren deny".split())
# A deal or talks paused ("auf Eis", "pausiert", "vorerst gestoppt") have no status: nobody won, lost or
# withdrew (all three labelled sets read them so). Stopped for good ("EU stoppt Übernahme") is a rejection.
_PAUSING = frozenset("pausieren aussetzen zurueckstellen unterbrechen einfrieren".split())
_FOR_NOW = frozenset("vorerst vorlaeufig einstweilen".split())
_DISPUTING = frozenset("zurueckweisen bestreiten".split())
_CLAIMS = ("bericht", "darstellung", "spekulation", "geruecht", "meldung", "report")
_PENDING = frozenset("noch bisher bislang vorerst yet".split())
_QUESTION = frozenset("ob wer whether".split())  # "Ob Fox einsteigt, ist unklar", "Wer verhandelt": asked, no status
# Plans, and expectations of what is still to come ("der Abschluss wird erwartet", "wartet auf Freigaben",
# "rechnen mit einer Freigabe").
_PLAN_LEMMAS = frozenset("wollen planen erwaegen pruefen vorbereiten hoffen beabsichtigen ueberlegen erwarten "
                         "warten rechnen draengen anbieten".split())  # "drängt in die Verhandlungen", "bietet Gespräche an"
# Readiness is a modal like "wollen": "stehe bereit", "sei gesprächsbereit", "bereit, nachzulegen" state
# interest, whatever the deal. (A word ending, not a term: a term "bereit" also finds "bereits".)
_READY = "bereit"
_JOINED = frozenset("und doch aber sondern".split())
_COMPARISON = frozenset("als wie".split())  # "länger als erwartet", "wie erwartet": no expectation
# A clause that opens with these states a condition ("Sollte die Vereinbarung scheitern, …").
_CONDITION_OPENERS = frozenset("sollte sollten falls sofern".split())
_SUPPOSING = frozenset("falls sofern wenn if".split())
# A cue made of these only is a noun phrase ("Gebot", "nach dem Aus", "aus dem Rennen"): it counts
# only where no verb or predicate cue stands in the clause ("prüft ein Gebot" is interest).
_NOMINAL = ("NN", "NE", "ART", "APPR", "PPOSAT", "ADJ(A)", "CARD")
_PRELIMINARY = re.compile(r"vor(?!verhandl)[a-z]*gespraech|sondierung")
_FIRST = re.compile(r"(?:^|\s)(?:vorlaeufige?[nrs]?|erste[nrs]?|informelle?[nrs]?|preliminary)\s+(?:[a-z-]+\s+)?$")
_AFTER = re.compile(r"(?:^|\s)(?:nach|seit|trotz|wegen|angesichts)\s+(?:de[mnr]|einer?m?|seine[mnr]?|ihre[mnr]?)?\s*$")
_NEARLY = re.compile(r"(?:^|\s)(?:nahezu|fast|beinahe|annaehernd|so gut wie|weitgehend|nearly|almost)\s+"
                     r"(?:[a-z-]+\s+)?$")
_PURPOSE = re.compile(r"(?:^|\s)(?:fuer|for)\s+(?:ein|eine|einen|an|a)\s+(?:[a-z-]+\s+)?$")
_TOPIC = re.compile(r"(?:^|\s)(?:ueber|um|an|zu|zur|zum)\s+(?:(?:de[mnrs]|die|das|eine[mnrs]?|ein|seine[mnrs]?|ihre[mnrs]?)\s+)?"
                    r"(?:[a-z-]+\s+)?$")
_DEFINITE = re.compile(r"(?:^|\s)(?:das|die|der|dem|den|des|sein|seine[mnrs]?|ihr|ihre[mnrs]?)\s+(?:[a-z-]+\s+)?$")
# "wartet auf eine Antwort zu seiner Fusionsofferte", "hält an ihren Gesprächen fest": the subject's own
# offer or talks, named as what the clause speaks about, exist whatever it plans, asks or denies of them
# (as its object they may be planned: "könnte seine Offerte nachbessern").
_OWN = re.compile(r"(?:^|\s)(?:zu|zur|zum|auf|an|fuer|ueber|mit|von|bei|um|aus)\s+(?:sein|seine[mnrs]?|ihr|ihre[mnrs]?)\s+"
                  r"(?:[a-z-]+\s+)?$")
_OWNED = ("interested", "negotiating", "bid_submitted")
# Statuses a definite noun phrase presupposes: an offer made, an agreement reached.
_PRESUPPOSED = ("bid_submitted", "approved")
_PHRASE_REACH = 40  # characters after a background phrase's cue that its names stand in


@lru_cache(maxsize=1)
def _german() -> GermanText:
    """One text layer per process for readers not given the pipeline's (its word cache is shared too)."""
    return GermanText()


@dataclass(frozen=True)
class Clause:
    start: int  # offsets in the normalised part
    end: int
    # (status, start, end, a verb or phrase: not a noun phrase, background: a noun phrase after "nach",
    #  definite: a noun phrase with a definite article or possessive)
    cues: tuple[tuple[str, int, int, bool, bool], ...]
    negated: bool  # its cues state nothing as written: negated ("kein Interesse") or asked ("ob")
    denied: bool  # it holds a negation at all ("Mit X gab es keinen Kontakt", "nicht an X verkaufen")
    pending: bool  # "noch nicht", "bisher nicht": a step not yet reached, the one before it holds
    conditional: bool
    planned: bool  # "sollen": a report keeps talks or a withdrawal ("soll verhandeln"), but not a done deal
    intent: bool  # "wollen" without a conditional: "will über den Kauf verhandeln" is entering talks
    text: str
    verbs: tuple[str, ...] = ()  # its verbs' lemmas
    elliptic: bool = False  # an infinitive without a finite verb: "…, Walmart einsteigen" shares the one before
    supposing: bool = False  # a condition ("falls", "Sollte … scheitern"): what its definite nouns name exists
    verb_final: bool = False  # its last word is a verb, as in a relative clause ("…, die Interesse signalisiert haben")
    topics: tuple[str, ...] = ()  # statuses of cues that only name what another is about ("kein Interesse an Gesprächen")
    subjectless: bool = False  # "… hatte ein Auge auf Tiktok geworfen – und winkt nun ab": the subject before's


class ClauseReader:
    """Splits a sentence into clauses and finds the configured status cues in each, as written and as
    lemmas (a cue's infinitive finds every form; split verbs are joined within the clause)."""

    def __init__(self, roles: TermSet, role_of: dict, german: GermanText | None = None):
        self.roles = roles
        self.role_of = role_of
        self.german = german
        # The finder asks once per bidder and status question about the same headline and sentences.
        self._read = lru_cache(maxsize=2048)(self._uncached)

    def read(self, part: str) -> list[Clause]:
        """The part's clauses in order, with the status cues each states (offsets in normalise(part))."""
        return list(self._read(part))

    def _uncached(self, part: str) -> tuple[Clause, ...]:
        german = self.german or _german()
        at = offsets(part)
        norm = normalise(part)
        tokens = [(at[t.start], t) for t in german.tokens(part)]
        cue_starts = [s for _, s, _ in self.roles.find(norm)]
        out: list[Clause] = []
        for start, end in split(norm, tokens, cue_starts):
            clause = self._clause(norm, start, end, german, part, at)
            if clause.elliptic and out and "," in norm[out[-1].end - 1:start + 1]:
                # "Oracle soll 20 Prozent übernehmen, Walmart einsteigen": the modal verb is shared.
                before = out[-1]
                clause = replace(clause, conditional=clause.conditional or before.conditional,
                                 planned=clause.planned or before.planned, intent=clause.intent or before.intent)
            out.append(clause)
        return tuple(embed_relatives(out, norm))

    def _clause(self, norm: str, start: int, end: int, german: GermanText, part: str, at: list[int]) -> Clause:
        text = norm[start:end]
        # Lemmas make one cue of "will … kaufen", "wollen gemeinsam kaufen"; the split verb is joined
        # within the clause only, so "gewinnt, … gehen leer aus" does not make "ausgewinnen".
        o_start, o_end = at.index(start), at.index(end)
        tokens = [(at[o_start + t.start], t) for t in german.tokens(part[o_start:o_end])]
        lemma_text, lemma_at = "", []
        for _, t in tokens:
            lemma_at.append(len(lemma_text))
            lemma_text += t.lemma + " "
        hits = [(term, start + s, start + e) for term, s, e in self.roles.find(text)]
        for term, s, _ in self.roles.find(lemma_text):
            pos, t = tokens[bisect_right(lemma_at, s) - 1]
            hits.append((term, pos, pos + len(normalise(t.text))))
        # A compound noun states what its head states ("Milliardenofferte", "Übernahmeverhandlungen"): the
        # text layer's head, so every inflection and compound is covered by the one cue. Not approvals:
        # "Wettbewerbsfreigabe", "Teilgenehmigung", "Jahresabschluss" approve a part or something else.
        for pos, t in tokens:
            if t.pos.startswith("NN") and t.parts and not any(s <= pos < e for _, s, e in hits):
                hits += [(term, pos, pos + len(normalise(t.text))) for term, _, _ in self.roles.find(t.head)
                         if (head_pattern(term) or term.startswith("*")) and self.role_of[term] != "approved"][:1]
        ready = [(pos, t) for pos, t in tokens if t.pos.startswith("ADJ") and t.lemma.endswith(_READY)]
        cues = [("interested", pos, pos + len(normalise(t.text)), True, False, False, False) for pos, t in ready]
        topics: list[str] = []
        for term, s, e in hits:
            role = self.role_of[term]
            word = norm.rfind(" ", start, s) + 1 or start  # a cue may end a compound: "Pflichtangebot"
            nearly = role == "approved" and bool(_NEARLY.search(norm[max(start, s - 24):s]))
            if nearly:
                role = "negotiating"  # "eine nahezu fertige Vereinbarung": not yet agreed, but talked about
            elif role == "negotiating" and (_PRELIMINARY.match(norm, word) or _FIRST.search(norm[start:word])):
                role = "interested"  # "Vorgespräche", "vorläufige Gespräche": a first contact, not talks
            inside = [t for pos, t in tokens if s <= pos < e]
            nominal = all(t.pos.startswith(_NOMINAL) for t in inside)
            # "nach dem Aus seines Partners Microsoft": a noun phrase after "nach" is background that
            # speaks only of the names in its own phrase.
            background = nominal and bool(_AFTER.search(norm[start:word]) or norm.startswith(("nach ", "seit "), s))
            if nominal and _PURPOSE.search(norm[max(start, word - 30):word]):
                continue  # "die Schwelle für ein Pflichtangebot", "Geld für eine Übernahme": none made
            if nominal and _TOPIC.search(norm[max(start, word - 30):word]) and any(h[1] < word - 4 for h in hits):
                topics.append(role)  # "Verhandlungen über die Vereinbarung", "Interesse an einer Offerte": what the other cue is about
                continue
            # "Das Angebot der Gruppe um X", "die Vereinbarung mit X": a definite noun phrase presupposes
            # what it names, whatever the clause's verb says of it ("sei nicht geprüft worden", "falls … scheitert").
            definite = nominal and bool(_DEFINITE.search(norm[max(start, word - 30):word]))
            # (a nearly finished agreement presupposes the talks, whatever became of it: "liegt auf Eis")
            own = nearly or (nominal and bool(_OWN.search(norm[max(start, word - 30):word])))
            cues.append((role, s, e, not nominal, background, definite, own))
        words = [normalise(t.text) for _, t in tokens]
        if "gelten" in {t.lemma for _, t in tokens} and "als" in words:
            # "ein Triller-Gebot gilt als chancenlos" is a view, not a fact; "das Gebot … gilt als wenig
            # glaubwürdig" presupposes the offer (a definite noun phrase); "als Kaufinteressent gilt X"
            # predicates the status of X.
            als = tokens[words.index("als")][0]
            cues = [c for c in cues if c[3] or c[5] or c[1] > als]
        if set(words) & _NO_COMMENT:  # "Microsoft lehnte einen Kommentar ab": news boilerplate, no refusal
            cues = [c for c in cues if c[0] != "rejected"]
        # "kein" negates the noun phrase it opens, up to its noun: "keine Gespräche" is negated, "kein
        # Zeitplan für Gespräche" and "keine Antwort zu ihrem Vorschlag" are not.
        phrases = []
        for i, w in enumerate(words):
            if w in _NEGATING_ARTICLE:
                head = next((j for j in range(i + 1, min(i + 5, len(tokens))) if tokens[j][1].pos.startswith("N")),
                            min(i + 1, len(tokens) - 1))
                phrases.append((tokens[i][0], tokens[head][0]))
        lemmas = {t.lemma for _, t in tokens}
        # "nicht nur …, sondern", "nicht zuletzt": no negation.
        words = [w if not (w == "nicht" and after in _NOT_NEGATING) else "" for w, after in zip(words, words[1:] + [""])]
        # Verbs that deny what the clause names: "schließt ein Angebot aus", "dementiert Gespräche",
        # "weist Berichte über Gespräche zurück" (but "weist die Offerte zurück" is a rejection).
        if lemmas & _SILENT:
            words = [w if w not in _NEGATION else "" for w in words]
        refuted = bool(lemmas & _DENYING) or bool(lemmas & _DISPUTING and any(w.startswith(_CLAIMS) for w in words))
        denied = bool(set(words) & _NEGATION or phrases or refuted)
        paused = bool(lemmas & _PAUSING) or " auf eis" in f" {text}" or bool("stoppen" in lemmas and set(words) & _FOR_NOW)
        negated = refuted or paused or bool(set(words) & (_NEGATION | _QUESTION)) or any(
            a <= s <= b for a, b in phrases for _, s, _ in hits)
        if any(set(_WORD.findall(term)) & (_NEGATION | _NEGATING_ARTICLE) for term, _, _ in hits):
            negated = denied = False
        pending = denied and bool(set(words) & _PENDING - ({"noch"} if "weder" in words else set()))  # "weder … noch"
        # "zu" before a verb: an infinitive clause ("…, sich an dem Konsortium zu beteiligen") is a plan.
        pos_after = [t.pos for _, t in tokens[1:]] + [""]
        # A question ("Steigt Microsoft bei Tiktok ein?") asks what a statement would state.
        asked = norm[start:end + 2].rstrip().endswith("?")
        # A perfect infinitive reports a past fact: "soll … erhalten haben"; "ein Angebot gemacht haben will"
        # is a claim of one, not a plan.
        perfect = any(t.lemma in ("haben", "sein") and b.pos == "VV(PP)" for (_, b), (_, t) in zip(tokens, tokens[1:]))
        conditional = asked or bool(ready) or bool(set(words) & _CONDITIONAL) or words[:1] in ([w] for w in _CONDITION_OPENERS) or any(
            (t.lemma in _PLAN_LEMMAS and before not in _COMPARISON and not (perfect and t.lemma == "wollen")) or (t.pos == "PTKZU" and after.startswith("V"))
            for (_, t), after, before in zip(tokens, pos_after, [""] + words))
        # "soll … übernehmen" is a plan (and so is "bis zum 15. September sollen die Verhandlungen
        # abgeschlossen sein": a deadline); "Sollte die Vereinbarung scheitern, …" opens a condition.
        # Konjunktiv I of the future ("er werde die App übernehmen") reports an announcement: a plan.
        future = any(t.text.lower() == "werde" and t.pos.startswith("VA") for _, t in tokens) and any(
            t.pos == "VV(INF)" for _, t in tokens)
        planned = future or words[:1] not in ([w] for w in _CONDITION_OPENERS) and any(t.lemma == "sollen" for _, t in tokens) and (
            "bis" in words or not perfect)
        intent = not set(words) & _CONDITIONAL and not perfect and any(t.lemma == "wollen" for _, t in tokens)
        elliptic = not any(t.pos.endswith("(FIN)") for _, t in tokens) and any(t.pos == "VV(INF)" for _, t in tokens)
        supposing = bool(set(words) & _SUPPOSING) or words[:1] in ([w] for w in _CONDITION_OPENERS)
        return Clause(start, end, tuple(cues), negated, denied, pending, conditional, planned, intent, text,
                      tuple(t.lemma for _, t in tokens if t.pos.startswith("VV")), elliptic, supposing,
                      bool(tokens) and tokens[-1][1].pos.startswith("V"), tuple(topics),
                      len(tokens) > 1 and words[0] in _JOINED and tokens[1][1].pos.endswith("(FIN)"))


def of_relative(clauses: list[Clause], i: int, norm: str) -> str | None:
    """The status a relative clause right after clauses[i] states of the name it follows: "Oracle und
    Twitter, die beide Interesse signalisiert haben sollen", "der Konzern, der derzeit verhandelt",
    "die Investoren um Oracle, deren Einstieg Trump gebilligt hat"; not "…, dessen Partner leer ausging"."""
    if i + 1 >= len(clauses) or norm[clauses[i].end:clauses[i + 1].start].strip() != ",":
        return None
    relative = clauses[i + 1]
    if not relative.verb_final or not OF_ANTECEDENT.match(relative.text):
        return None  # "Orcel betont, das Angebot … ändere nichts": an article, not a relative pronoun
    return status([relative], relative.start)


def status(clauses: list[Clause], pos: int) -> str | None:
    """The status the clause holding `pos` states: its strongest cue (a rejection beats the bid it
    rejects), where only noun-phrase cues stand the strongest of those; none where it is negated;
    interest at most where it is conditional or planned, and no approval from "sollen"; at least what
    its subject's own offer or talks presuppose ("seine Offerte")."""
    clause = next((c for c in clauses if c.start <= pos < c.end), None)
    if clause is None or not clause.cues:
        return None
    stated = _stated(clause, pos)
    own = min((c[0] for c in clause.cues if c[6] and c[0] in _OWNED), key=rank, default=None)
    return own if rank(own) < rank(stated) else stated


def _stated(clause: Clause, pos: int) -> str | None:
    cues = [c for c in clause.cues if not c[4] or c[1] <= pos <= c[2] + _PHRASE_REACH]
    # An agreement "nicht mehr in Sicht" is gone; an offer "nicht geprüft" was still made.
    given = [c[0] for c in cues if c[5] and c[2] <= pos <= c[2] + _PHRASE_REACH and (
        c[0] in ("interested", "bid_submitted") or (c[0] in _PRESUPPOSED and not clause.negated))]
    cues = [c for c in cues if c[3]] or cues
    if not cues:
        return None
    role = min((c[0] for c in cues), key=rank)
    if given and (clause.negated or clause.supposing):
        return min(given, key=rank)
    if clause.negated:
        # What a negation leaves: no offer yet is still interest ("kein Angebot vor 2026", "ein
        # Angebot liegt nicht vor"); no agreement yet is still talks ("eine Einigung gibt es bisher nicht").
        if role == "bid_submitted" and clause.denied:
            return "interested"
        if role == "approved" and clause.pending:
            return "negotiating"
        return None
    if clause.conditional and role not in ("interested", "negotiating" if clause.intent else ""):
        # A possible offer or talks show interest; a possible win, approval, loss or withdrawal
        # ("wenn Mnuchin zum Zug käme", "der Abschluss wird erwartet") states nothing yet.
        # Wanting to take over ("will … einsteigen", "soll … übernehmen wollen") is interest; wanting to
        # give something up ("will auf die Garantie verzichten") is not.
        wants = role in ("negotiating", "bid_submitted") or (clause.intent and role == "approved") or any(c[0] == "interested" for c in cues)
        return "interested" if wants else None  # "wollen Mehrheit übernehmen" holds its own interest cue
    if clause.planned and role == "approved":
        return None  # "Oracle soll die Sicherheit übernehmen": a plan, the deal is not done
    if clause.planned and role == "bid_submitted":
        return "interested"  # "Oracle soll nachbessern", "X soll ein Gebot vorlegen": no offer made yet
    return role


def rank(role: str | None) -> int:
    """Lower is stronger: when one item gives several statuses, the one furthest along the deal wins."""
    return -strength(role)
