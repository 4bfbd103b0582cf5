"""Find the companies an item names as bidders, and the status the text gives each."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import DealConfig
from bot.match import TermSet, normalise, sentences
from bot.models import BidderMention
from bot.statuses import strength

# How far (in characters) a cue like "laut" or "Konkurrent" may stand from a name to qualify it.
_CUE_REACH = 28
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class BidderFinder:
    deal: DealConfig
    names: TermSet
    alias_owner: dict
    context: TermSet
    roles: TermSet
    role_of: dict
    cues: TermSet

    @classmethod
    def build(cls, deal: DealConfig) -> "BidderFinder":
        owner = {a: b.name for b in deal.bidders for a in b.aliases}
        role_of = {cue: role for role, cues in deal.roles for cue in cues}
        context = [t for t, _ in deal.deal_terms] + list(deal.subject)
        return cls(deal, TermSet.build(owner, whole_word=True), owner, TermSet.build(context),
                   TermSet.build(role_of), role_of, TermSet.build(deal.not_bidder_cues))

    def find(self, title: str, teaser: str) -> tuple[BidderMention, ...]:
        """Bidders in the order the text names them, each with its most advanced status."""
        found: dict[str, str | None] = {}
        title_n = normalise(title)
        parts = [title_n] + [normalise(s) for s in sentences(teaser)]
        for part in parts:
            hits = self.names.find(part)
            if not hits:
                continue
            # A name only counts as a bidder where the sentence speaks of the deal.
            if part is not title_n and not self.context.search(part) and not self.roles.search(part):
                continue
            cue_spans = [(s, e) for _, s, e in self.cues.find(part)]
            role_spans = [(self.role_of[t], s, e) for t, s, e in self.roles.find(part)]
            for alias, start, end in hits:
                if self._qualified(part, start, end, cue_spans):
                    continue
                name = self.alias_owner[alias]
                role = _nearest(role_spans, start, end)
                if name not in found or _rank(role) < _rank(found[name]):
                    found[name] = role
        # A status stated once for the story ("Verhandlungen über Tiktok-Abspaltung in der
        # Schlussphase") holds for bidders whose own sentence states none.
        story_role = self._story_role(parts)
        return tuple(BidderMention(name, role or story_role) for name, role in found.items())

    def _story_role(self, parts: list[str]) -> str | None:
        for part in parts:  # the title first, then the teaser in order
            roles = [self.role_of[t] for t, _, _ in self.roles.find(part)]
            if roles:
                return min(roles, key=_rank)
        return None

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


def _nearest(roles: list[tuple[str, int, int]], start: int, end: int) -> str | None:
    if not roles:
        return None
    def distance(role: tuple[str, int, int]) -> int:
        _, r_start, r_end = role
        return 0 if r_start <= start < r_end else min(abs(r_start - end), abs(start - r_end))

    best = min(roles, key=lambda r: (distance(r), _rank(r[0])))
    return best[0]


def _rank(role: str | None) -> int:
    """Lower is stronger: when one item gives several statuses, the one furthest along the deal wins."""
    return -strength(role)

