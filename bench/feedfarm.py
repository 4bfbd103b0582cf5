"""Synthetic German news feeds, served on loopback by a small asyncio HTTP/1.1 server.

Used by bench/poll_cycle.py. Everything is deterministic for a given seed: feed i at
"head" h lists items h-n+1 .. h (newest first), and item (i, seq) always has the same
title, teaser, guid, link and pubDate. Bumping a feed adds new items on top, which
changes its body and ETag; every other feed keeps answering 304 to If-None-Match.

The server runs in its own process (see `start_server`) so that its CPU time never
counts against the process being measured. Each feed may get its own listening port,
so that feeds are distinct origins (hosts) as they are in real life.
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import random
import urllib.request
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate
from html import escape
from urllib.parse import urlsplit

EPOCH = datetime(2026, 9, 1, 6, 0, tzinfo=timezone.utc)
TIKTOK_SALE_SHARE = 0.02     # items about the TikTok US sale
TIKTOK_OTHER_SHARE = 0.005   # items that name TikTok but are about something else

# --- vocabulary ----------------------------------------------------------------------------

OUTLETS = [
    ("SPIEGEL", "www.spiegel.de"), ("tagesschau", "www.tagesschau.de"), ("ZEIT ONLINE", "www.zeit.de"),
    ("FAZ", "www.faz.net"), ("Süddeutsche Zeitung", "www.sueddeutsche.de"), ("Handelsblatt", "www.handelsblatt.com"),
    ("heise online", "www.heise.de"), ("Golem.de", "www.golem.de"), ("t3n", "t3n.de"), ("n-tv", "www.n-tv.de"),
    ("WirtschaftsWoche", "www.wiwo.de"), ("manager magazin", "www.manager-magazin.de"),
    ("DER STANDARD", "www.derstandard.at"), ("NZZ", "www.nzz.ch"), ("Deutsche Welle", "www.dw.com"),
    ("Capital", "www.capital.de"), ("Focus", "www.focus.de"), ("WELT", "www.welt.de"), ("Stern", "www.stern.de"),
    ("Tagesspiegel", "www.tagesspiegel.de"), ("BR24", "www.br.de"), ("MDR", "www.mdr.de"), ("NDR", "www.ndr.de"),
    ("WDR", "www1.wdr.de"), ("SWR", "www.swr.de"), ("Börsen-Zeitung", "www.boersen-zeitung.de"),
    ("Finanzen.net", "www.finanzen.net"), ("Der Aktionär", "www.deraktionaer.de"), ("Merkur", "www.merkur.de"),
    ("RND", "www.rnd.de"), ("Kölner Stadt-Anzeiger", "www.ksta.de"), ("Rheinische Post", "rp-online.de"),
    ("Stuttgarter Zeitung", "www.stuttgarter-zeitung.de"), ("Hamburger Abendblatt", "www.abendblatt.de"),
    ("taz", "taz.de"), ("Computerbase", "www.computerbase.de"), ("netzpolitik.org", "netzpolitik.org"),
    ("Business Insider", "www.businessinsider.de"), ("Wirtschaftsdienst", "www.wirtschaftsdienst.eu"),
    ("Die Presse", "www.diepresse.com"),
]
SECTIONS = ["Wirtschaft", "Unternehmen", "Finanzen", "Digital", "Netzwelt", "Börse", "Konjunktur",
            "Technik", "Politik", "Verbraucher", "Mittelstand", "Medien"]

COMPANIES = [
    "Siemens", "BASF", "Volkswagen", "BMW", "Mercedes-Benz", "Deutsche Bank", "Commerzbank", "Allianz", "SAP",
    "Bayer", "Lufthansa", "Deutsche Telekom", "Zalando", "Adidas", "Puma", "Henkel", "Continental", "Porsche",
    "RWE", "Eon", "Thyssenkrupp", "Infineon", "Zeiss", "Bosch", "Aldi", "Lidl", "Rewe", "Otto", "Delivery Hero",
    "Hellofresh", "Vonovia", "Uniper", "Fraport", "DHL Group", "Heidelberg Materials", "Merck", "Fresenius",
    "Beiersdorf", "Sixt", "TUI", "Airbus", "Rheinmetall", "Hensoldt", "Daimler Truck", "Covestro", "Evonik",
    "Lanxess", "Wacker Chemie", "Deutsche Bahn", "Edeka", "Ceconomy", "Douglas", "Siemens Energy", "Nordex",
    "Apple", "Google", "Meta", "Amazon", "Microsoft", "Nvidia", "Tesla", "Intel", "Oracle", "Netflix", "Spotify",
    "Procter & Gamble", "Unilever", "Nestlé", "UBS", "Novartis", "Roche", "Stellantis", "Renault", "Shein",
]
PEOPLE = ["Roland Busch", "Oliver Blume", "Christian Sewing", "Bettina Orlopp", "Christian Klein", "Bill Anderson",
          "Carsten Spohr", "Tim Höttges", "Björn Gulden", "Markus Krebber", "Ola Källenius", "Miguel López",
          "Tim Cook", "Jensen Huang", "Sundar Pichai", "Mark Zuckerberg", "Andy Jassy"]
SECTORS = ["Industrie", "Chemiebranche", "Autoindustrie", "Baubranche", "Einzelhandel", "Gastronomie",
           "Maschinenbau", "Logistik", "Pharmabranche", "Stahlindustrie", "Luftfahrt", "Tourismusbranche"]
CITIES = ["München", "Berlin", "Hamburg", "Frankfurt", "Stuttgart", "Köln", "Düsseldorf", "Leipzig", "Wolfsburg",
          "Ludwigshafen", "Dresden", "Hannover", "Nürnberg", "Bremen", "Essen", "Mannheim"]
MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember"]
QUARTERS = ["ersten Quartal", "zweiten Quartal", "dritten Quartal", "vierten Quartal", "Geschäftsjahr"]
CATEGORIES = ["Unternehmen", "Konjunktur", "Finanzen", "Börse", "Arbeitsmarkt", "Energie", "Handel", "Digitales",
              "Verbraucher", "Immobilien", "Auto", "Steuern"]

GENERIC_TITLES = [
    "{co}: Umsatz steigt im {q} um {pct} Prozent",
    "{co} streicht {n} Stellen in Deutschland",
    "Ifo-Index: Stimmung in der {sector} {trend}",
    "{co} übernimmt {co2} für {amount} Milliarden Euro",
    "Inflation im {month}: Preise steigen um {pct} Prozent",
    "Dax schließt {dax} – {co} an der Spitze",
    "EZB {ezb} den Leitzins um {bp} Basispunkte",
    "Streik bei {co}: {strike}",
    "{co}-Chef {person}: „{quote}“",
    "Bundesregierung plant {policy}",
    "{co} verkauft Sparte an Finanzinvestor",
    "Werk in {city}: {co} investiert {amount} Milliarden Euro",
    "Gewinnwarnung: {co}-Aktie bricht ein",
    "{co} und {co2} verhandeln über Fusion",
    "Insolvenz: {sector} in {city} unter Druck",
    "Verbraucherpreise: Was sich im {month} ändert",
    "Rekordquartal für {co} – Anleger jubeln",
    "Kartellamt prüft Übernahme von {co2} durch {co}",
    "Zölle: {co} warnt vor Folgen für die {sector}",
    "Mindestlohn, Rente, Steuern: Das ändert sich im {month}",
    "{co} holt neuen Finanzvorstand von {co2}",
    "Arbeitsmarkt: Zahl der Arbeitslosen {trend2}",
    "Immobilienpreise in {city} {trend2}",
    "Kommentar: Warum {co} jetzt umsteuern muss",
]
GENERIC_TEASERS = [
    "Der Konzern aus {city} meldet für das {q} einen Umsatz von {amount} Milliarden Euro. Analysten hatten "
    "mit weniger gerechnet, die Aktie legte im frühen Handel um {pct} Prozent zu.",
    "Die Unternehmen der {sector} blicken {mood} auf die kommenden Monate. Ökonomen sprechen dennoch von "
    "einer „fragilen Erholung“ &amp; warnen vor zu viel Optimismus.",
    "{person} kündigte an, bis Ende {month} weitere Einsparungen vorzulegen. Betroffen sind vor allem die "
    "Standorte in {city} und im Ausland.",
    "Nach Angaben des Statistischen Bundesamts lag die Teuerung im {month} bei {pct} Prozent. Vor allem "
    "Lebensmittel und Dienstleistungen wurden teurer.",
    "Die Gewerkschaft fordert {pct} Prozent mehr Lohn. Der Vorstand von {co} nennt das „unrealistisch“ – "
    "weitere Warnstreiks sind nicht ausgeschlossen.",
    "Der Deal muss noch von den Wettbewerbsbehörden genehmigt werden. {co} will mit dem Kauf von {co2} "
    "sein Geschäft in {city} stärken.",
    "Die Bundesregierung will damit die {sector} entlasten. Kritiker halten die Pläne für zu teuer, "
    "der Bund der Steuerzahler spricht von einem „Blindflug“.",
    "Für Verbraucher bedeutet das: höhere Preise an der Kasse. Händler wie {co} und {co2} haben bereits "
    "reagiert.",
    "Der Aufsichtsrat tagt am Mittwoch in {city}. Über die Personalie wird seit Wochen spekuliert.",
    "Anleger reagierten verschreckt, der Kurs fiel zeitweise um {pct} Prozent. Im Dax war das der größte "
    "Verlust des Tages.",
]
TRENDS = ["hellt sich überraschend auf", "trübt sich weiter ein", "bleibt angespannt", "erholt sich leicht"]
TRENDS2 = ["steigt leicht", "sinkt überraschend", "stagniert", "steigen wieder", "fallen weiter"]
DAX = ["im Plus", "im Minus", "auf Rekordhoch", "kaum verändert"]
EZB = ["senkt", "erhöht", "belässt nicht", "lässt unverändert"]
STRIKES = ["Tausende Reisende betroffen", "Bänder stehen still", "Verhandlungen gescheitert", "Einigung in Sicht"]
QUOTES = ["Wir müssen schneller werden", "Das Tal ist durchschritten", "Deutschland ist zu teuer",
          "Wir investieren weiter in Europa", "Die Lage ist ernst"]
POLICIES = ["Entlastungen für Pendler", "eine Reform der Schuldenbremse", "Subventionen für Chipfabriken",
            "niedrigere Netzentgelte", "ein Sondervermögen für Infrastruktur", "schärfere Regeln für Banken"]
MOODS = ["zuversichtlicher", "skeptischer", "gelassen", "besorgt"]

# The TikTok sale in varied German wording (the bidders are the configured ones).
BIDDER_GROUPS = ["Oracle und Silver Lake", "Oracle", "Microsoft", "Walmart", "Project Liberty",
                 "eine Investorengruppe um Larry Ellison", "Kevin O'Leary", "Perplexity", "MGX",
                 "Blackstone", "Andreessen Horowitz", "Amazon", "AppLovin", "ein Konsortium um Frank McCourt"]
SALE_TITLES = [
    "TikTok-Verkauf: {bidder} legt Angebot vor",
    "Bytedance verhandelt über Verkauf des US-Geschäfts von TikTok",
    "Zwangsverkauf von TikTok: Frist läuft am {day}. {month} ab",
    "Trump verlängert Frist für Tiktok-Verkauf erneut",
    "Tiktok-Deal: {bidder} steht vor dem Zuschlag",
    "US-Regierung billigt Übernahme von TikTok USA",
    "Wer kauft TikTok? {bidder} im Rennen",
    "Joint Venture für TikTok in den USA nimmt Gestalt an",
    "Peking stimmt TikTok-Deal zu – {bidder} dabei",
    "Tik Tok: Käufer für US-Sparte gefunden",
    "Bytedance-Verkauf: Gespräche mit {bidder} gehen weiter",
    "TikTok-Übernahme: {bidder} erhöht das Gebot",
    "Neue Bieter für TikTok: {bidder} zeigt Interesse",
    "Tiktok USA: Investoren unterzeichnen Vertrag über Mehrheit",
]
SALE_TEASERS = [
    "Die Verhandlungen über den Verkauf der US-Sparte der Videoplattform ziehen sich hin. Laut Insidern "
    "soll {bidder} einen Anteil von {pct} Prozent übernehmen.",
    "Das Weiße Haus drängt auf einen schnellen Abschluss. Bytedance soll nur noch eine Minderheit an der App "
    "halten, {bidder} die Algorithmen kontrollieren.",
    "Ohne einen Käufer droht der App in den USA das Aus. Die Frist für den Zwangsverkauf endet im {month}.",
    "Der chinesische Mutterkonzern Bytedance muss sich von dem US-Geschäft trennen. Im Gespräch ist eine "
    "Bewertung von {amount} Milliarden Dollar.",
    "Wie mehrere US-Medien berichten, hat {bidder} ein Gebot eingereicht. Eine Entscheidung wird bis Ende "
    "{month} erwartet.",
]
OTHER_TIKTOK = [
    ("TikTok führt neue Jugendschutz-Funktionen ein", "Eltern sollen künftig die Bildschirmzeit besser "
     "steuern können. Kritiker halten die Änderungen für unzureichend."),
    ("TikTok Shop startet in Deutschland", "Nutzer können künftig direkt in der App einkaufen. Händler "
     "hoffen auf junge Kundschaft, Verbraucherschützer warnen."),
    ("EU verhängt Bußgeld gegen TikTok", "Die Kommission wirft der Plattform Verstöße gegen den Digital "
     "Services Act vor. Das Unternehmen will Einspruch einlegen."),
    ("Instagram kopiert erneut eine TikTok-Funktion", "Meta testet ein neues Format für Kurzvideos. "
     "Influencer reagieren gespalten."),
]


def _fill(rng: random.Random, template: str) -> str:
    co, co2 = rng.sample(COMPANIES, 2)
    return template.format(
        co=co, co2=co2, q=rng.choice(QUARTERS), pct=f"{rng.randint(1, 19)},{rng.randint(0, 9)}",
        n=rng.choice([300, 800, 1200, 2500, 4000, 7000, 11000]), sector=rng.choice(SECTORS),
        trend=rng.choice(TRENDS), trend2=rng.choice(TRENDS2), amount=f"{rng.randint(1, 40)},{rng.randint(0, 9)}",
        month=rng.choice(MONTHS), dax=rng.choice(DAX), ezb=rng.choice(EZB), bp=rng.choice([25, 50]),
        strike=rng.choice(STRIKES), person=rng.choice(PEOPLE), quote=rng.choice(QUOTES),
        policy=rng.choice(POLICIES), city=rng.choice(CITIES), mood=rng.choice(MOODS),
        bidder=rng.choice(BIDDER_GROUPS), day=rng.randint(1, 28))


def _slug(text: str) -> str:
    out = []
    for ch in text.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})):
        out.append(ch if ch.isascii() and ch.isalnum() else "-")
    return "-".join(p for p in "".join(out).split("-") if p)[:80]


class FeedFarm:
    """All feed documents; pure functions of (seed, feed index, head)."""

    def __init__(self, feeds: int, items: int, seed: int = 20260901):
        self.n_feeds, self.n_items, self.seed = feeds, items, seed
        self.meta = [self._feed_meta(i) for i in range(feeds)]
        self.heads = [items] * feeds
        self._item_cache: dict[tuple[int, int], str] = {}
        self.bodies: list[bytes] = [b""] * feeds
        self.gzipped: list[bytes] = [b""] * feeds
        self.etags: list[str] = [""] * feeds
        self.modified: list[str] = [""] * feeds
        self._base: list[tuple[bytes, bytes, str, str]] = []
        for i in range(feeds):
            self._render(i)
            self._base.append((self.bodies[i], self.gzipped[i], self.etags[i], self.modified[i]))

    def names(self) -> list[str]:
        return [m["name"] for m in self.meta]

    def _feed_meta(self, i: int) -> dict:
        rng = random.Random(f"{self.seed}/feed/{i}")
        outlet, domain = OUTLETS[i % len(OUTLETS)]
        section = SECTIONS[(i // len(OUTLETS)) % len(SECTIONS)]
        serial = i // (len(OUTLETS) * len(SECTIONS))
        name = f"{outlet} {section}" + (f" {serial + 1}" if serial else "")
        return {
            "name": name, "domain": domain, "section": _slug(section),
            "step": rng.randint(8, 60),               # minutes between items
            "offset": rng.randint(0, 24 * 60),        # minutes after EPOCH of item 0
            "language": rng.choice(["de", "de-DE", "de-de", "de"]),
            "html": rng.choice(["escaped", "cdata", "cdata", "plain"]),  # how teasers carry markup
            "content": rng.random() < 0.2,            # also content:encoded
            "permalink_guid": rng.random() < 0.6,
            "tz": rng.choice([0, 1, 2]),
        }

    def item_xml(self, i: int, seq: int) -> str:
        key = (i, seq)
        cached = self._item_cache.get(key)
        if cached is None:
            cached = self._item_cache[key] = self._make_item(i, seq)
        return cached

    def _make_item(self, i: int, seq: int) -> str:
        m = self.meta[i]
        rng = random.Random(f"{self.seed}/item/{i}/{seq}")
        roll = rng.random()
        if roll < TIKTOK_SALE_SHARE:
            title, teaser, category = _fill(rng, rng.choice(SALE_TITLES)), _fill(rng, rng.choice(SALE_TEASERS)), "Digitales"
        elif roll < TIKTOK_SALE_SHARE + TIKTOK_OTHER_SHARE:
            title, teaser = rng.choice(OTHER_TIKTOK)
            category = "Digitales"
        else:
            title, teaser = _fill(rng, rng.choice(GENERIC_TITLES)), _fill(rng, rng.choice(GENERIC_TEASERS))
            if rng.random() < 0.4:
                teaser += " " + _fill(rng, rng.choice(GENERIC_TEASERS))
            category = rng.choice(CATEGORIES)
        art = hashlib.md5(f"{self.seed}/{i}/{seq}".encode()).hexdigest()
        path = f"https://{m['domain']}/{m['section']}/{_slug(title)}-a-{art[:8]}-{art[8:12]}-{art[12:24]}"
        link = f"{path}?utm_source=rss&utm_medium=feed&utm_campaign={m['section']}"
        when = EPOCH + timedelta(minutes=m["offset"] + seq * m["step"] + rng.randint(0, m["step"] // 2))
        tz = timezone(timedelta(hours=m["tz"]))
        pub = format_datetime(when.astimezone(tz)) if m["tz"] else format_datetime(when, usegmt=True)
        image = f"https://cdn.{m['domain'].removeprefix('www.')}/images/{art[:16]}_w520_r1.77.jpg"
        lead = teaser.split(". ")[0]
        html = (f'<p><img src="{image}" alt="{escape(title)}" width="520" height="293" />'
                f'{teaser.replace(lead, f"<b>{lead}</b>", 1)} <a href="{path}">Mehr lesen</a></p>')
        if m["html"] == "escaped":
            description = escape(html, quote=False)
        elif m["html"] == "cdata":
            description = f"<![CDATA[{html}]]>"
        else:
            description = escape(teaser.replace("&amp;", "&"), quote=False)
        guid = (f"<guid>{path}</guid>" if m["permalink_guid"]
                else f'<guid isPermaLink="false">{m["domain"]}-{i}-{seq}-{art[:10]}</guid>')
        parts = [
            "<item>",
            f"<title>{escape(title, quote=False)}</title>",
            f"<link>{escape(link, quote=False)}</link>",
            f"<description>{description}</description>",
            guid,
            f"<pubDate>{pub}</pubDate>",
            f"<category>{category}</category>",
            f"<dc:creator>{rng.choice(['dpa', 'Reuters', 'AFP', 'dpa-AFX', 'Redaktion', rng.choice(PEOPLE)])}</dc:creator>",
        ]
        if rng.random() < 0.5:
            parts.append(f'<enclosure type="image/jpeg" length="0" url="{image}" />')
        if m["content"]:
            body = "".join(f"<p>{escape(_fill(rng, rng.choice(GENERIC_TEASERS)).replace('&amp;', '&'), quote=False)}</p>"
                           for _ in range(3))
            parts.append(f"<content:encoded><![CDATA[{html}{body}]]></content:encoded>")
        parts.append("</item>")
        return "\n".join(parts)

    def _render(self, i: int) -> None:
        m, head = self.meta[i], self.heads[i]
        newest = EPOCH + timedelta(minutes=m["offset"] + head * m["step"])
        build = format_datetime(newest, usegmt=True)
        items = "\n".join(self.item_xml(i, seq) for seq in range(head, max(0, head - self.n_items), -1))
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
            f"<title>{escape(m['name'])}</title>\n<link>https://{m['domain']}/{m['section']}/</link>\n"
            f"<description>Aktuelle Nachrichten aus {escape(m['name'])}</description>\n"
            f"<language>{m['language']}</language>\n<lastBuildDate>{build}</lastBuildDate>\n<ttl>10</ttl>\n"
            f'<atom:link href="https://{m["domain"]}/{m["section"]}/index.rss" rel="self" type="application/rss+xml" />\n'
            f"<image><title>{escape(m['name'])}</title><link>https://{m['domain']}/</link>"
            f"<url>https://{m['domain']}/logo.png</url></image>\n"
            f"{items}\n</channel>\n</rss>\n"
        )
        body = doc.encode("utf-8")
        self.bodies[i] = body
        self.gzipped[i] = gzip.compress(body, compresslevel=6, mtime=0)
        self.etags[i] = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        self.modified[i] = formatdate((newest - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds(), usegmt=True)

    def bump(self, feeds: list[int], new_items: int) -> None:
        for i in feeds:
            self.heads[i] += new_items
            self._render(i)

    def reset(self) -> None:
        self.heads = [self.n_items] * self.n_feeds
        for i, (body, gz, etag, modified) in enumerate(self._base):
            self.bodies[i], self.gzipped[i], self.etags[i], self.modified[i] = body, gz, etag, modified
        # items beyond the base set are regenerated on demand; drop them to keep the server small
        self._item_cache = {k: v for k, v in self._item_cache.items() if k[1] <= self.n_items}


# --- the server ------------------------------------------------------------------------------

class _Http(asyncio.Protocol):
    """Minimal HTTP/1.1 with keep-alive: GET /feed/<i>.rss, and /_ctl/* for the benchmark."""

    def __init__(self, server: "_Server"):
        self.server = server
        self.buf = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            method, target, _ = (lines[0].split(" ") + ["", ""])[:3]
            status, out_headers, payload = self.server.answer(method, target, headers, body)
            head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}", "Server: feedfarm",
                    f"Content-Length: {len(payload)}"]
            head += [f"{k}: {v}" for k, v in out_headers.items()]
            close = headers.get("connection", "").lower() == "close"
            if close:
                head.append("Connection: close")
            self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
            if close:
                self.transport.close()
                self.transport = None


_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 400: "Bad Request"}


class _Server:
    def __init__(self, farm: FeedFarm, use_gzip: bool):
        self.farm = farm
        self.use_gzip = use_gzip
        self.stats: dict[int, int] = {}
        self.bytes_sent = 0

    def answer(self, method: str, target: str, headers: dict, body: bytes):
        path = urlsplit(target).path
        if path.startswith("/_ctl/"):
            return self.control(path[6:], json.loads(body or b"{}"))
        if not (path.startswith("/feed/") and path.endswith(".rss")):
            return self._count(404, {"Content-Type": "text/plain"}, b"not found")
        try:
            i = int(path[6:-4])
            farm_body = self.farm.bodies[i]
        except (ValueError, IndexError):
            return self._count(404, {"Content-Type": "text/plain"}, b"not found")
        etag = self.farm.etags[i]
        common = {"ETag": etag, "Last-Modified": self.farm.modified[i], "Cache-Control": "max-age=60",
                  "Vary": "Accept-Encoding"}
        inm = headers.get("if-none-match")
        if inm is not None:
            if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                return self._count(304, common, b"")
        elif headers.get("if-modified-since") == self.farm.modified[i]:
            return self._count(304, common, b"")
        out = {"Content-Type": "application/rss+xml; charset=utf-8", **common}
        if self.use_gzip and "gzip" in headers.get("accept-encoding", ""):
            out["Content-Encoding"] = "gzip"
            return self._count(200, out, self.farm.gzipped[i])
        return self._count(200, out, farm_body)

    def _count(self, status, headers, payload):
        self.stats[status] = self.stats.get(status, 0) + 1
        self.bytes_sent += len(payload)
        return status, headers, payload

    def control(self, what: str, args: dict):
        if what == "reset":
            self.farm.reset()
        elif what == "bump":
            self.farm.bump(list(args["feeds"]), int(args["new_items"]))
        elif what == "stats":
            pass
        else:
            return 404, {}, b"unknown control"
        reply = {"stats": {str(k): v for k, v in self.stats.items()}, "bytes": self.bytes_sent}
        if args.get("clear_stats"):
            self.stats, self.bytes_sent = {}, 0
        return 200, {"Content-Type": "application/json"}, json.dumps(reply).encode()


def serve(feeds: int, items: int, seed: int, hosts: int, use_gzip: bool, ready) -> None:
    """Process entry point: build the farm, listen on `hosts` ports plus a control port, report, serve."""
    farm = FeedFarm(feeds, items, seed)
    server = _Server(farm, use_gzip)

    async def main():
        loop = asyncio.get_running_loop()
        ports = []
        for _ in range(hosts + 1):
            srv = await loop.create_server(lambda: _Http(server), "127.0.0.1", 0, backlog=512)
            ports.append(srv.sockets[0].getsockname()[1])
        ready.send({"ports": ports, "names": farm.names(),
                    "bytes": sum(len(b) for b in farm.bodies), "gzip_bytes": sum(len(b) for b in farm.gzipped)})
        ready.close()
        await asyncio.Event().wait()

    asyncio.run(main())


class FarmClient:
    """The benchmark's handle on the server process: feed URLs and control calls."""

    def __init__(self, info: dict, feeds: int, hosts: int):
        self.ports = info["ports"]
        self.names = info["names"]
        self.info = info
        per_host = -(-feeds // hosts)
        # Consecutive feeds share a host, as an outlet's sections do in a real configuration.
        self.urls = [f"http://127.0.0.1:{self.ports[i // per_host]}/feed/{i}.rss" for i in range(feeds)]
        self.control_url = f"http://127.0.0.1:{self.ports[-1]}/_ctl/"

    @staticmethod
    def call(control_url: str, what: str, **args) -> dict:
        req = urllib.request.Request(control_url + what, data=json.dumps(args).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())
