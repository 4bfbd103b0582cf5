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
_HIDING = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


@dataclass(frozen=True)
class RelevanceModel:
    deal: DealConfig
    subject: TermSet
    deal_terms: TermSet
    negatives: TermSet
    bidders: TermSet
    references: TermSet
    buyer_verbs: TermSet
    weights: dict
    penalties: dict
    ascii_subject: bool
    subject_loose: re.Pattern

    @classmethod
    def build(cls, deal: DealConfig) -> "RelevanceModel":
        aliases = [a for b in deal.bidders for a in b.aliases]
        return cls(deal, TermSet.build(deal.subject), TermSet.build(t for t, _ in deal.deal_terms),
                   TermSet.build(t for t, _ in deal.negative_terms), TermSet.build(aliases, whole_word=True),
                   TermSet.build(deal.subject_references), TermSet.build(deal.subject_as_buyer, whole_word=True),
                   dict(deal.deal_terms), dict(deal.negative_terms),
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
        bidder_near = bidder_far = buyer = False
        for part in parts:
            subject_hits = self.subject.find(part)
            subjects.update(t.strip("*$") for t, _, _ in subject_hits)
            # "die App", "die Videoplattform" in a teaser point back at the subject.
            near = bool(subject_hits) or self.references.search(part)
            buyer |= any(self._buys(part, end) for _, _, end in subject_hits)
            for term, start, end in self.deal_terms.find(part):
                weight = self.weights[term] * (1.0 if near else _FAR)
                if any(_glued(part, s_end, start) or _glued(part, end, s_start) or s_start < start < s_end
                       for _, s_start, s_end in subject_hits):
                    weight += _COMPOUND
                best[term] = max(best.get(term, 0.0), weight)
            if self.bidders.search(part):
                bidder_near |= near or part is title_n
                bidder_far = True
        ranked = sorted(best.values(), reverse=True)
        evidence = sum(w * (0.5 ** i) for i, w in enumerate(ranked[:3]))
        if bidder_near:
            evidence += self.deal.bidder_weight
        elif bidder_far:
            evidence += self.deal.bidder_weight * _FAR
        whole = title_n + " " + teaser_n
        negative_hits = {t for t, _, _ in self.negatives.find(whole)}
        penalty = sum(self.penalties[t] for t in negative_hits)
        if buyer:
            # "Bytedance kauft Spielestudio": the subject is the acquirer, not the one being sold.
            penalty -= 1.0
            negative_hits.add("subject-as-buyer")
        score = round(max(0.0, min(1.0, evidence + penalty)), 3)
        reasons = ([f"subject:{s}" for s in sorted(subjects)]
                   + [f"deal:{t.strip('*$')}" for t in sorted(best, key=best.get, reverse=True)]
                   + [f"bidder:{b}" for b in self.bidder_names(whole)]
                   + [f"negative:{t.strip('*$')}" for t in sorted(negative_hits)])
        return Verdict(score >= self.deal.threshold, score, tuple(reasons))

    def _buys(self, text: str, subject_end: int) -> bool:
        """True when an acquisition verb follows the subject directly ("Bytedance übernimmt …")."""
        follow = self.buyer_verbs.regex.match(text, subject_end + 1) if text[subject_end:subject_end + 1] == " " else None
        return follow is not None

    def bidder_names(self, normalised_text: str) -> list[str]:
        found = {t for t, _, _ in self.bidders.find(normalised_text)}
        return [b.name for b in self.deal.bidders if any(a in found for a in b.aliases)]


def _glued(text: str, left_end: int, right_start: int) -> bool:
    """True when two matches touch, joined by nothing or by a hyphen ("TikTok-Kauf")."""
    if right_start < left_end:
        return False
    gap = text[left_end:right_start]
    return 0 <= right_start - left_end <= 1 and all(c in _GLUE for c in gap) and "/" not in gap
