"""Reading stories as chats see them: by id, the latest, follow-ups, bidders' standings."""
from __future__ import annotations

import json
from typing import Iterable

from sqlalchemy import exists, select, tuple_

from bot import followups
from bot import schema as t
from bot.models import Alert, BidderMention, BidderStanding, FollowUp, Sighting
from bot.store.base import StoreBase, _utc
from bot.statuses import strength
from bot.store.standings import standing_from_row


def _cited(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for v in values if v for n in v.split("; ")))


class ReadingStore(StoreBase):
    def alerts_by_id(self, ids: list[int], is_update: bool = False) -> list[Alert]:
        with self.engine.connect() as conn:
            return self._alerts(conn, ids, is_update)

    def latest_alerts(self, limit: int, languages: tuple[str, ...] | None = None) -> list[Alert]:
        """Stories by the time of their latest report, newest first; with `languages`, only stories
        that have an item in one of them.

        The items are walked newest first along ix_items_published, a batch at a time, until `limit`
        stories have turned up: a story's first item met on that walk is its latest report. The
        language test is an EXISTS per walked item on ix_items_alert_id; `IN (subquery)` instead made
        SQLite read every item for every call (0.5-0.8 s at a million items)."""
        batch = max(8 * limit, 100)  # several items per story; more batches follow if needed
        walk = select(t.items.c.alert_id, t.items.c.published, t.items.c.id).order_by(
            t.items.c.published.desc(), t.items.c.id.desc()).limit(batch)
        if languages:
            own = t.items.alias("own")
            walk = walk.where(exists().where((own.c.alert_id == t.items.c.alert_id) & own.c.language.in_(languages)))
        ids: dict[int, None] = {}
        with self.engine.connect() as conn:
            after = None
            while len(ids) < limit:
                rows = conn.execute(walk if after is None else walk.where(
                    tuple_(t.items.c.published, t.items.c.id) < tuple_(*after))).all()
                ids.update((r.alert_id, None) for r in rows)
                if len(rows) < batch:
                    break
                after = (rows[-1].published, rows[-1].id)
            return self._alerts(conn, list(ids)[:limit])

    @staticmethod
    def _alerts(conn, ids: list[int], is_update: bool = False) -> list[Alert]:
        """The stories with these ids, in this order, in three queries however many there are."""
        if not ids:
            return []
        rows = {r.id: r for r in conn.execute(select(t.alerts).where(t.alerts.c.id.in_(ids)))}
        items: dict[int, list] = {i: [] for i in ids}
        for i in conn.execute(select(t.items.c.alert_id, t.items.c.source, t.items.c.link, t.items.c.published,
                                     t.items.c.cited)
                              .where(t.items.c.alert_id.in_(ids)).order_by(t.items.c.published, t.items.c.id)):
            items[i.alert_id].append(i)
        bidders: dict[int, dict[str, BidderMention]] = {i: {} for i in ids}
        mc = t.mentions.c
        for m in conn.execute(select(t.items.c.alert_id, mc.bidder, mc.role, mc.discovered)
                              .join(t.items, t.items.c.id == mc.item_id)
                              .where(t.items.c.alert_id.in_(ids)).order_by(mc.published, mc.id)):
            seen = bidders[m.alert_id]
            if m.bidder not in seen or m.role:  # the story shows each bidder's latest stated status
                seen[m.bidder] = BidderMention(m.bidder, m.role, m.discovered)
        out = []
        for i in (i for i in ids if i in rows):
            row = rows[i]
            out.append(Alert(id=row.id, title=row.title, link=row.link, source=row.source,
                             published=_utc(row.published), summary=row.summary,
                             bidders=tuple(bidders[i].values()),
                             sources=tuple(dict.fromkeys((r.source, r.link) for r in items[i])),
                             reasons=tuple(json.loads(row.reasons)), is_update=is_update,
                             last_report=_utc(max((r.published for r in items[i]), default=row.published)),
                             first_report=_utc(items[i][0].published if items[i] else row.published),
                             cited=_cited(r.cited for r in items[i])))
        return out

    def followups_by_id(self, ids: list[int]) -> list[FollowUp]:
        f, i, a = t.followups.c, t.items.c, t.alerts.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(f.id, f.alert_id, f.facts, a.title.label("story_title"), i.title, i.link,
                                       i.source, i.published, i.cited)
                                .join(t.items, i.id == f.item_id).join(t.alerts, a.id == f.alert_id)
                                .where(f.id.in_(ids))).all()
        return [FollowUp(r.id, r.alert_id, r.story_title, r.title, r.link, r.source, _utc(r.published),
                         followups.loads(r.facts), _cited([r.cited])) for r in rows]

    def bidder_standings(self) -> list[BidderStanding]:
        """Every bidder's standing, the most recently named first, and of those named in the same
        report the one furthest along (a few rows, however much is stored)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.standings).order_by(t.standings.c.bidder)).all()
        standings = [standing_from_row(r) for r in rows]
        return sorted(standings, key=lambda b: (b.last_seen, strength(b.status)), reverse=True)

    def discovered_bidders(self) -> list[str]:
        """Names of the bidders found in the text rather than configured."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.standings.c.bidder).where(t.standings.c.listed.is_(False))
                                     .order_by(t.standings.c.bidder)).scalars())

    def bidder_timeline(self, bidder: str, limit: int) -> list[Sighting]:
        """The bidder's first report and each report that changed its status: the newest `limit`,
        oldest first."""
        c = t.status_changes.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.status, c.published, c.source, c.link, c.title)
                                .where(c.bidder == bidder).order_by(c.published.desc(), c.id.desc())
                                .limit(limit)).all()
        return [Sighting(bidder, r.status, _utc(r.published), r.source, r.link, r.title) for r in reversed(rows)]
