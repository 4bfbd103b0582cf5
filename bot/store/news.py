"""Feeds' fetch state; storing items into stories, with follow-ups and bidder mentions; retention; meta."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from bot import schema as t
from bot import followups
from bot.bidders import sightings
from bot.models import Alert, Article, BidderMention, FeedState, PollSummary
from bot.store.base import StoreBase, _utc, utcnow
from bot.events import Features
from bot.stories import Decision, StoryModel
from bot.stories import Item as StoryItem

log = logging.getLogger(__name__)
LAST_POLL = "last_poll"  # meta key of the last poll's PollSummary

_STATE_FIELDS = ("etag", "last_modified", "status", "error_count", "last_error", "error_kind", "next_attempt",
                 "last_polled", "last_ok", "moved_to")
_SAVE_STATE = update(t.feeds).where(t.feeds.c.url == bindparam("feed_url")).values(
    {f: bindparam(f) for f in _STATE_FIELDS})


def _state_row(s: FeedState) -> dict:
    return {"feed_url": s.url, **{f: getattr(s, f) for f in _STATE_FIELDS}}


class NewsStore(StoreBase):
    def _enqueue(self, conn, new_ids: list[int], updated_ids: list[int], now,
                 followup_ids: list[tuple[int, int]] = ()) -> None:
        raise NotImplementedError  # provided by the outbox part of Store

    def alerts_by_id(self, ids: list[int], is_update: bool = False) -> list[Alert]:
        raise NotImplementedError  # provided by the reading part of Store

    def _note_bidders(self, conn, found) -> None:
        raise NotImplementedError  # provided by the standings part of Store

    # --- feeds -------------------------------------------------------------------------
    def feed_states(self, feeds: Iterable[tuple[str, str]]) -> list[FeedState]:
        """State for each configured (url, name), following a remembered permanent redirect."""
        with self.engine.begin() as conn:
            rows = {r.url: r for r in conn.execute(select(t.feeds))}
            missing = [{"url": u, "name": n, "status": "active", "error_count": 0}
                       for u, n in feeds if u not in rows]
            if missing:
                conn.execute(insert(t.feeds), missing)
                rows.update({r.url: r for r in conn.execute(select(t.feeds).where(
                    t.feeds.c.url.in_([m["url"] for m in missing])))})
        out = []
        for url, name in feeds:
            r = rows[url]
            out.append(FeedState(url=url, name=name, etag=r.etag, last_modified=r.last_modified,
                                 status=r.status, error_count=r.error_count, last_error=r.last_error,
                                 error_kind=r.error_kind, next_attempt=_utc(r.next_attempt),
                                 last_polled=_utc(r.last_polled), last_ok=_utc(r.last_ok), moved_to=r.moved_to))
        return out

    def save_feed_states(self, states: Iterable[FeedState]) -> list[str]:
        """Save every state; returns the names of feeds whose state could not be saved.

        All in one transaction first; if that fails, one transaction per feed, so a value the
        database refuses costs only its own feed's state (it is then polled as before)."""
        states = list(states)
        try:
            with self.engine.begin() as conn:
                if states:  # one statement for all: 500 single UPDATEs cost 0.1 s of a cycle
                    conn.execute(_SAVE_STATE, [_state_row(s) for s in states])
            return []
        except DBAPIError:
            log.warning("saving %d feed states at once failed; saving them one by one", len(states))
        failed = []
        for s in states:
            try:
                with self.engine.begin() as conn:
                    self._save_feed_state(conn, s)
            except DBAPIError as exc:
                log.error("feed %r: its state could not be saved: %s", s.name, str(exc.orig)[:300])
                failed.append(s.name)
        return failed

    @staticmethod
    def _save_feed_state(conn, s: FeedState) -> None:
        conn.execute(_SAVE_STATE, [_state_row(s)])

    # --- items and alerts ----------------------------------------------------------------
    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these item or link keys are stored already (one query per 500 keys)."""
        with self.engine.connect() as conn:
            return self._known(conn, keys)

    @staticmethod
    def _known(conn, keys: Iterable[str]) -> set[str]:
        keys = sorted(set(keys))
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            found.update(conn.execute(select(t.items.c.key).where(t.items.c.key.in_(chunk))).scalars())
            found.update(conn.execute(select(t.items.c.link_key).where(t.items.c.link_key.in_(chunk))).scalars())
        return found

    def add_articles(self, articles: Iterable[Article], window_hours: int,
                     stories: StoryModel | None = None) -> tuple[list[Alert], list[Alert]]:
        """Store new articles; each joins the story `stories` decides on (among the items published
        within `window_hours` of it) or opens a new one; without `stories` each opens its own.
        Returns (new alerts, alerts that gained another outlet).

        All articles go in one transaction; should the database refuse one, each is stored in
        its own, so a bad item costs only itself and never the other feeds' alerts."""
        articles = list(articles)
        try:
            return self._add_articles(articles, window_hours, stories)
        except DBAPIError:
            log.warning("storing %d articles at once failed; storing them one by one", len(articles))
        new: list[Alert] = []
        updated: list[Alert] = []
        for article in articles:
            try:
                one_new, one_updated = self._add_articles([article], window_hours, stories)
            except DBAPIError as exc:
                log.error("item %r from %s (%s) could not be stored: %s", article.entry.title[:80],
                          article.entry.source, article.entry.link[:200], str(exc.orig)[:300])
                continue
            new += one_new
            updated += [a for a in one_updated if a.id not in {u.id for u in updated + new}]
        return new, updated

    def _add_articles(self, articles: list[Article], window_hours: int,
                      stories: StoryModel | None) -> tuple[list[Alert], list[Alert]]:
        now = utcnow()
        window = timedelta(hours=window_hours)
        new_ids: list[int] = []
        updated_ids: list[int] = []
        followup_ids: list[tuple[int, int]] = []
        with self.engine.begin() as conn:
            fresh = self._fresh(conn, articles)
            items = [StoryItem(None, a.entry.published or now, a.entry.source, a.entry.title, a.entry.teaser,
                               a.features) for a in fresh]
            if stories is None:
                decisions = [Decision(None, 0.0, ()) for _ in fresh]
            else:
                # Stories are matched within the window of the items themselves, not of today: a
                # backlog polled late must still group correctly. Older coverage only weighs words.
                first = min((i.published for i in items), default=now)
                decisions = stories.assign(items, self._coverage(conn, first - max(window, stories.horizon)),
                                           window)
            alert_of: list[int | None] = []
            told = self._story_facts(conn, {d.story for d in decisions if d.story is not None})
            for article, item, decision in zip(fresh, items, decisions):
                e = article.entry
                features = decision.features
                if article.tentative and (decision.opens or (decision.story is None
                                                             and alert_of[decision.joins] is None)):
                    alert_of.append(None)  # not the deal by itself, and no known story took it
                    continue
                if decision.opens:
                    alert_id = conn.execute(insert(t.alerts).values(
                        title=e.title, link=e.link, source=e.source, summary=article.summary,
                        published=item.published, created=now, updated=now,
                        fingerprint=" ".join(sorted(features.terms)[:40]) if features else "",
                        reasons=json.dumps(article.verdict.reasons), version=1)).inserted_primary_key[0]
                    new_ids.append(alert_id)
                else:
                    alert_id = decision.story if decision.story is not None else alert_of[decision.joins]
                    same_source = conn.execute(select(func.count()).select_from(t.items).where(
                        (t.items.c.alert_id == alert_id) & (t.items.c.source == e.source))).scalar()
                    conn.execute(update(t.alerts).where(t.alerts.c.id == alert_id).values(
                        updated=now, version=t.alerts.c.version + 1))
                    if not same_source and alert_id not in new_ids and alert_id not in updated_ids:
                        updated_ids.append(alert_id)
                alert_of.append(alert_id)
                item_id = conn.execute(insert(t.items).values(
                    key=e.key, link_key=e.link_key, alert_id=alert_id, feed_url=e.feed_url, source=e.source,
                    title=e.title, teaser=e.teaser, link=e.link, published=item.published, fetched=now,
                    language=article.language, score=article.verdict.score,
                    reasons=json.dumps(article.verdict.reasons), summary=article.summary,
                    features=features.dumps() if features else None,
                    cited="; ".join(article.cited)[:500])).inserted_primary_key[0]
                confirmed = []
                if article.bidders:
                    conn.execute(insert(t.mentions), [
                        {"item_id": item_id, "bidder": b.name, "role": b.role, "discovered": b.discovered,
                         "published": item.published} for b in article.bidders])
                    confirmed = self._note_bidders(conn, sightings(article.bidders, item.published, e.source,
                                                                   e.link, e.title))
                # A newly confirmed bidder is its own alert; a story's new facts are a reply in its thread.
                posts = [followups.confirmations(confirmed),
                         followups.new_facts(told[alert_id], features, article.bidders) if alert_id in told else ()]
                for facts in filter(None, posts):
                    followup_ids.append((alert_id, conn.execute(insert(t.followups).values(
                        alert_id=alert_id, item_id=item_id, facts=followups.dumps(facts), created=now))
                        .inserted_primary_key[0]))
                if alert_id in told:
                    told[alert_id].add(features, article.bidders)
            # The outbox rows are written in the same transaction as the alerts they carry:
            # either both exist after a crash or neither does.
            self._enqueue(conn, new_ids, updated_ids, now, followup_ids)
        return self.alerts_by_id(new_ids), self.alerts_by_id(updated_ids, is_update=True)

    @staticmethod
    def _fresh(conn, articles: list[Article]) -> list[Article]:
        """The articles not stored yet, each once."""
        # Checked again inside the transaction: another instance may have stored them meanwhile.
        known = NewsStore._known(conn, (k for a in articles for k in (a.entry.key, a.entry.link_key)))
        fresh = []
        for a in articles:
            if a.entry.key in known or a.entry.link_key in known:
                continue
            known.update((a.entry.key, a.entry.link_key))
            fresh.append(a)
        return fresh

    @staticmethod
    def _story_facts(conn, stories: set[int]) -> dict[int, followups.StoryFacts]:
        """What each of these stored stories has said so far, read from its items in publishing order."""
        told = {s: followups.StoryFacts() for s in stories}
        if not stories:
            return told
        c = t.items.c
        rows = conn.execute(select(c.id, c.alert_id, c.features).where(c.alert_id.in_(stories))
                            .order_by(c.published, c.id)).all()
        mentions: dict[int, list[BidderMention]] = {}
        for m in conn.execute(select(t.mentions.c.item_id, t.mentions.c.bidder, t.mentions.c.role)
                              .join(t.items, t.items.c.id == t.mentions.c.item_id)
                              .where(c.alert_id.in_(stories)).order_by(t.mentions.c.id)):
            mentions.setdefault(m.item_id, []).append(BidderMention(m.bidder, m.role))
        for r in rows:
            told[r.alert_id].add(Features.loads(r.features) if r.features else None, mentions.get(r.id, ()))
        return told

    @staticmethod
    def _coverage(conn, since) -> list[StoryItem]:
        """Stored items published since `since`, as the story model reads them."""
        c = t.items.c
        rows = conn.execute(select(c.alert_id, c.published, c.source, c.title, c.teaser, c.features)
                            .where(c.published >= since).order_by(c.published, c.id))
        return [StoryItem(r.alert_id, _utc(r.published), r.source, r.title, r.teaser,
                          Features.loads(r.features) if r.features else None) for r in rows]

    def purge(self, retention_days: int) -> int:
        """Delete items and alerts older than the retention period; subscriptions are kept."""
        cutoff = utcnow() - timedelta(days=retention_days)
        with self.engine.begin() as conn:
            old = select(t.alerts.c.id).where(t.alerts.c.updated < cutoff)
            item_ids = select(t.items.c.id).where(t.items.c.alert_id.in_(old))
            conn.execute(delete(t.mentions).where(t.mentions.c.item_id.in_(item_ids)))
            conn.execute(delete(t.followups).where(t.followups.c.alert_id.in_(old)))
            conn.execute(delete(t.items).where(t.items.c.alert_id.in_(old)))
            purged = conn.execute(delete(t.alerts).where(t.alerts.c.updated < cutoff)).rowcount
        if purged:
            log.info("purged %d stories not updated for %d days, with their items", purged, retention_days)
        return purged

    # --- meta ------------------------------------------------------------------------
    def set_meta(self, key: str, value: dict) -> None:
        with self.engine.begin() as conn:
            if conn.execute(update(t.meta).where(t.meta.c.key == key).values(value=json.dumps(value))).rowcount == 0:
                conn.execute(insert(t.meta).values(key=key, value=json.dumps(value)))

    def get_meta(self, key: str) -> dict | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()
        return json.loads(value) if value else None

    def save_poll(self, summary: PollSummary) -> None:
        self.set_meta(LAST_POLL, summary.to_json())

    def last_poll(self) -> PollSummary | None:
        """The last poll cycle's summary (of whichever instance polled), None before the first one."""
        value = self.get_meta(LAST_POLL)
        return PollSummary.from_json(value) if value else None

    def followups_since(self, when: datetime) -> int:
        """Follow-ups stored since `when`: a poll cycle counts its own (they are few, tens a day)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).where(t.followups.c.created >= when)).scalar()
