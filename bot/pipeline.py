"""The coordinator: fetch → parse → relevance → language → bidders → summary → store, in that order."""
from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import functools
import gc
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from bot.bidders import BidderFinder
from bot.discovery import Discovery
from bot.config import Config
from bot.feedstate import next_state, problem_text, troubled
from bot.fetch import Fetcher, FetchResult
from bot.german import GermanText
from bot.language import LanguageDetector
from bot.metrics import Metrics
from bot.models import Article, BidderMention, Entry, FeedState, PollReport, Verdict
from bot.parse import FeedParseError, parse_feed
from bot.relevance import RelevanceModel, story_candidate, with_discovered
from bot.store import Store
from bot.stories import StoryModel
from bot.provenance import cited_sources
from bot.summary import summarise

log = logging.getLogger(__name__)
# A body up to this size parses in under 0.1 s (feedparser takes about 0.4 ms per KB): inline, with a
# turn for the event loop after it. A larger one goes to a worker thread so that it cannot stall the
# other feeds' downloads; a thread for every feed cost 0.6 s of CPU in a 500-feed cycle of 18 s (the
# event loop and the thread handing the GIL to each other).
INLINE_BYTES = 192 * 1024


@dataclass(frozen=True)
class Analysis:
    verdict: Verdict
    language: str
    bidders: tuple[BidderMention, ...]
    summary: str


class Analyser:
    """Everything that happens to one item after parsing; shared by polling and `classify`."""

    def __init__(self, config: Config):
        self.config = config
        self.relevance = RelevanceModel.build(config.deal)
        # Only the profiles of the languages configured or hinted by a feed, and their neighbours.
        self.language = LanguageDetector.for_languages(config.languages + tuple(f.language for f in config.feeds))
        # The German text layer (one model per process, loaded when the poller starts) and its word
        # cache are shared by every stage that reads text through it: bidders and stories.
        self.german = GermanText()
        self.bidders = BidderFinder.build(config.deal, self.german)
        self.discovery = Discovery.build(config.deal, self.german, finder=self.bidders)  # bidders nobody configured
        self.stories = StoryModel.build(config.deal, self.german)
        # Company names are the same in every language and sway langdetect on short headlines
        # ("Perplexity will mit TikTok USA fusionieren" came out English): detect without them.
        names = list(config.deal.subject) + [a for b in config.deal.bidders for a in b.aliases]
        self._names = re.compile("|".join(
            re.escape(n.strip("*$")) for n in sorted(names, key=len, reverse=True)), re.I)

    def analyse(self, title: str, teaser: str, language_hint: str | None = None,
                always_detect: bool = False) -> Analysis:
        verdict = self.relevance.judge(title, teaser)
        candidate = story_candidate(verdict)
        if not verdict.relevant and not candidate and not always_detect:
            # Language detection costs milliseconds; an irrelevant item never needs it.
            return Analysis(verdict, language_hint or "unknown", (), "")
        language = self.language.detect(self._names.sub(" ", f"{title}. {teaser}"), language_hint)
        if not verdict.relevant and not candidate:
            return Analysis(verdict, language, (), "")
        summary = summarise(title, teaser, self.config.summary_max_chars, self.config.summary_max_sentences,
                            language if language in ("de", "en") else "de")
        bidders = self.bidders.find(title, teaser) + self.discovery.find(title, teaser)
        return Analysis(with_discovered(verdict, bidders, self.config.deal), language, bidders, summary)


class Pipeline:
    def __init__(self, config: Config, store: Store, metrics: Metrics | None = None):
        self.config = config
        self.store = store
        self.metrics = metrics or Metrics()
        self.analyser = Analyser(config)
        # Bidders discovered before a restart are known by name again, so a report that merely names
        # one ("Einigung mit X") still counts for it.
        self.analyser.discovery.remember(store.discovered_bidders())
        # A poller reads relevant items in nearly every cycle: the text layer's model (0.3 s) loads
        # at start like langdetect's profiles, not in the middle of the first cycle.
        self.analyser.german.load()
        _freeze_startup_heap()
        _libc().limit_arenas()
        _libc().trim()

    async def poll_once(self) -> PollReport:
        """One cycle over every due feed; a failing feed or item is recorded and never stops the rest."""
        try:
            with self.metrics.polling():
                return await self._poll()
        finally:
            _libc().trim()

    async def _poll(self) -> PollReport:
        started = datetime.now(timezone.utc)
        feeds = [(f.url, f.name) for f in self.config.feeds]
        languages = {f.url: f.language for f in self.config.feeds}
        states = await asyncio.to_thread(self.store.feed_states, feeds)
        due = [s for s in states if s.status == "active" and (s.next_attempt is None or s.next_attempt <= started)]
        counts = {"ok": 0, "not_modified": 0, "error": 0}
        entries: list[Entry] = []
        seen = 0
        new_states: list[FeedState] = []
        errors: list[tuple[str, str]] = []
        # Downloads on loopback or a fast line finish sooner than their feeds parse: without a bound,
        # the bodies of a whole cold cycle waited for the parser at once (cold peak 180 MB at 1,000 feeds;
        # 154 MB with this bound, 150 MB with 2 x concurrency, which made warm cycles some 8 % slower).
        unparsed = asyncio.Semaphore(4 * self.config.poll.concurrency)
        async with Fetcher(self.config.poll) as fetcher:
            async def one(state: FeedState) -> tuple[FeedState, FetchResult]:
                await unparsed.acquire()  # released once this result is absorbed
                return state, await fetcher.fetch(state)

            for next_done in asyncio.as_completed([one(s) for s in due]):
                state, result = await next_done
                if len(result.body) > INLINE_BYTES:
                    state, found, count = await asyncio.to_thread(self._absorb, state, result,
                                                                  languages.get(state.url))
                else:
                    state, found, count = self._absorb(state, result, languages.get(state.url))
                    await asyncio.sleep(0)  # finished downloads wait behind no more than one small feed
                unparsed.release()
                failed = troubled(state)
                counts["error" if failed else result.status] += 1
                self.metrics.fetched(state.error_kind if failed else result.status)
                entries.extend(found)
                seen += count
                new_states.append(state)
                if failed:
                    errors.append((state.name, problem_text(state)))
        known = await asyncio.to_thread(self.store.known_keys, [k for e in entries for k in (e.key, e.link_key)])
        articles, relevant = self._articles(entries, known)
        # Items first, then the feeds' validators: a crash in between fetches the items again
        # (and finds them stored) instead of getting "304 Not Modified" and losing them.
        new, updated = await asyncio.to_thread(self.store.add_articles, [a for a in articles if not a.tentative],
                                               self.config.story_window_hours, self.analyser.stories)
        # Reports that do not say "the deal" by themselves join the stories just stored or older ones.
        _, followed = await asyncio.to_thread(self.store.add_articles, [a for a in articles if a.tentative],
                                              self.config.story_window_hours, self.analyser.stories)
        updated += [a for a in followed if a.id not in {u.id for u in updated + new}]
        await asyncio.to_thread(self.store.save_feed_states, new_states)
        await asyncio.to_thread(self.store.purge, self.config.retention_days)
        await asyncio.to_thread(self.store.purge_deliveries, self.config.storage.delivery_retention_days)
        report = PollReport(started=started, finished=datetime.now(timezone.utc), feeds_ok=counts["ok"],
                            feeds_unchanged=counts["not_modified"], feeds_failed=counts["error"],
                            feeds_skipped=len(states) - len(due), entries=seen, relevant=relevant,
                            new_alerts=tuple(new), updated_alerts=tuple(updated), errors=tuple(errors))
        followups = await asyncio.to_thread(self.store.followups_since, started)
        await asyncio.to_thread(self.store.save_poll, report.summary(len(states), followups))
        self.metrics.polled(report, followups)
        log.info("poll: %d feeds ok, %d unchanged, %d failed, %d skipped; %d items, %d relevant, %d new alerts",
                 report.feeds_ok, report.feeds_unchanged, report.feeds_failed, report.feeds_skipped,
                 report.entries, relevant, len(new))
        return report

    def _absorb(self, state: FeedState, result: FetchResult, hint: str | None
                ) -> tuple[FeedState, list[Entry], int]:
        """New feed state, parsed entries and the document's item count from one fetch result."""
        now = datetime.now(timezone.utc)
        problem, error, entries, seen = result.problem, result.error, [], 0
        try:
            if result.status == "ok":
                parsed = parse_feed(result.body, state.url, state.name, result.headers, now,
                                    keep=self.analyser.relevance.could_match)
                seen = parsed.seen
                entries = [dataclasses.replace(e, declared_language=e.declared_language or hint)
                           if hint and not e.declared_language else e for e in parsed.entries]
                if parsed.bozo:
                    log.warning("feed %r is not well-formed (%s); %d of %d items read", state.name,
                                parsed.bozo[:200], len(parsed.entries), parsed.seen)
        except FeedParseError as exc:
            problem, error = exc.problem, str(exc)
        except Exception as exc:  # a parser bug on one feed's bytes must not cost the other feeds
            log.exception("feed %r (%s) could not be processed", state.name, state.url)
            problem, error, entries, seen = "internal", f"{type(exc).__name__}: {exc}"[:300], [], 0
        return next_state(state, result, problem, error, now, self.config.poll), entries, seen

    def _articles(self, entries: list[Entry], known: set[str]) -> tuple[list[Article], int]:
        """The relevant, not yet stored entries, oldest first, and how many were relevant.

        Copies are recognised only among relevant items: an unrelated item elsewhere that happens
        to share a link (a section page, a homepage) must not hide the deal item."""
        articles, relevant, seen = [], 0, set()
        for entry in entries:
            if entry.key in known or entry.link_key in known:
                continue  # stored in an earlier cycle, which only ever stores relevant items
            try:
                a = self.analyser.analyse(entry.title, entry.teaser, entry.declared_language)
            except Exception:  # one hostile item must not cost the whole cycle
                log.exception("could not analyse item %r from %s", entry.title[:80], entry.source)
                continue
            tentative = not a.verdict.relevant
            if (tentative and not story_candidate(a.verdict)) or entry.key in seen or entry.link_key in seen:
                continue
            seen.update((entry.key, entry.link_key))
            relevant += not tentative
            if a.language not in self.config.languages:
                log.debug("relevant item in %s skipped: %r", a.language, entry.title[:80])
                continue
            try:
                # The German text layer runs here, on relevant items only (tens a day, not thousands).
                features = self.analyser.stories.features(entry.title, entry.teaser, entry.published)
            except Exception:  # the store reads the item again; a text-layer bug must not lose it
                log.exception("could not read story features of %r from %s", entry.title[:80], entry.source)
                features = None
            articles.append(Article(entry, a.verdict, a.language, a.bidders, a.summary, features,
                                    cited_sources(entry.title, entry.teaser, entry.source), tentative))
        articles.sort(key=lambda a: a.entry.published or datetime.max.replace(tzinfo=timezone.utc))
        return articles, relevant


def _freeze_startup_heap() -> None:
    """Once per process: what is loaded by now (langdetect's profiles, the text layer's model, the
    store: about 280,000 objects) lives as long as the process, so the collector need not walk it on
    every older-generation collection (0.3 s of collection in a 500-feed cycle came down to 0.08 s).
    Collected first, so no garbage is kept. The interpreter's own count of frozen objects says whether
    this process did it already."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


class _Libc:
    """glibc's allocator, where there is one (musl, macOS: both calls do nothing).

    Why: a cycle's feeds, parse trees and SQLite pages are freed at its end, but glibc keeps the freed
    heap for reuse, so RSS stayed near the cycles' peak; `malloc_trim(0)` hands free pages back to the
    system (a few ms). And each worker thread (`asyncio.to_thread`) may get its own malloc arena, each
    keeping its own free memory. Both together, at 1,000 feeds after 10 warm cycles: 184 -> 150 MB
    (bench/memory.py)."""

    M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h

    def __init__(self):
        try:
            libc = ctypes.CDLL("libc.so.6")
            self._trim, self._mallopt = libc.malloc_trim, libc.mallopt
        except (OSError, AttributeError):
            self._trim = self._mallopt = None

    def trim(self) -> None:
        if self._trim is not None:
            self._trim(0)

    def limit_arenas(self, arenas: int = 2) -> None:
        """Effective for threads started from now on; an explicit MALLOC_ARENA_MAX in the environment wins."""
        if self._mallopt is not None and "MALLOC_ARENA_MAX" not in os.environ:
            self._mallopt(self.M_ARENA_MAX, arenas)


@functools.lru_cache(maxsize=1)
def _libc() -> _Libc:
    return _Libc()
