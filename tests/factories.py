"""Build articles for store and command tests without going through feeds."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from bot import schema
from bot.models import Article, BidderMention, Entry, Verdict
from bot.provenance import cited_sources
from bot.store import Store

BASE = datetime(2025, 9, 20, 8, 0, tzinfo=timezone.utc)


def article(title: str, source: str = "SPIEGEL", hours: float = 0, link: str | None = None,
            bidders: tuple[tuple[str, str | None], ...] = (), language: str = "de", teaser: str = "",
            discovered: tuple[tuple[str, str | None], ...] = ()) -> Article:
    """`bidders` as the finder gives configured ones, `discovered` as discovery gives the others."""
    link = link or "https://example.org/" + hashlib.sha1(f"{title}{source}".encode()).hexdigest()[:10]
    key = hashlib.sha1(link.encode()).hexdigest()[:32]
    entry = Entry(key=key, link_key=key, feed_url="https://example.org/feed", source=source, title=title,
                  teaser=teaser, link=link, published=BASE + timedelta(hours=hours))
    return Article(entry, Verdict(True, 0.9, ("subject:tiktok",)), language,
                   tuple(BidderMention(n, r) for n, r in bidders)
                   + tuple(BidderMention(n, r, discovered=True) for n, r in discovered), teaser or title,
                   cited=cited_sources(title, teaser, source))


def add_story(store: Store, reports: list[Article]) -> int:
    """Store these reports as one story, whatever the story model would make of them: the first
    opens it through the store, the others are filed under it as the store files a joining report.
    Listing and rendering tests must not depend on how grouping judges made-up headlines."""
    [opened], _ = store.add_articles(reports[:1], 48)
    with store.engine.begin() as conn:
        for a in reports[1:]:
            e = a.entry
            item = conn.execute(insert(schema.items).values(
                key=e.key, link_key=e.link_key, alert_id=opened.id, feed_url=e.feed_url, source=e.source,
                title=e.title, teaser=e.teaser, link=e.link, published=e.published, fetched=e.published,
                language=a.language, score=a.verdict.score, reasons="[]", summary=a.summary)).inserted_primary_key[0]
            for b in a.bidders:
                conn.execute(insert(schema.mentions).values(item_id=item, bidder=b.name, role=b.role,
                                                            published=e.published))
    return opened.id


def long_stories(count: int, outlets: tuple[str, ...] = ("SPIEGEL", "FAZ", "heise")) -> list[list[Article]]:
    """`count` distinct stories, each reported by every outlet an hour apart, with a long summary and
    bidders: story i's newest report is at hour 10 * i + len(outlets) - 1, so the last is the newest."""
    out = []
    for i in range(count):
        title = f"Tiktok-Deal Wendung {i}: Q{i:02d}A Q{i:02d}B Q{i:02d}C"
        summary = f"Zusammenfassung {i}: " + "Die Verhandlungen über den Verkauf gehen weiter. " * 6
        out.append([article(title, source, hours=10 * i + n, teaser=summary.strip(),
                            bidders=(("Oracle", "negotiating"), ("Microsoft", None)))
                    for n, source in enumerate(outlets)])
    return out


def rss(*items: tuple[str, str, str, datetime]) -> bytes:
    """A German RSS 2.0 feed of (title, teaser, link, published) items, as outlets publish them."""
    from email.utils import format_datetime
    from xml.sax.saxutils import escape
    body = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<description>{escape(teaser)}</description><pubDate>{format_datetime(published)}</pubDate></item>"
        for title, teaser, link, published in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed</title>'
            f"<language>de</language>{body}</channel></rss>").encode()


# The deal items of the fixture feeds tests/data/feeds/spiegel_wirtschaft.rss and heise.rss.
WALMART = "Walmart will gemeinsam mit Microsoft über TikTok-Kauf verhandeln"
SPIEGEL_RELEVANT = {
    "Microsoft will Tiktoks US-Geschäft übernehmen",
    WALMART,
    "Tiktok unterzeichnet Verträge für US-Gemeinschaftsunternehmen",
}
HEISE_RELEVANT = {
    "TikTok-Deal abgeschlossen: Oracle wacht künftig über US-Daten und Algorithmus",
    "Perplexity schlägt Fusion mit TikTok US vor",
}

# A feed of one item: Oracle wins the deal.
ORACLE_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test</title><language>de</language>
<item><title>Oracle erhält den Zuschlag für das US-Geschäft von Tiktok</title>
<link>https://example.org/oracle-tiktok</link><guid>oracle-tiktok-1</guid>
<description>Bytedance hat sich für Oracle als Käufer entschieden. Walmart ist als Partner dabei.</description>
<pubDate>Sun, 13 Sep 2020 20:00:00 +0000</pubDate></item>
</channel></rss>""".encode()


# Three reports of a race over two days (the /bidders chart's tests).
RACE = [
    article("Microsoft prüft Kauf von Tiktok", hours=0, bidders=(("Microsoft", "interested"),)),
    article("Oracle bietet", "FAZ", hours=2, bidders=(("Oracle", "bid_submitted"),)),
    article("Oracle bekommt Tiktok, Microsoft geht leer aus", "heise", hours=28,
            bidders=(("Oracle", "approved"), ("Microsoft", "rejected"))),
]


def senate_story(now: datetime) -> dict[str, tuple[str, str, str, datetime]]:
    """One event as three reports arrive: SPIEGEL first, tagesschau an hour later in other words
    (same event, nothing new), then SPIEGEL again with the vote count (the same story, a new fact)."""
    return {
        "first": ("US-Senat billigt Tiktok-Gesetz",
                  "Nach dem Repräsentantenhaus hat auch der Senat dem Gesetz zugestimmt. Bytedance muss Tiktok "
                  "verkaufen.", "https://www.spiegel.de/senat-tiktok", now - timedelta(hours=3)),
        "other_outlet": ("Senat stimmt für Zwangsverkauf von Tiktok",
                         "Die zweite Kammer des Kongresses billigt das Paket samt Tiktok-Klausel.",
                         "https://www.tagesschau.de/senat-tiktok", now - timedelta(hours=2)),
        "new_fact": ("79 zu 18: Auch die zweite Kammer will Bytedance zum Verkauf zwingen",
                     "Die Senatoren stimmten für das Tiktok-Paket; es fehlt die Unterschrift des Präsidenten, "
                     "wie Reuters berichtet.", "https://www.spiegel.de/senat-79-18", now - timedelta(hours=1)),
    }
