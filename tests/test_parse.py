"""Parsing the fixture feeds into clean entries: counts, plain text, hostile input, encodings, dates."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import feedparser
import pytest

from bot.parse import MAX_TITLE, FeedParseError, normalise, parse_feed
from tests.conftest import FEEDS, feed_bytes

XML = {"content-type": "application/rss+xml; charset=utf-8"}
COUNTS = {
    "spiegel_wirtschaft.rss": 12,
    "heise_atom.xml": 10,
    "dw_wirtschaft.rdf": 6,
    "tagesschau_dup.rss": 4,  # 6 items, 4 distinct stories
    "malformed.rss": 4,
    "empty.rss": 0,
    "latin1_declared_utf8.rss": 3,
    "latin1_correct.rss": 3,
    "english.rss": 4,
    "hostile.rss": 10,
    "news_search.rss": 8,
}
TAG = re.compile(r"</?[A-Za-z][^<>]*>")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.I)
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u206f\ufeff]")


def parse(name: str, **kwargs):
    return parse_feed(feed_bytes(name), f"https://feeds.example/{name}", name.split(".")[0], XML, **kwargs)


def titled(entries, start: str):
    found = [e for e in entries if e.title.startswith(start)]
    assert len(found) == 1, [e.title for e in entries]
    return found[0]


@pytest.mark.parametrize("name, count", sorted(COUNTS.items()))
def test_entry_counts(name, count):
    assert len(parse(name).entries) == count


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_titles_and_teasers_are_folded_plain_text(name):
    for e in parse(name).entries:
        for text in (e.title, e.teaser):
            if e.title == "<script>alert(1)</script>" and text is e.title:
                continue  # hostile.rss: a text/plain title that literally reads like a tag
            assert not TAG.search(text), text
            assert not ENTITY.search(text), text
            assert not INVISIBLE.search(text), repr(text)
            assert text == text.strip() and "  " not in text and "\n" not in text and "\t" not in text, repr(text)
        assert e.title
        assert len(e.title) <= MAX_TITLE


def test_spiegel_teaser_html_is_decoded():
    walmart = titled(parse("spiegel_wirtschaft.rss").entries, "Walmart will gemeinsam")
    assert walmart.teaser == ("Microsoft bekommt beim Versuch, das US-Geschäft der chinesischen Videoplattform "
                              "Tiktok zu übernehmen, Unterstützung von der Supermarktkette Walmart. "
                              "Der Deal wäre ein Politikum.")
    ifo = titled(parse("spiegel_wirtschaft.rss").entries, "Ifo-Index")
    assert "Industrie & Handel" in ifo.title


def test_hostile_script_blocks_do_not_reach_teaser():
    page = titled(parse("hostile.rss").entries, "Quartalszahlen")
    assert "Der Konzern hat im dritten Quartal mehr umgesetzt als erwartet." in page.teaser
    for bad in ("document.location", "evil.example", "fetch(", "alert(", "display: none", "onload"):
        assert bad not in page.teaser
    for e in parse("hostile.rss").entries:
        assert "alert(" not in e.teaser and "javascript" not in e.teaser.lower()


def test_hostile_links_only_http():
    entries = parse("hostile.rss").entries
    phishing = titled(entries, "Jetzt Depot-Zugang")
    assert phishing.link == ""
    assert all(e.link == "" or e.link.startswith("https://") for e in entries)


def test_hostile_long_title_is_truncated():
    long = titled(parse("hostile.rss").entries, "Sehr langer Titel")
    assert len(long.title) <= MAX_TITLE
    assert long.title.endswith("…")
    assert len(long.title) > MAX_TITLE // 2  # cut, not emptied


def test_hostile_invisible_and_bidi_characters_removed():
    entries = parse("hostile.rss").entries
    strike = titled(entries, "Bahn-Streik")
    assert strike.title.startswith("Bahn-Streik beendet: GDL und Bahn einigen")
    assert strike.title.endswith("Tarifvertrag neu")  # U+2028 became a space
    phishing = titled(entries, "Phishing-Welle")
    assert "Rechnung_2025_gpj.exe" in phishing.title  # the RIGHT-TO-LEFT OVERRIDE is gone
    assert "(RIGHT-TO-LEFT OVERRIDE)" in phishing.teaser


def test_hostile_markup_and_escaping_in_titles():
    entries = parse("hostile.rss").entries
    assert titled(entries, "Bericht:").title == "Bericht: TikTok & Oracle: Deal „fast fertig“"
    assert titled(entries, "Preise").title == 'Preise & Löhne: "Inflation < 2 %" > Erwartung? Ökonomen sagen \'nein\''
    # Double-escaped by the publisher: one more decoding step, for the title and for the teaser.
    tarif = titled(entries, "Tarifstreit")
    assert tarif.title == 'Tarifstreit bei Bahn & GDL: Einigung in Sicht – "Durchbruch"'
    assert tarif.teaser == 'Beide Seiten sprechen von "konstruktiven Gesprächen".'


@pytest.mark.parametrize("name, title, teaser_word", [
    ("latin1_declared_utf8.rss", "Übernahme von TikTok USA: Oracle-Konsortium erhält den Zuschlag", "Künftig"),
    ("latin1_correct.rss", "TikTok: Microsoft und Walmart bieten gemeinsam für das US-Geschäft", "Übernahmeangebot"),
])
def test_latin1_feeds_decode_umlauts(name, title, teaser_word):
    entries = parse(name).entries
    assert entries[0].title == title
    assert teaser_word in entries[0].teaser
    for e in entries:
        assert "\ufffd" not in e.title + e.teaser and "Ã" not in e.title + e.teaser


def test_latin1_correct_keeps_character_references():
    entries = parse("latin1_correct.rss").entries
    assert "1,2 Millionen €" in titled(entries, "Zöllner").teaser


def test_duplicate_guid_gives_one_entry():
    entries = parse("tagesschau_dup.rss").entries
    titles = [e.title for e in entries]
    assert titles.count("TikTok: Verträge für US-Gemeinschaftsunternehmen unterzeichnet") == 1
    assert titles.count("TikTok-Deal: Trump unterzeichnet Dekret für US-Ableger") == 1
    assert len({e.key for e in entries}) == len(entries)


def test_tracking_parameter_twin_has_same_link_key():
    url = "https://feeds.example/tagesschau_dup.rss"
    raw = feedparser.parse(feed_bytes("tagesschau_dup.rss")).entries
    now = datetime.now(timezone.utc)
    with_guid, twin = normalise(raw[1], url, "tagesschau", "de", now), normalise(raw[2], url, "tagesschau", "de", now)
    assert with_guid.title == twin.title
    assert with_guid.link != twin.link  # different tracking parameters …
    assert with_guid.link_key == twin.link_key  # … same article
    other = normalise(raw[0], url, "tagesschau", "de", now)
    assert other.link_key != with_guid.link_key


def test_entry_without_link_or_guid_still_parsed():
    dax = titled(parse("tagesschau_dup.rss").entries, "Dax schließt")
    assert dax.link == ""
    assert dax.key and dax.link_key


def test_entry_without_date_has_published_none():
    entries = parse("tagesschau_dup.rss").entries
    assert titled(entries, "Mindestlohn").published is None
    assert all(e.published is not None for e in entries if not e.title.startswith("Mindestlohn"))


def test_news_search_titles_lose_outlet_suffix():
    entries = parse("news_search.rss").entries
    assert [e.source for e in entries] == [
        "Handelsblatt", "DER SPIEGEL", "ZEIT ONLINE", "t3n", "FAZ - Frankfurter Allgemeine Zeitung",
        "WirtschaftsWoche", "t3n", "tagesschau.de"]
    for e in entries:
        assert not e.title.endswith(f" - {e.source}")
        assert not e.title.endswith(" - FAZ") and " - Frankfurter" not in e.title
    faz = titled(entries, "Project Liberty")
    assert faz.title == "Project Liberty: Frank McCourt legt offizielles Gebot für TikTok vor"
    zeit = titled(entries, "TikTok-Joint-Venture")
    assert zeit.title == "TikTok-Joint-Venture in den USA offiziell gegründet – Bytedance behält knapp 20 Prozent"


def test_feed_name_is_source_without_outlet():
    assert {e.source for e in parse("spiegel_wirtschaft.rss").entries} == {"spiegel_wirtschaft"}


@pytest.mark.parametrize("name", ["empty_body.xml", "not_a_feed.html"])
def test_not_a_feed_raises(name):
    with pytest.raises(FeedParseError):
        parse(name)


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00\x01garbage\xff", b'{"items": []}'])
def test_garbage_raises(body):
    with pytest.raises(FeedParseError):
        parse_feed(body, "https://feeds.example/x", "x", XML)


def test_empty_channel_is_not_an_error():
    parsed = parse("empty.rss")
    assert parsed.entries == ()
    assert parsed.title == "Handelsblatt – Technologie & Medien"
    assert parsed.bozo is None


def test_malformed_feed_recovers_and_reports_bozo():
    parsed = parse("malformed.rss")
    assert parsed.bozo and "not well-formed" in parsed.bozo
    assert len(parsed.entries) == 4
    walmart = titled(parsed.entries, "TikTok: Walmart steigt bei Microsoft-Gebot ein")
    assert walmart.teaser.startswith("Eilmeldung: Der US-Einzelhandelsriese Walmart")
    assert titled(parsed.entries, "Bayer").title == "Bayer & Co. unter Druck: Dax schließt im Minus"
    assert parse("spiegel_wirtschaft.rss").bozo is None


def test_feed_language_and_title():
    assert parse("english.rss").language == "en"
    assert parse("heise_atom.xml").language == "de"
    assert {e.declared_language for e in parse("english.rss").entries} == {"en"}
    assert parse("spiegel_wirtschaft.rss").title == "DER SPIEGEL - Wirtschaft"


@pytest.mark.parametrize("name", ["spiegel_wirtschaft.rss", "heise_atom.xml", "dw_wirtschaft.rdf", "english.rss"])
def test_dates_are_utc(name):
    entries = parse(name).entries
    assert entries and all(e.published is not None for e in entries)
    for e in entries:
        assert e.published.tzinfo is not None
        assert e.published.utcoffset() == timedelta(0)


def test_dates_are_converted_from_their_offsets():
    walmart = titled(parse("spiegel_wirtschaft.rss").entries, "Walmart will")  # 20:14 +0200
    assert walmart.published == datetime(2020, 8, 27, 18, 14, tzinfo=timezone.utc)
    trump = titled(parse("english.rss").entries, "Trump signs")  # 17:48 -0400
    assert trump.published == datetime(2025, 9, 25, 21, 48, tzinfo=timezone.utc)
    dw = titled(parse("dw_wirtschaft.rdf").entries, "Trump setzt")  # dc:date only
    assert dw.published == datetime(2020, 8, 4, 6, 18, tzinfo=timezone.utc)


def test_future_date_is_clamped_to_now():
    now = datetime(2021, 1, 1, tzinfo=timezone.utc)
    entries = parse("spiegel_wirtschaft.rss", now=now).entries
    assert titled(entries, "Ifo-Index").published == now
    assert titled(entries, "Walmart will").published == datetime(2020, 8, 27, 18, 14, tzinfo=timezone.utc)

    body = feed_bytes("spiegel_wirtschaft.rss").replace(b"Thu, 22 Jan 2026 10:23:00 +0100",
                                                         b"Fri, 22 Jan 2099 10:23:00 +0100")
    before = datetime.now(timezone.utc)
    ifo = titled(parse_feed(body, "https://feeds.example/s", "s", XML).entries, "Ifo-Index")
    assert before <= ifo.published <= datetime.now(timezone.utc)


def test_every_fixture_is_covered():
    names = {p.name for p in FEEDS.iterdir() if p.is_file() and p.suffix != ".md"}
    assert names == set(COUNTS) | {"empty_body.xml", "not_a_feed.html"}
