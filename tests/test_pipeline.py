"""End to end: loopback feed server → Pipeline.poll_once → store, as a user of the bot sees it."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from bot.config import Config
from bot.pipeline import Pipeline
from bot.store import Store
from tests.conftest import FEEDS, feed_bytes, with_feeds
from tests.factories import HEISE_RELEVANT, SPIEGEL_RELEVANT, WALMART
from tests.feedserver import FeedServer, Route

@pytest.fixture
def cfg(config: Config) -> Config:
    """The shipped configuration with a short request timeout, so a slow feed costs one second."""
    return dataclasses.replace(config, poll=dataclasses.replace(config.poll, timeout_seconds=1.0))


@pytest.fixture
def db(cfg: Config):
    s = Store(cfg.database_url)
    s.migrate()
    yield s
    s.close()


def serve(server: FeedServer, path: str, fixture: str, **route) -> tuple[str, str]:
    server.routes[path] = Route(body=feed_bytes(fixture), **route)
    return path.strip("/").split(".")[0], server.url(path)


def state_of(store: Store, name: str, url: str):
    return store.feed_states([(url, name)])[0]


def requests_since(server: FeedServer, n: int) -> list[tuple[str, int]]:
    return [(path, status) for path, _, status in server.requests[n:]]


def item(guid: str, link: str, title: str, description: str) -> bytes:
    return (f"<item><guid isPermaLink=\"false\">{guid}</guid><link>{link.replace('&', '&amp;')}</link>"
            f"<title>{title}</title><description>{description}</description>"
            f"<pubDate>Fri, 26 Sep 2025 07:00:00 +0200</pubDate></item>").encode()


def rss(*items: bytes) -> bytes:
    """A minimal German RSS 2.0 body around items made with item()."""
    return (b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Testblatt</title>'
            b"<link>https://testblatt.example/</link><language>de</language>" + b"".join(items)
            + b"</channel></rss>")


async def test_seed_case_spiegel(cfg, db, feed_server):
    spiegel = serve(feed_server, "/spiegel.rss", "spiegel_wirtschaft.rss")
    report = await Pipeline(with_feeds(cfg, spiegel), db).poll_once()

    assert report.feeds_ok == 1 and report.feeds_failed == 0
    assert report.entries == 12
    assert {a.title for a in report.new_alerts} == SPIEGEL_RELEVANT
    walmart = next(a for a in report.new_alerts
                   if any("tiktok-walmart-will-gemeinsam-mit-microsoft" in link for _, link in a.sources))
    assert walmart.title == WALMART
    names = {b.name for b in walmart.bidders}
    assert {"Microsoft", "Walmart"} <= names
    assert "Amazon" not in names
    assert walmart.summary == ("Microsoft bekommt beim Versuch, das US-Geschäft der chinesischen Videoplattform "
                               "Tiktok zu übernehmen, Unterstützung von der Supermarktkette Walmart. "
                               "Der Deal wäre ein Politikum.")
    assert walmart.published == datetime(2020, 8, 27, 18, 14, tzinfo=timezone.utc)
    assert [s for s, _ in walmart.sources] == ["spiegel"]
    for alert in report.new_alerts:
        assert "Activision" not in alert.title and "Challenge" not in alert.title
    assert {a.title for a in db.latest_alerts(10)} == SPIEGEL_RELEVANT


async def test_second_poll_of_unchanged_feeds_is_quiet(cfg, store, feed_server):
    feeds = with_feeds(cfg, serve(feed_server, "/spiegel.rss", "spiegel_wirtschaft.rss"),
                       serve(feed_server, "/heise.xml", "heise_atom.xml"))
    pipe = Pipeline(feeds, store)
    first = await pipe.poll_once()
    assert {a.title for a in first.new_alerts} == SPIEGEL_RELEVANT | HEISE_RELEVANT
    seen = len(feed_server.requests)

    second = await pipe.poll_once()

    assert second.new_alerts == () and second.updated_alerts == ()
    assert second.feeds_unchanged == 2 and second.feeds_ok == 0 and second.feeds_failed == 0
    assert sorted(requests_since(feed_server, seen)) == [("/heise.xml", 304), ("/spiegel.rss", 304)]
    assert len(store.latest_alerts(50)) == len(first.new_alerts)


async def test_same_items_in_a_changed_feed_are_not_alerted_again(cfg, db, feed_server):
    name, url = serve(feed_server, "/spiegel.rss", "spiegel_wirtschaft.rss")
    feeds = with_feeds(cfg, (name, url))
    pipe = Pipeline(feeds, db)
    await pipe.poll_once()
    # The feed changes (a new item on top, so no 304), the TikTok items stay.
    fresh = item("neu-1", "https://testblatt.example/neu", "Bytedance erwägt Verkauf von Tiktok an Oracle",
                 "Gespräche laufen.")
    changed = feed_bytes("spiegel_wirtschaft.rss").replace(b"<item>", fresh + b"<item>", 1)
    feed_server.routes["/spiegel.rss"] = Route(body=changed)

    report = await pipe.poll_once()

    assert report.feeds_ok == 1
    assert [a.title for a in report.new_alerts] == ["Bytedance erwägt Verkauf von Tiktok an Oracle"]
    assert report.updated_alerts == ()


@pytest.mark.parametrize("failure", ["http500", "html_page", "slow"])
async def test_failing_feed_does_not_stop_the_others(cfg, db, feed_server, failure):
    route = {"http500": Route(status=500, body=b"Internal Server Error"),
             "html_page": Route(body=feed_bytes("not_a_feed.html"), content_type="text/html; charset=utf-8"),
             "slow": Route(body=feed_bytes("dw_wirtschaft.rdf"), delay=3.0)}[failure]
    feed_server.routes["/broken.rss"] = route
    broken = ("broken", feed_server.url("/broken.rss"))
    feeds = with_feeds(cfg, serve(feed_server, "/spiegel.rss", "spiegel_wirtschaft.rss"), broken,
                       serve(feed_server, "/heise.xml", "heise_atom.xml"))
    pipe = Pipeline(feeds, db)
    before = datetime.now(timezone.utc)

    report = await pipe.poll_once()

    assert {a.title for a in report.new_alerts} == SPIEGEL_RELEVANT | HEISE_RELEVANT
    assert report.feeds_ok == 2 and report.feeds_failed == 1
    assert [name for name, _ in report.errors] == ["broken"]
    state = state_of(db, *broken)
    assert state.status == "active"
    assert state.error_count == 1
    assert state.last_error
    assert state.next_attempt is not None and state.next_attempt > before
    hits = len(feed_server.hits("/broken.rss"))

    again = await pipe.poll_once()

    assert again.feeds_skipped == 1 and again.feeds_unchanged == 2 and again.feeds_failed == 0
    assert len(feed_server.hits("/broken.rss")) == hits  # not asked again before its backoff ends
    assert state_of(db, *broken).error_count == 1


async def test_recovered_feed_resets_its_error_count(cfg, db, feed_server):
    feed_server.routes["/flaky.rss"] = Route(status=503, headers={"Retry-After": "7200"})
    flaky = ("flaky", feed_server.url("/flaky.rss"))
    feeds = with_feeds(cfg, flaky)
    pipe = Pipeline(feeds, db)
    before = datetime.now(timezone.utc)
    await pipe.poll_once()
    failed = state_of(db, *flaky)
    assert failed.error_count == 1 and "503" in failed.last_error
    # The server asked for two hours' rest: longer than the first backoff (one poll interval).
    assert (failed.next_attempt - before).total_seconds() >= 7200 - 5
    # Pretend the backoff has passed.
    db.save_feed_states([dataclasses.replace(failed, next_attempt=datetime(2000, 1, 1, tzinfo=timezone.utc))])
    feed_server.routes["/flaky.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"))

    report = await pipe.poll_once()

    assert {a.title for a in report.new_alerts} == SPIEGEL_RELEVANT
    state = state_of(db, *flaky)
    assert state.error_count == 0 and state.next_attempt is None and state.last_error is None
    assert state.etag


async def test_gone_feed_is_switched_off(cfg, db, feed_server):
    feed_server.routes["/gone.rss"] = Route(status=410)
    gone = ("gone", feed_server.url("/gone.rss"))
    feeds = with_feeds(cfg, gone, serve(feed_server, "/spiegel.rss", "spiegel_wirtschaft.rss"))
    pipe = Pipeline(feeds, db)

    first = await pipe.poll_once()
    assert state_of(db, *gone).status == "gone"
    assert first.feeds_failed == 1
    assert {a.title for a in first.new_alerts} == SPIEGEL_RELEVANT

    await pipe.poll_once()
    assert feed_server.hits("/gone.rss") == [410]  # never asked again
    assert state_of(db, *gone).status == "gone"


async def test_permanent_redirect_is_remembered(cfg, db, feed_server):
    feed_server.routes["/old.rss"] = Route(status=301, headers={"Location": "/new.rss"})
    serve(feed_server, "/new.rss", "spiegel_wirtschaft.rss")
    moved = ("moved", feed_server.url("/old.rss"))
    feeds = with_feeds(cfg, moved)
    pipe = Pipeline(feeds, db)

    first = await pipe.poll_once()
    assert {a.title for a in first.new_alerts} == SPIEGEL_RELEVANT
    assert state_of(db, *moved).moved_to == feed_server.url("/new.rss")
    seen = len(feed_server.requests)

    second = await pipe.poll_once()
    assert requests_since(feed_server, seen) == [("/new.rss", 304)]
    assert second.new_alerts == ()


async def test_temporary_redirect_is_not_remembered(cfg, db, feed_server):
    feed_server.routes["/old.rss"] = Route(status=302, headers={"Location": "/new.rss"})
    serve(feed_server, "/new.rss", "spiegel_wirtschaft.rss")
    moved = ("moved", feed_server.url("/old.rss"))
    feeds = with_feeds(cfg, moved)
    pipe = Pipeline(feeds, db)

    await pipe.poll_once()
    assert state_of(db, *moved).moved_to is None
    seen = len(feed_server.requests)
    await pipe.poll_once()
    assert requests_since(feed_server, seen) == [("/old.rss", 302), ("/new.rss", 304)]


async def test_same_story_from_two_outlets_in_a_news_search_feed(cfg, db, feed_server):
    feeds = with_feeds(cfg, serve(feed_server, "/search.rss", "news_search.rss"))
    pipe = Pipeline(feeds, db)
    report = await pipe.poll_once()

    oracle = [a for a in report.new_alerts if "Oracle, Silver Lake und MGX" in a.title]
    assert len(oracle) == 1
    assert [s for s, _ in oracle[0].sources] == ["Handelsblatt", "DER SPIEGEL"]
    # Every relevant item is its own story except the Handelsblatt/SPIEGEL pair.
    assert len(report.new_alerts) == report.relevant - 1
    assert all("TikTok Shop" not in a.title for a in report.new_alerts)
    faz = next(a for a in report.new_alerts if a.title.startswith("Project Liberty"))
    assert faz.source == "FAZ - Frankfurter Allgemeine Zeitung"


async def test_same_story_from_two_feeds_is_one_alert(cfg, db, feed_server):
    feeds = with_feeds(cfg, serve(feed_server, "/spiegel.rss", "spiegel_wirtschaft.rss"),
                       serve(feed_server, "/tagesschau.rss", "tagesschau_dup.rss"))
    pipe = Pipeline(feeds, db)
    report = await pipe.poll_once()

    contracts = [a for a in report.new_alerts if "Gemeinschaftsunternehmen" in a.title]
    assert len(contracts) == 1
    assert sorted(s for s, _ in contracts[0].sources) == ["spiegel", "tagesschau"]
    assert sorted(a.title for a in report.new_alerts) == sorted(
        SPIEGEL_RELEVANT | {"TikTok-Deal: Trump unterzeichnet Dekret für US-Ableger"})


async def test_story_reported_later_by_another_outlet_updates_the_alert(cfg, db, feed_server):
    spiegel = serve(feed_server, "/spiegel.rss", "spiegel_wirtschaft.rss")
    await Pipeline(with_feeds(cfg, spiegel), db).poll_once()
    tagesschau = serve(feed_server, "/tagesschau.rss", "tagesschau_dup.rss")

    report = await Pipeline(with_feeds(cfg, spiegel, tagesschau), db).poll_once()

    assert [a.title for a in report.new_alerts] == ["TikTok-Deal: Trump unterzeichnet Dekret für US-Ableger"]
    assert len(report.updated_alerts) == 1
    update = report.updated_alerts[0]
    assert update.is_update and update.title == "Tiktok unterzeichnet Verträge für US-Gemeinschaftsunternehmen"
    assert [s for s, _ in update.sources] == ["spiegel", "tagesschau"]


async def test_changed_tracking_parameter_is_not_a_new_alert(cfg, db, feed_server):
    feed_server.routes["/blatt.rss"] = Route(body=rss(item(
        "blatt-4711", "https://testblatt.example/tiktok-oracle?utm_source=rss&utm_medium=feed",
        "Oracle erhält den Zuschlag für Tiktoks US-Geschäft", "Bytedance verkauft an ein Konsortium um Oracle.")))
    feeds = with_feeds(cfg, ("blatt", feed_server.url("/blatt.rss")))
    pipe = Pipeline(feeds, db)
    first = await pipe.poll_once()
    assert len(first.new_alerts) == 1

    # The publisher re-issues the same article: new guid, new tracking parameters, reworded title.
    feed_server.routes["/blatt.rss"] = Route(body=rss(item(
        "blatt-4711-v2", "https://testblatt.example/tiktok-oracle?utm_source=newsletter&wt_mc=abc",
        "Verkauf besiegelt: Konsortium um Larry Ellison bekommt Tiktok USA",
        "Bytedance verkauft an ein Konsortium um Oracle.")))
    second = await pipe.poll_once()

    assert second.feeds_ok == 1  # the body did change
    assert second.new_alerts == () and second.updated_alerts == ()
    alerts = db.latest_alerts(10)
    assert len(alerts) == 1 and len(alerts[0].sources) == 1


async def test_english_items_only_when_english_is_configured(cfg, db, feed_server, tmp_path):
    english = serve(feed_server, "/english.rss", "english.rss")
    german_only = await Pipeline(with_feeds(cfg, english), db).poll_once()
    assert german_only.relevant == 2  # classified as relevant …
    assert german_only.new_alerts == ()  # … but never sent in a language nobody asked for
    assert db.latest_alerts(10) == []

    both = Store(f"sqlite:///{tmp_path / 'en.db'}")
    both.migrate()
    try:
        config = dataclasses.replace(with_feeds(cfg, english), languages=("de", "en"))
        report = await Pipeline(config, both).poll_once()
    finally:
        both.close()
    assert {a.title for a in report.new_alerts} == {
        "Trump signs order approving TikTok sale to Oracle-led investor group",
        "Walmart joins Microsoft in bid for TikTok's U.S. business"}


async def test_status_meta_is_written(cfg, db, feed_server):
    feed_server.routes["/broken.rss"] = Route(status=500)
    feeds = with_feeds(cfg, serve(feed_server, "/spiegel.rss", "spiegel_wirtschaft.rss"),
                       ("broken", feed_server.url("/broken.rss")))
    pipe = Pipeline(feeds, db)
    assert db.last_poll() is None
    before = datetime.now(timezone.utc)

    report = await pipe.poll_once()

    last = db.last_poll()
    assert last.feeds == 2 and last.ok == 1 and last.failed == 1 and last.skipped == 0
    assert last.new_alerts == len(report.new_alerts) == 3 and last.relevant == report.relevant > 0
    assert [e[0] for e in last.errors] == ["broken"] and "500" in last.errors[0][1]
    assert last.finished >= last.started >= before

    await pipe.poll_once()
    last = db.last_poll()
    assert last.unchanged == 1 and last.skipped == 1 and last.new_alerts == 0 and last.errors == ()


async def test_file_feed_in_the_pipeline(cfg, db):
    local = ("local", (FEEDS / "malformed.rss").as_uri())
    feeds = with_feeds(cfg, local)
    pipe = Pipeline(feeds, db)
    first = await pipe.poll_once()
    assert [a.title for a in first.new_alerts] == ["TikTok: Walmart steigt bei Microsoft-Gebot ein"]
    second = await pipe.poll_once()
    assert second.feeds_unchanged == 1 and second.new_alerts == ()


async def test_an_unrelated_copy_of_the_link_does_not_hide_the_deal_item(cfg, db, feed_server):
    link = "https://testblatt.example/wirtschaft/"
    feed_server.routes["/section.rss"] = Route(body=rss(item("s-1", link, "Dax schließt im Plus", "Die Börse.")))
    # The deal item's feed answers later, so the unrelated copy is read first.
    feed_server.routes["/deal.rss"] = Route(body=rss(item(
        "d-1", link, "Oracle erhält den Zuschlag für Tiktoks US-Geschäft", "Bytedance verkauft an Oracle.")),
        delay=0.5)
    feeds = with_feeds(cfg, ("section", feed_server.url("/section.rss")), ("deal", feed_server.url("/deal.rss")))

    report = await Pipeline(feeds, db).poll_once()

    assert [a.title for a in report.new_alerts] == ["Oracle erhält den Zuschlag für Tiktoks US-Geschäft"]


async def test_a_document_without_readable_items_is_a_failing_feed(cfg, db, feed_server):
    feed_server.routes["/cut.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss")[:300])
    feeds = with_feeds(cfg, ("cut", feed_server.url("/cut.rss")))

    report = await Pipeline(feeds, db).poll_once()

    assert report.feeds_failed == 1 and report.feeds_ok == 0
    state = state_of(db, "cut", feed_server.url("/cut.rss"))
    assert state.error_kind == "malformed" and "no element found" in state.last_error
    assert report.errors == (("cut", f"fehlerhaftes XML, kein Eintrag lesbar ({state.last_error})"),)
