"""The sweep: broken and hostile feeds served next to good ones never cost the good feeds' alerts."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot import schema
from bot.pipeline import Pipeline
from tests.conftest import FEEDS, feed_bytes, with_feeds
from tests.factories import HEISE_RELEVANT, SPIEGEL_RELEVANT
from tests.feedserver import FeedServer, Route

BROKEN = FEEDS / "broken"
# Deal items inside damaged feeds that are still readable: each must come out once.
RECOVERED = {
    "date_year_0001.rss": "Tiktok-Verkauf: Oracle erhält den Zuschlag der Regierung",
    "date_year_9999.rss": "Walmart bietet für Tiktoks US-Geschäft mit",
    "date_garbage.rss": "Microsoft verhandelt weiter über Tiktok-Übernahme",
    "date_atom_year0.xml": "Bytedance akzeptiert Angebot von Oracle für Tiktok",
    "language_overlong.rss": "Tiktok-Deal: Oracle und Walmart kaufen US-Geschäft",
    "huge_guid_and_link.rss": "Tiktok-Übernahme: Trump stimmt dem Deal mit Oracle grundsätzlich zu",
    "truncated_mid_item.rss": "Senat billigt Gesetz zum Tiktok-Verkauf",
    "utf16_with_bom.rss": "Tiktok-Käufer: Oracle und Silver Lake bilden Konsortium",
    "unknown_charset.rss": "Tiktok-Deal: Übernahme durch Oracle-Gruppe unterzeichnet",
    "cp1252_undeclared.rss": "Tiktok: Kaufangebot von Oracle über 20 Mrd. €",
    "javascript_base.xml": "Tiktok-Verkauf: Gericht stoppt das Verbot vorläufig",
    "bad_links.rss": "Tiktok-Verkauf: Frist um 75 Tage verlängert",
    "rss_in_html_content_type.rss": "Tiktok-Deal: Microsoft und Walmart legen Gebot vor",
}
# Documents with nothing to read: the feed is failing, with this kind of problem.
FAILING = {
    "binary_garbage.bin": "not_a_feed",
    "json_feed.json": "not_a_feed",
    "truncated_head.rss": "malformed",
    "unknown_version.rss": "not_a_feed",
}
LONG = "/moved.rss?" + "q" * 2100


def entity_expansion_feed() -> bytes:
    """4 MB that would expand to 360 MB: one 3,600-character entity used 100,000 times."""
    return (b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "' + b"A" * 3600 + b'">\n]>\n'
            b'<rss version="2.0"><channel><title>E</title><item><guid>1</guid><title>Tiktok '
            + b"&big;" * 100_000 + b"</title></item></channel></rss>")


def sweep_routes(server: FeedServer, transport: str, tmp_path) -> list[tuple[str, str]]:
    feeds = []
    for path in sorted(BROKEN.iterdir()):
        if path.suffix == ".md":
            continue
        if transport == "file":
            feeds.append((path.name, path.as_uri()))
            continue
        content_type = "text/html" if "content_type" in path.name else "application/rss+xml"
        server.routes[f"/b/{path.name}"] = Route(body=path.read_bytes(), content_type=content_type)
        feeds.append((path.name, server.url(f"/b/{path.name}")))
    bomb = tmp_path / "entities.rss"
    bomb.write_bytes(entity_expansion_feed())
    empty = tmp_path / "empty.rss"
    empty.write_bytes(b"")
    feeds += [("entities", bomb.as_uri()), ("empty", empty.as_uri())]
    if transport == "http":
        dw = feed_bytes("dw_wirtschaft.rdf")
        server.routes.update({
            # Headers no column could hold: the feed is read, its validators are not kept.
            "/headers.rdf": Route(body=dw, etag=False, headers={"ETag": '"' + "e" * 600 + '"',
                                                                 "Last-Modified": "x" * 180}),
            "/old.rss": Route(status=301, headers={"Location": LONG}),
            LONG: Route(body=feed_bytes("latin1_correct.rss")),
            "/gzip-lie.rss": Route(body=dw, headers={"Content-Encoding": "gzip"}),
            "/loop.rss": Route(status=302, headers={"Location": "/loop.rss"}),
            "/busy.rss": Route(status=429, headers={"Retry-After": "1e400"}),
            "/oops.rss": Route(status=500, body=b"<html>oops</html>"),
            "/slow.rss": Route(body=dw, delay=3.0),
        })
        feeds += [(p.strip("/"), server.url(p)) for p in
                  ("/headers.rdf", "/old.rss", "/gzip-lie.rss", "/loop.rss", "/busy.rss", "/oops.rss", "/slow.rss")]
    return feeds


def stored_titles(store) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(schema.items.c.title)).scalars())


@pytest.mark.parametrize("transport", ["http", "file"])
async def test_sweep_of_broken_feeds_keeps_every_good_alert(config, store, feed_server, transport, tmp_path):
    good = [("spiegel", feed_server.url("/spiegel.rss")), ("heise", feed_server.url("/heise.xml"))]
    feed_server.routes["/spiegel.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"))
    feed_server.routes["/heise.xml"] = Route(body=feed_bytes("heise_atom.xml"))
    bad = sweep_routes(feed_server, transport, tmp_path)
    cfg = with_feeds(dataclasses.replace(config, poll=dataclasses.replace(config.poll, timeout_seconds=1.0)),
                     good[0], *bad, good[1])
    pipe = Pipeline(cfg, store)
    before = datetime.now(timezone.utc)

    first = await pipe.poll_once()
    second = await pipe.poll_once()

    titles = stored_titles(store)
    assert SPIEGEL_RELEVANT | HEISE_RELEVANT <= set(titles)
    for name, title in RECOVERED.items():
        assert titles.count(title) == 1, (name, title)
    # An absurd date gives way to the fetch time.
    with store.engine.connect() as conn:
        when = conn.execute(select(schema.items.c.published).where(
            schema.items.c.title == RECOVERED["date_year_0001.rss"])).scalar_one()
    assert abs((when.replace(tzinfo=timezone.utc) - before).total_seconds()) < 600
    assert not {a.title for a in second.new_alerts} & {a.title for a in first.new_alerts}

    states = {s.name: s for s in store.feed_states([(f.url, f.name) for f in cfg.feeds])}
    assert all(s.last_polled for s in states.values()), [n for n, s in states.items() if not s.last_polled]
    for name, kind in FAILING.items() | {"entities": "entities", "empty": "empty"}.items():
        assert states[name].error_count == 1 and states[name].error_kind == kind, (name, states[name])
    if transport == "http":
        assert states["headers.rdf"].error_count == 0 and states["headers.rdf"].etag is None
        assert states["old.rss"].error_count == 0 and states["old.rss"].moved_to is None
        assert {states[n].error_kind for n in ("gzip-lie.rss", "loop.rss", "busy.rss", "oops.rss", "slow.rss")} \
            == {"network", "redirects", "http", "timeout"}
        assert states["busy.rss"].next_attempt - before <= timedelta(seconds=cfg.poll.max_backoff_seconds + 60)
