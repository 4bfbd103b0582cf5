"""Prometheus metrics of one run: counters the stages bump, gauges read from the store at scrape time."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from bot.feedstate import PROBLEMS
from bot.platforms.base import ChatGone, ChatMoved, DeliveryError, Rejected, RetryLater, Transient

if TYPE_CHECKING:
    from bot.leader import Leadership
    from bot.models import PollReport
    from bot.platforms.base import Platform
    from bot.store import Store

log = logging.getLogger(__name__)
POLL_OUTCOMES = ("ok", "failed", "cancelled")
# A fetch ends as a FetchResult status (ok, not_modified) or, failed, as one of feedstate's problems.
FETCH_RESULTS = ("ok", "not_modified", *PROBLEMS)
# What one delivery attempt came to: done, or the delivery error the platform adapter raised.
DELIVERY_ERRORS: dict[type[DeliveryError], str] = {
    RetryLater: "rate_limited", Transient: "transient", Rejected: "rejected", ChatGone: "chat_gone",
    ChatMoved: "chat_moved"}
DELIVERY_RESULTS = ("sent", "edited", "expired", *DELIVERY_ERRORS.values())
ALERT_KINDS = ("new", "updated")
# A 500-feed cycle takes about 18 s; a 10-feed one about 1 s.
POLL_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
# Queued to sent: under a second for one chat, minutes for a story to 1,000 chats at one message per chat
# and second under the platform's overall rate.
LATENCY_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)


class Metrics:
    """One registry per run (the process-wide default registry would mix runs in one test process)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.polls = Counter("dealticker_polls", "Poll cycles by outcome", ["outcome"], registry=r)
        self.poll_seconds = Histogram("dealticker_poll_duration_seconds", "Duration of completed poll cycles",
                                      buckets=POLL_BUCKETS, registry=r)
        self.fetches = Counter("dealticker_fetches", "Feed fetches by result: ok, not_modified, or the problem",
                               ["result"], registry=r)
        self.items = Counter("dealticker_items", "Items read from the fetched feeds", registry=r)
        self.relevant = Counter("dealticker_relevant_items", "New items judged to be about the deal", registry=r)
        self.stories = Counter("dealticker_stories", "Stories opened: a new event, each sent as one alert", registry=r)
        self.alerts = Counter("dealticker_alerts", "Alerts by kind: new (a story's first) or updated (a further "
                              "outlet, edited in place)", ["kind"], registry=r)
        self.followups = Counter("dealticker_followups", "Follow-ups: a later report with a new fact", registry=r)
        self.deliveries = Counter("dealticker_deliveries", "Delivery attempts by platform and result",
                                  ["platform", "result"], registry=r)
        self.latency = Histogram("dealticker_delivery_latency_seconds", "From queued to sent, per message",
                                 ["platform"], buckets=LATENCY_BUCKETS, registry=r)
        ProcessCollector(registry=r)  # resident memory, CPU, open files: the process_* series
        for outcome in POLL_OUTCOMES:  # every series exists from the start, so rate() sees the first one
            self.polls.labels(outcome)
        for result in FETCH_RESULTS:
            self.fetches.labels(result)
        for kind in ALERT_KINDS:
            self.alerts.labels(kind)

    def watch(self, store: Store, platforms: Mapping[str, Platform]) -> None:
        """Add what is read at scrape time: the outbox and last poll from the store, the pacers' 429s."""
        self.registry.register(_StoreCollector(store, tuple(platforms)))
        self.registry.register(_PacerCollector(platforms))
        for platform in platforms:
            for result in DELIVERY_RESULTS:
                self.deliveries.labels(platform, result)

    def watch_leadership(self, leadership: Leadership) -> None:
        """Whether this instance is the one polling, and how many share its database: summed over the
        instances, `dealticker_leader` must be 1."""
        self.registry.register(_LeaderCollector(leadership))

    @contextmanager
    def polling(self) -> Iterator[None]:
        began, outcome = time.monotonic(), "failed"
        try:
            yield
            outcome = "ok"
            self.poll_seconds.observe(time.monotonic() - began)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            self.polls.labels(outcome).inc()

    def fetched(self, result: str) -> None:
        self.fetches.labels(result if result in FETCH_RESULTS else "internal").inc()

    def polled(self, report: PollReport, followups: int) -> None:
        self.items.inc(report.entries)
        self.relevant.inc(report.relevant)
        self.stories.inc(len(report.new_alerts))
        self.alerts.labels("new").inc(len(report.new_alerts))
        self.alerts.labels("updated").inc(len(report.updated_alerts))
        self.followups.inc(followups)

    def delivered(self, platform: str, result: str, queued: datetime | None = None) -> None:
        self.deliveries.labels(platform, result).inc()
        if queued is not None:
            self.latency.labels(platform).observe(max(0.0, (datetime.now(timezone.utc) - queued).total_seconds()))

    def failed(self, platform: str, exc: DeliveryError) -> None:
        result = next((label for kind, label in DELIVERY_ERRORS.items() if isinstance(exc, kind)), "rejected")
        self.deliveries.labels(platform, result).inc()

    def exposition(self) -> bytes:
        """The text format; blocking (the store is read), so the server calls it in a worker thread."""
        return generate_latest(self.registry)


class _StoreCollector:
    """Outbox depth and age and the last poll, from the store: shared by every instance on one
    database, so a standby instance reports the leader's last poll, not a stale one of its own."""

    def __init__(self, store: Store, platforms: tuple[str, ...]):
        self.store = store
        self.platforms = platforms

    def collect(self):
        up = GaugeMetricFamily("dealticker_database_up", "1 when the store answered this scrape's queries")
        try:
            backlog, last = self.store.outbox_backlog(), self.store.last_poll()
        except Exception as exc:  # the rest of the metrics are still worth serving
            log.warning("metrics: could not read the outbox and last poll: %s", str(exc).splitlines()[0][:200])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily("dealticker_outbox_pending", "Messages queued and not yet sent",
                                  labels=["platform"])
        age = GaugeMetricFamily("dealticker_outbox_oldest_pending_age_seconds",
                                "Age of the oldest queued message (0: none queued)", labels=["platform"])
        now = datetime.now(timezone.utc)
        found = {platform: (count, oldest) for platform, count, oldest in backlog}
        for platform in sorted(set(self.platforms) | set(found)):
            count, oldest = found.get(platform, (0, None))
            depth.add_metric([platform], count)
            age.add_metric([platform], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield depth
        yield age
        if last is not None:
            yield GaugeMetricFamily("dealticker_last_poll_timestamp_seconds", "When the last poll cycle finished "
                                    "(Unix time)", value=last.finished.timestamp())


class _PacerCollector:
    """429s ("retry after") each platform's pacer has taken, for alerts and command replies alike."""

    def __init__(self, platforms: Mapping[str, Platform]):
        self.platforms = platforms

    def collect(self):
        family = CounterMetricFamily("dealticker_rate_limited", "Rate-limit answers (429, retry after) by platform",
                                     labels=["platform"])
        for name, platform in self.platforms.items():
            family.add_metric([name], platform.pacer.rate_limited)
        yield family


class _LeaderCollector:
    def __init__(self, leadership: Leadership):
        self.leadership = leadership

    def collect(self):
        yield GaugeMetricFamily("dealticker_leader", "1 while this instance polls the feeds (the leader)",
                                value=int(self.leadership.is_leader))
        yield GaugeMetricFamily("dealticker_instances", "Instances sharing this database (PostgreSQL; 1 on SQLite)",
                                value=self.leadership.instances)
