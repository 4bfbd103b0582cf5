"""The coordinator: fetch → parse → relevance → language → bidders → summary → store, in that order."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.bidders import BidderFinder
from bot.config import Config
from bot.fetch import Fetcher, FetchResult, backoff_seconds
from bot.language import LanguageDetector
from bot.models import Article, BidderMention, Entry, FeedState, PollReport, Verdict
from bot.parse import FeedParseError, parse_feed
from bot.relevance import RelevanceModel
from bot.store import Store
from bot.stories import subject_stems
from bot.summary import summarise

log = logging.getLogger(__name__)


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
        self.bidders = BidderFinder.build(config.deal)
        self.language = LanguageDetector()
        # Company names are the same in every language and sway langdetect on short headlines
        # ("Perplexity will mit TikTok USA fusionieren" came out English): detect without them.
        names = list(config.deal.subject) + [a for b in config.deal.bidders for a in b.aliases]
        self._names = re.compile("|".join(
            re.escape(n.strip("*$")) for n in sorted(names, key=len, reverse=True)), re.I)

    def analyse(self, title: str, teaser: str, language_hint: str | None = None,
                always_detect: bool = False) -> Analysis:
        verdict = self.relevance.judge(title, teaser)
        if not verdict.relevant and not always_detect:
            # Language detection costs milliseconds; an irrelevant item never needs it.
            return Analysis(verdict, language_hint or "unknown", (), "")
        language = self.language.detect(self._names.sub(" ", f"{title}. {teaser}"), language_hint)
        if not verdict.relevant:
            return Analysis(verdict, language, (), "")
        summary = summarise(title, teaser, self.config.summary_max_chars, self.config.summary_max_sentences,
                            language if language in ("de", "en") else "de")
        return Analysis(verdict, language, self.bidders.find(title, teaser), summary)


class Pipeline:
    def __init__(self, config: Config, store: Store):
        self.config = config
        self.store = store
        self.analyser = Analyser(config)
        self.story_ignore = subject_stems(config.deal.subject)

    async def poll_once(self) -> PollReport:
        """One cycle over every due feed; a failing feed is recorded and never stops the rest."""
        started = datetime.now(timezone.utc)
        feeds = [(f.url, f.name) for f in self.config.feeds]
        languages = {f.url: f.language for f in self.config.feeds}
        states = await asyncio.to_thread(self.store.feed_states, feeds)
        due = [s for s in states if s.status == "active" and (s.next_attempt is None or s.next_attempt <= started)]
        counts = {"ok": 0, "not_modified": 0, "error": 0, "gone": 0}
        entries: list[Entry] = []
        seen = 0
        new_states: list[FeedState] = []
        errors: list[tuple[str, str]] = []
        async with Fetcher(self.config.poll) as fetcher:
            async def one(state: FeedState) -> tuple[FeedState, FetchResult]:
                return state, await fetcher.fetch(state)

            for next_done in asyncio.as_completed([one(s) for s in due]):
                state, result = await next_done
                state, found, count, error = self._absorb(state, result, languages.get(state.url))
                counts[result.status if not error or result.status == "gone" else "error"] += 1
                entries.extend(found)
                seen += count
                new_states.append(state)
                if error:
                    errors.append((state.name, error))
        await asyncio.to_thread(self.store.save_feed_states, new_states)
        known = await asyncio.to_thread(self.store.known_keys, [k for e in entries for k in (e.key, e.link_key)])
        articles, relevant = self._articles(entries, known)
        new, updated = await asyncio.to_thread(self.store.add_articles, articles, self.config.story_window_hours,
                                               self.story_ignore)
        await asyncio.to_thread(self.store.purge, self.config.retention_days)
        report = PollReport(started=started, finished=datetime.now(timezone.utc), feeds_ok=counts["ok"],
                            feeds_unchanged=counts["not_modified"], feeds_failed=counts["error"] + counts["gone"],
                            feeds_skipped=len(states) - len(due), entries=seen, relevant=relevant,
                            new_alerts=tuple(new), updated_alerts=tuple(updated), errors=tuple(errors))
        await asyncio.to_thread(self.store.set_meta, "last_poll", _report_meta(report, len(states)))
        log.info("poll: %d feeds ok, %d unchanged, %d failed, %d skipped; %d items, %d relevant, %d new alerts",
                 report.feeds_ok, report.feeds_unchanged, report.feeds_failed, report.feeds_skipped,
                 report.entries, relevant, len(new))
        return report

    def _absorb(self, state: FeedState, result: FetchResult, hint: str | None):
        """New feed state and parsed entries from one fetch result (rss2email's status rules)."""
        now = datetime.now(timezone.utc)
        moved = result.moved_to or state.moved_to
        if result.moved_to and result.moved_to != state.moved_to:
            log.warning("feed %r moved permanently to %s; update its url in the configuration",
                        state.name, result.moved_to)
        if result.status == "gone":
            log.error("feed %r (%s) answered 410 Gone and is switched off", state.name, state.url)
            return dataclasses.replace(state, status="gone", last_error=result.error, last_polled=now,
                                       moved_to=moved), [], 0, result.error
        error, entries, seen = result.error, [], 0
        if result.status == "ok":
            try:
                parsed = parse_feed(result.body, state.url, state.name, result.headers, now,
                                    keep=self.analyser.relevance.could_match)
                seen = parsed.seen
                entries = [dataclasses.replace(e, declared_language=e.declared_language or hint)
                           if hint and not e.declared_language else e for e in parsed.entries]
                if parsed.bozo:
                    log.info("feed %r is not well-formed (%s); %d items recovered", state.name,
                             parsed.bozo, len(entries))
            except FeedParseError as exc:
                error = f"not a usable feed: {exc}"
        if error:
            errors = state.error_count + 1
            delay = backoff_seconds(errors, self.config.poll.interval_seconds, self.config.poll.max_backoff_seconds)
            if result.retry_after:
                delay = max(delay, min(result.retry_after, self.config.poll.max_backoff_seconds))
            log.warning("feed %r (%s) failed (%d in a row, next try in %d s): %s", state.name,
                        moved or state.url, errors, delay, error)
            return dataclasses.replace(state, error_count=errors, last_error=error, last_polled=now, moved_to=moved,
                                       next_attempt=now + timedelta(seconds=delay)), [], 0, error
        return dataclasses.replace(
            state, error_count=0, last_error=None, last_polled=now, last_ok=now, next_attempt=None, moved_to=moved,
            etag=result.etag if result.status == "ok" else state.etag,
            last_modified=result.last_modified if result.status == "ok" else state.last_modified), entries, seen, None

    def _articles(self, entries: list[Entry], known: set[str]) -> tuple[list[Article], int]:
        articles, relevant, seen = [], 0, set()
        for entry in entries:
            if entry.key in known or entry.link_key in known or entry.key in seen or entry.link_key in seen:
                continue
            seen.update((entry.key, entry.link_key))
            try:
                a = self.analyser.analyse(entry.title, entry.teaser, entry.declared_language)
            except Exception:  # one hostile item must not cost the whole cycle
                log.exception("could not analyse item %r from %s", entry.title[:80], entry.source)
                continue
            if not a.verdict.relevant:
                continue
            relevant += 1
            if a.language not in self.config.languages:
                log.debug("relevant item in %s skipped: %r", a.language, entry.title[:80])
                continue
            articles.append(Article(entry, a.verdict, a.language, a.bidders, a.summary))
        articles.sort(key=lambda a: a.entry.published or datetime.max.replace(tzinfo=timezone.utc))
        return articles, relevant


def _report_meta(report: PollReport, total: int) -> dict:
    return {"finished": report.finished.isoformat(), "feeds": total, "ok": report.feeds_ok,
            "unchanged": report.feeds_unchanged, "failed": report.feeds_failed, "skipped": report.feeds_skipped,
            "new_alerts": len(report.new_alerts), "errors": [list(e) for e in report.errors[:20]]}
