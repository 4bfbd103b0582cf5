"""Keeping each bidder's standing up to date: per stored report, and rebuilt from all mentions once."""
from __future__ import annotations

import logging
import time

from sqlalchemy import delete, insert, select, update

from bot import schema as t
from bot.bidders import advance, sightings
from bot.models import BidderMention, BidderStanding, Sighting
from bot.store.base import StoreBase, _utc

log = logging.getLogger(__name__)
BUILT = "standings_built"  # meta key: the standings reflect every stored mention
BATCH = 20_000


class StandingsStore(StoreBase):
    def _note_bidders(self, conn, found: list[Sighting]) -> list[BidderStanding]:
        """Take one item's sightings into the standings, in the same transaction as the item; returns
        the discovered bidders this report confirmed (a second outlet named them)."""
        confirmed = []
        for s in found:
            row = conn.execute(select(t.standings).where(t.standings.c.bidder == s.bidder)).first()
            new_outlet = conn.execute(select(t.standing_outlets.c.bidder).where(
                (t.standing_outlets.c.bidder == s.bidder) & (t.standing_outlets.c.source == s.source))).first() is None
            if new_outlet:
                conn.execute(insert(t.standing_outlets).values(bidder=s.bidder, source=s.source))
            before = standing_from_row(row) if row else None
            standing = advance(before, s, new_outlet)
            if _changed(before, standing):
                conn.execute(insert(t.status_changes).values(_change(s)))
            if not standing.listed and standing.confirmed and not (before and before.confirmed):
                confirmed.append(standing)
            values = _row(standing)
            if row:
                conn.execute(update(t.standings).where(t.standings.c.bidder == s.bidder).values(**values))
            else:
                conn.execute(insert(t.standings).values(**values))
        return confirmed

    def ensure_standings(self) -> None:
        """After the migration that added them: fill the standings from the mentions stored before."""
        with self.engine.connect() as conn:
            if conn.execute(select(t.meta.c.value).where(t.meta.c.key == BUILT)).first():
                return
        self.rebuild_standings()

    def rebuild_standings(self) -> int:
        """Recompute every standing from the stored mentions, in publishing order, by the same rules
        as new reports; returns how many mentions were read."""
        started, read = time.monotonic(), 0
        m, i = t.mentions.c, t.items.c
        query = (select(m.item_id, m.bidder, m.role, m.discovered, i.published, i.source, i.link, i.title)
                 .join(t.items, i.id == m.item_id).order_by(i.published, m.item_id, m.id))
        standings: dict[str, BidderStanding] = {}
        outlets: set[tuple[str, str]] = set()
        changes: list[dict] = []
        with self.engine.begin() as conn:
            conn.execute(delete(t.standing_outlets))
            conn.execute(delete(t.status_changes))
            conn.execute(delete(t.standings))
            group: list = []
            for row in conn.execute(query.execution_options(yield_per=BATCH)):
                read += 1
                if group and row.item_id != group[0].item_id:
                    _take(group, standings, outlets, changes)
                    group = []
                group.append(row)
            if group:
                _take(group, standings, outlets, changes)
            rows = [_row(s) for s in standings.values()]
            for n in range(0, len(rows), 1000):
                conn.execute(insert(t.standings), rows[n:n + 1000])
            for n in range(0, len(changes), 1000):
                conn.execute(insert(t.status_changes), changes[n:n + 1000])
            pairs = [{"bidder": b, "source": s} for b, s in sorted(outlets)]
            for n in range(0, len(pairs), 1000):
                conn.execute(insert(t.standing_outlets), pairs[n:n + 1000])
            conn.execute(delete(t.meta).where(t.meta.c.key == BUILT))
            conn.execute(insert(t.meta).values(key=BUILT, value="true"))
        log.info("bidder standings rebuilt from %d mentions in %.1f s", read, time.monotonic() - started)
        return read


def _take(rows: list, standings: dict[str, BidderStanding], outlets: set[tuple[str, str]],
          changes: list[dict]) -> None:
    first = rows[0]
    mentions = tuple(BidderMention(r.bidder, r.role, r.discovered) for r in rows)
    for s in sightings(mentions, _utc(first.published), first.source, first.link, first.title):
        new_outlet = (s.bidder, s.source) not in outlets
        outlets.add((s.bidder, s.source))
        before = standings.get(s.bidder)
        standings[s.bidder] = advance(before, s, new_outlet)
        if _changed(before, standings[s.bidder]):
            changes.append(_change(s))


def _changed(before: BidderStanding | None, after: BidderStanding) -> bool:
    """A bidder's first report, or one that set another status: a line of its timeline."""
    return before is None or before.status != after.status


def _change(s: Sighting) -> dict:
    return {"bidder": s.bidder, "status": s.status, "published": s.published, "source": s.source,
            "link": s.link, "title": s.title}


def standing_from_row(row) -> BidderStanding:
    return BidderStanding(row.bidder, row.status, _utc(row.status_at), _utc(row.since),
                          tuple(p for p in row.partners.split("; ") if p), row.articles, row.outlets,
                          _utc(row.first_seen), _utc(row.last_seen), row.last_link, row.last_title, row.last_source,
                          row.listed)


def _row(s: BidderStanding) -> dict:
    return {"bidder": s.name, "status": s.status, "status_at": s.status_at, "since": s.since,
            "partners": "; ".join(s.partners), "articles": s.articles, "outlets": s.outlets,
            "first_seen": s.first_seen, "last_seen": s.last_seen, "last_link": s.last_link,
            "last_title": s.last_title, "last_source": s.last_source, "listed": s.listed}
