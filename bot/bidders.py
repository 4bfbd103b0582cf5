"""Find the companies an item names as bidders, and the status the text gives each."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import DealConfig
from bot.match import TermSet, normalise, sentences
from bot.models import BidderMention, BidderStanding, Sighting
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
