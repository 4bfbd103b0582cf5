"""Decide whether an item covers the configured deal, with a score and the reasons."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import DealConfig
from bot.match import TermSet, loose_pattern, normalise, sentences
from bot.models import Verdict

# Evidence found away from the sentence that names the subject counts for less:
# "Microsoft will kaufen" in the title and "TikTok" three sentences later is weaker
# than "Microsoft will TikTok kaufen".
_FAR = 0.6
# A deal word glued to the subject ("TikTok-Kauf", "Bytedance-Verkauf") is the
# strongest signal German offers, so it adds to the term's own weight.
_COMPOUND = 0.3
_GLUE = frozenset("- /")
# Nothing but punctuation, a conjunction or the end after a verb: it closes its clause.
_VERB_LAST = re.compile(r"\s*(?:[,;:.!?)\"]|$|(?:und|oder|aber)\s)")
# Between a part ("Sparte") and its owner: "Sparte von Covestro", "Tochter der Commerzbank".
_OF = re.compile(r" (?:von|der|des)(?: der| dem| des)? ")
_HIDING = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


@dataclass(frozen=True)
class RelevanceModel:
    deal: DealConfig
    subject: TermSet
    # Negative terms, drivers and deal terms in one pass, in that order: a word gives one hit,
    # so a deal term inside a negative term's match ("Anteil" in "Marktanteil") does not count.
    terms: TermSet
    weights: dict
    drivers: frozenset
    bidders: TermSet
    references: TermSet
    buyer_verbs: TermSet
    seller_verbs: TermSet
    driver_cues: TermSet
    parts: TermSet
    mergers: TermSet
    ascii_subject: bool
    subject_loose: re.Pattern

    @classmethod
    def build(cls, deal: DealConfig) -> "RelevanceModel":
        aliases = [a for b in deal.bidders for a in b.aliases]
        weighted = deal.negative_terms + deal.drivers + deal.deal_terms
        return cls(deal, TermSet.build(deal.subject), TermSet.build((t for t, _ in weighted), heads=True),
                   dict(weighted), frozenset(t for t, _ in deal.drivers), TermSet.build(aliases, whole_word=True),
                   TermSet.build(deal.subject_references), TermSet.build(deal.subject_as_buyer, whole_word=True),
                   TermSet.build(deal.subject_as_seller, whole_word=True), TermSet.build(deal.not_driver_cues),
                   TermSet.build(deal.subject_parts, heads=True), TermSet.build(deal.merger_terms, heads=True),
                   all(term.isascii() for term in deal.subject), loose_pattern(deal.subject))

    def could_match(self, raw: str) -> bool:
        """Cheap pre-check on raw feed text, HTML and all: without the subject an item cannot be
        relevant, so parsing skips the rest of its work. Errs towards yes: character references
        and invisible characters could hide the subject from this check, so such text passes."""
        ascii_subject = self.ascii_subject
        # Folding umlauts costs more than everything else here, and plain-ASCII subject terms
        # ("tiktok", "bytedance") do not need it; the loose pattern has no word boundaries,
        # which makes it several times faster than the exact one and only ever says yes more often.
        if self.subject_loose.search(raw.lower() if ascii_subject else normalise(raw)):
            return True
        return "&#" in raw or _HIDING.search(raw) is not None or ("&" in raw and not ascii_subject)

    def judge(self, title: str, teaser: str) -> Verdict:
        title_n, teaser_n = normalise(title), normalise(teaser)
        if not (self.subject.search(title_n) or self.subject.search(teaser_n)):
            return Verdict(False, 0.0, ())
        parts = [title_n] + [normalise(s) for s in sentences(teaser)]
        best: dict[str, float] = {}
        subjects: set[str] = set()
        negative_hits: set[str] = set()
        bidder_near = bidder_far = buyer = seller = part_of = paired = False
        driving, drivers_found = 0.0, {}
        # A cue in the title ("Indien verbietet Tiktok") places every driver of the item elsewhere.
        title_cue = bool(self.drivers) and self.driver_cues.search(title_n)
        for part in parts:
            subject_hits = self.subject.find(part)
            subjects.update(t.strip("*$") for t, _, _ in subject_hits)
            # "die App", "die Videoplattform" in a teaser point back at the subject.
            near = bool(subject_hits) or self.references.search(part)
            buyer |= any(self._buys(part, end) for _, _, end in subject_hits)
            seller |= any(self._sells(part, end) for _, _, end in subject_hits)
            part_of |= self._part_of(part, subject_hits)
            paired |= bool(subject_hits) and _paired(part, subject_hits) and self.mergers.search(part)
            elsewhere = bool(self.drivers) and (title_cue or self.driver_cues.search(part))
            part_drivers: dict[str, float] = {}
            for term, start, end in self.terms.find(part):
                weight = self.weights[term] * (1.0 if near else _FAR)
                if weight < 0:
                    negative_hits.add(term)
                elif term in self.drivers:
                    # "Tiktok-Verbot" is said of every country's ban, so a driver gets no bonus
                    # for being glued to the subject: who imposes it must be said too.
                    if not (elsewhere or _acts(part, start, subject_hits)):
                        part_drivers[term] = weight
                else:
                    if any(_glued(part, s_end, start) or _glued(part, end, s_start) or s_start < start < s_end
                           for _, s_start, s_end in subject_hits):
                        weight += _COMPOUND
                    best[term] = max(best.get(term, 0.0), weight)
            # Drivers in one sentence tell one thing together: who does what to the subject
            # ("Trump will Tiktok verbieten", "Senat billigt Tiktok-Gesetz"), so they add up.
            part_driving = min(1.0, sum(part_drivers.values()))
            if part_driving > driving:
                driving, drivers_found = part_driving, part_drivers
            if self.bidders.search(part):
                bidder_near |= near or part is title_n
                bidder_far = True
        # The sentence with the most driving counts like one more deal term.
        ranked = sorted([*best.values(), driving], reverse=True)
        evidence = sum(w * (0.5 ** i) for i, w in enumerate(ranked[:3]))
        # A bidder adds to sale words; next to a ruling alone ("Oracle warnt vor Tiktok-Verbot")
        # it is not bidding.
        if best:
            evidence += self.deal.bidder_weight * (1.0 if bidder_near else _FAR if bidder_far else 0.0)
        penalty = sum(self.weights[t] for t in negative_hits)
        # "Bytedance kauft Spielestudio": the subject is the acquirer, not the one being sold;
        # "Commerzbank verkauft Tochter": it sells something else.
        # "Stratasys übernimmt 3D-Druck-Sparte von Covestro": a part of it changes hands.
        # "Deutsche Bank und Commerzbank verhandeln über Fusion", no bidder named: another merger.
        for role, found in (("subject-as-buyer", buyer), ("subject-as-seller", seller), ("subject-part", part_of),
                            ("subject-merges-elsewhere", paired and not bidder_far)):
            if found:
                penalty -= 1.0
                negative_hits.add(role)
        score = round(max(0.0, min(1.0, evidence + penalty)), 3)
        whole = title_n + " " + teaser_n
        reasons = ([f"subject:{s}" for s in sorted(subjects)]
                   + [f"deal:{t.strip('*^$')}" for t in sorted(best, key=best.get, reverse=True)]
                   + [f"driver:{t.strip('*^$')}" for t in sorted(drivers_found, key=drivers_found.get, reverse=True)]
                   + [f"bidder:{b}" for b in self.bidder_names(whole)]
                   + [f"negative:{t.strip('*^$')}" for t in sorted(negative_hits)])
        return Verdict(score >= self.deal.threshold, score, tuple(reasons))

    def _buys(self, text: str, subject_end: int) -> bool:
        """True when an acquisition verb follows the subject directly ("Bytedance übernimmt …")."""
        return self._verb_after(self.buyer_verbs, text, subject_end) is not None

    def _sells(self, text: str, subject_end: int) -> bool:
        """True when a selling verb follows the subject directly and the rest of the sentence does
        not name the subject again: "Bytedance verkauft Spielestudio" is another sale, "Bytedance
        verkauft das US-Geschäft von Tiktok" (or "die App") is this one."""
        if self._verb_after(self.seller_verbs, text, subject_end) is None:
            return False
        rest = text[subject_end + 1:]  # the verb, its object and what follows
        return not (self.subject.search(rest) or self.references.search(rest))

    def _part_of(self, text: str, subject_hits) -> bool:
        """True when the sentence names the subject once, as the owner of a part: "Sparte von
        Covestro", "Tochter der Commerzbank", "Commerzbank-Tochter". Naming it again or a reference
        ("das US-Geschäft von Tiktok", "Bytedance-Tochter Tiktok") makes it the subject's own deal."""
        if len(subject_hits) != 1 or self.references.search(text):
            return False
        _, s_start, s_end = subject_hits[0]
        return any((start == s_end + 1 and text[s_end] == "-")
                   or (end < s_start and _OF.fullmatch(text, end, s_start)) for _, start, end in self.parts.find(text))

    @staticmethod
    def _verb_after(verbs: TermSet, text: str, subject_end: int):
        """The verb right after the subject, unless it closes the clause: a German subordinate clause
        puts its verb last, after the object ("…, dass ein Investor Covestro kauft, …"), while a main
        clause's verb comes second, with its object after it ("Covestro kauft Harzgeschäft")."""
        m = verbs.match_at(text, subject_end + 1) if text[subject_end:subject_end + 1] == " " else None
        if m and "..." not in verbs.terms[int(m.lastgroup[1:])] and _VERB_LAST.match(text, m.end()):
            return None
        return m

    def bidder_names(self, normalised_text: str) -> list[str]:
        found = {t for t, _, _ in self.bidders.find(normalised_text)}
        return [b.name for b in self.deal.bidders if any(a in found for a in b.aliases)]


def _acts(text: str, start: int, subject_hits) -> bool:
    """True when a driver follows the subject as its verb ("Tiktok verbietet Beauty-Filter"):
    the subject does the banning or extending there, it is not the one concerned. A genitive
    ("Tiktoks Eilantrag") is the subject's own case, so it does not act."""
    return any(text[s_end:start] == " " and not (text[s_end - 1] == "s" and not term.rstrip("$").endswith("s"))
               for term, _, s_end in subject_hits)


def _paired(text: str, subject_hits) -> bool:
    """True when "und" joins the subject to another party ("Deutsche Bank und Commerzbank"), not to
    another name of the subject ("Tiktok und Bytedance")."""
    starts, ends = {s for _, s, _ in subject_hits}, {e for _, _, e in subject_hits}
    return any((text.endswith(" und ", 0, s) and s - 5 not in ends)
               or (text.startswith(" und ", e) and e + 5 not in starts) for _, s, e in subject_hits)


def _glued(text: str, left_end: int, right_start: int) -> bool:
    """True when two matches touch, joined by nothing or by a hyphen ("TikTok-Kauf")."""
    if right_start < left_end:
        return False
    gap = text[left_end:right_start]
    return 0 <= right_start - left_end <= 1 and all(c in _GLUE for c in gap) and "/" not in gap


def with_discovered(verdict: Verdict, bidders, deal: DealConfig) -> Verdict:
    """A bidder nobody configured, found in a bidder role with a status (bot.discovery), counts as a
    configured one would: "Investor Reid Rasner bietet 20 Milliarden für Tiktok" is the deal. Only for
    items that name the subject, speak of the sale and carry no negative evidence."""
    found = [b for b in bidders if b.discovered and b.role]
    if verdict.relevant or not found or not story_candidate(verdict) \
            or not any(r.startswith("deal:") for r in verdict.reasons):
        return verdict
    score = round(min(1.0, verdict.score + deal.bidder_weight), 3)
    return Verdict(score >= deal.threshold, score, verdict.reasons + tuple(f"bidder:{b.name}" for b in found))


def story_candidate(verdict: Verdict) -> bool:
    """Not the deal by itself, yet it names the subject and nothing marks it as something else
    ("Leider ist Tiktok derzeit nicht verfügbar", "Tiktok in den USA wieder erreichbar"): such an
    item may be a later report of a story the deal already has. It is kept only if the story model
    files it under one; it never opens a story of its own."""
    return (not verdict.relevant and any(r.startswith("subject:") for r in verdict.reasons)
            and not any(r.startswith("negative:") for r in verdict.reasons))
