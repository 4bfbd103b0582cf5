"""The /bidders race chart: a PNG with one row per bidder in the table's order, status colours in place."""
from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import Image as Picture
from sqlalchemy import text

from bot import chart
from bot.chart import PLOT_LEFT, PLOT_RIGHT, ROW, TOP, Row, render, span
from bot.commands import Caller, Commands
from bot.platforms.console import chat_loop
from bot.statuses import STATUSES, colour
from tests.factories import article

PRIVATE = Caller("console", "1")
T0 = datetime(2020, 8, 2, 10, tzinfo=timezone.utc)
RACE = [  # the 2020 round, roughly
    Row("Oracle", ((T0 + timedelta(days=16), "interested"), (T0 + timedelta(days=26), "negotiating"),
                   (T0 + timedelta(days=42), "approved"))),
    Row("Microsoft", ((T0, "negotiating"), (T0 + timedelta(days=25), "bid_submitted"),
                      (T0 + timedelta(days=42), "rejected"))),
    Row("Twitter", ((T0 + timedelta(days=6), None), (T0 + timedelta(days=7), "interested"),
                    (T0 + timedelta(days=27), "withdrawn"))),
    Row("Frank McCourt", ((T0 + timedelta(days=40), "bid_submitted"),), confirmed=False),
]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def decode(png: bytes) -> Picture.Image:
    picture = Picture.open(io.BytesIO(png))
    assert picture.format == "PNG"
    return picture.convert("RGB")


def x_of(rows, when: datetime) -> int:
    start, end = span(rows)
    return round(PLOT_LEFT + (when - start) / (end - start) * (PLOT_RIGHT - PLOT_LEFT))


def bars_at(picture: Picture.Image, x: int, rows: int) -> list[tuple[int, int, int]]:
    """The bar colours met going down the column at x over the rows, one per run of a status colour."""
    palette = {rgb(colour(s.key)) for s in STATUSES} | {rgb(colour(None))}
    runs, last = [], None
    for y in range(TOP, TOP + rows * ROW):
        pixel = picture.getpixel((x, y))
        if pixel in palette and pixel != last:
            runs.append(pixel)
        last = pixel if pixel in palette else None
    return runs


def test_one_row_per_bidder_each_segment_in_its_status_colour_where_it_happened():
    picture = decode(render(RACE, "Europe/Berlin", "Bieter im TikTok-Verkauf: Verlauf"))
    assert picture.width == 800 and TOP + ROW * len(RACE) < picture.height <= TOP + ROW * len(RACE) + 80
    # Down the right edge every bidder shows its current status, in the table's order.
    assert bars_at(picture, PLOT_RIGHT - 2, len(RACE)) == [rgb(colour(k)) for k in ("approved", "rejected", "withdrawn",
                                                                          "bid_submitted")]
    for i, row in enumerate(RACE):
        middle = TOP + i * ROW + ROW // 2
        times = [when for when, _ in row.changes]
        for k, (when, key) in enumerate(row.changes):
            ends = x_of(RACE, times[k + 1]) if k + 1 < len(times) else PLOT_RIGHT
            centre = (x_of(RACE, when) + ends) // 2
            assert picture.getpixel((centre, middle)) == rgb(colour(key)), (row.name, key)
        before = x_of(RACE, times[0]) - 3  # no bar before a bidder's first report
        if before > PLOT_LEFT:
            assert picture.getpixel((before, middle)) not in {rgb(colour(k)) for _, k in row.changes}
    legend = TOP + len(RACE) * ROW + 30  # its first swatch: the first status, in their defined order, drawn
    assert picture.getpixel((PLOT_LEFT + 5, legend + 5)) == rgb(colour("interested"))


def test_the_same_rows_give_the_same_bytes_and_other_rows_other_bytes():
    first = render(RACE, "Europe/Berlin", "Verlauf")
    assert render(RACE, "Europe/Berlin", "Verlauf") == first
    assert render(RACE[:3], "Europe/Berlin", "Verlauf") != first
    assert len(first) < 60_000


def test_thirty_bidders_fit_and_a_long_race_gets_month_ticks():
    rows = [Row(f"Bieter {i} mit einem sehr langen Namen, der nicht in die Spalte passt",
                ((T0 + timedelta(days=11 * i), STATUSES[i % len(STATUSES)].key),
                 (T0 + timedelta(days=11 * i + 30), STATUSES[(i + 1) % len(STATUSES)].key)))
            for i in range(30)]
    picture = decode(render(rows, "Europe/Berlin", more=5))
    assert len(bars_at(picture, PLOT_RIGHT - 2, 30)) == 30
    ticks = chart._ticks(*span(rows), ZoneInfo("Europe/Berlin"), (PLOT_RIGHT - PLOT_LEFT) // 100)
    assert 2 <= len(ticks) <= 5 and all(re.fullmatch(r"(Jan\.|Feb\.|März|Apr\.|Mai|Juni|Juli|Aug\.|Sep\.|Okt\.|"
                                                       r"Nov\.|Dez\.) 20\d\d", label) for _, label in ticks)


def test_fewer_than_two_dated_bidders_is_no_race():
    with pytest.raises(ValueError):
        render(RACE[:1] + [Row("Walmart", ())], "UTC")


def test_the_shipped_font_draws_umlauts_and_names_it_lacks_become_readable():
    font = chart._font("DejaVuSans.ttf", 13)
    missing = font.getmask("\u4e00").getbbox()  # a character the cut-down font does not have
    assert all(font.getmask(ch).getbbox() != missing for ch in "äöüÄÖÜß–…„“")
    assert chart._drawable("Łódź 字节跳动 zurückgezogen") == "Lódz ???? zurückgezogen"


def race(commands):
    commands.store.add_articles([
        article("Microsoft prüft Kauf von Tiktok", hours=0, bidders=(("Microsoft", "interested"),)),
        article("Oracle bietet", "FAZ", hours=2, bidders=(("Oracle", "bid_submitted"),),
                discovered=(("Frank McCourt", "interested"), ("Irrtum AG", "interested"))),
        article("Microsoft verhandelt", "heise", hours=6, bidders=(("Microsoft", "negotiating"),)),
        article("Oracle bekommt Tiktok, Microsoft geht leer aus", hours=28,
                bidders=(("Oracle", "approved"), ("Microsoft", "rejected"))),
    ], 1)


def test_bidders_attaches_the_race_in_the_tables_order_without_hidden_names(commands):
    race(commands)
    deal = dataclasses.replace(commands.config.deal, ignore=("irrtum ag",))
    reply = Commands(dataclasses.replace(commands.config, deal=deal), commands.store).handle(PRIVATE, "/bidders")
    table = [line.split(" – ")[0] for line in reply.plain().split("\n\n")[1:-1]]
    assert table == ["Oracle", "Microsoft", "Frank McCourt"]
    image = reply.image
    assert image.caption == "Verlauf der Bieter, 20.09.2025 bis 21.09.2025"
    assert [part.split(":")[0] for part in image.alt.split(". ", 1)[1].split("; ")] == table
    assert "Microsoft: interessiert → in Verhandlungen → abgelehnt" in image.alt and "Irrtum" not in image.alt
    picture = decode(image.png)
    assert bars_at(picture, PLOT_RIGHT - 2, 3) == [rgb(colour(k)) for k in ("approved", "rejected", "interested")]
    assert commands.handle(PRIVATE, "/bidders Oracle").image is None  # one bidder's timeline: text only


def test_a_single_bidder_gets_the_table_alone_and_a_log_line(commands, caplog):
    commands.store.add_articles([article("Oracle bietet", hours=0, bidders=(("Oracle", "bid_submitted"),))], 1)
    with caplog.at_level(logging.INFO, logger="bot.chart"):
        reply = commands.handle(PRIVATE, "/bidders")
    assert reply.plain().startswith("Bieter im TikTok-Verkauf:") and reply.image is None
    assert "no race chart for /bidders: 1 of 1 bidders have a dated status change" in caplog.text


def test_when_the_picture_cannot_be_made_the_table_still_answers(commands, caplog):
    race(commands)
    with commands.store.engine.begin() as conn:  # the timelines are gone; the standings are not
        conn.execute(text("DROP TABLE status_changes"))
    reply = commands.handle(PRIVATE, "/bidders")
    assert not reply.is_error and reply.plain().split("\n\n")[1].startswith("Oracle – Zuschlag/genehmigt")
    assert reply.image is None
    assert "race chart for /bidders failed (4 bidders); the table goes out without it" in caplog.text


def test_the_console_writes_the_picture_to_a_file_and_prints_its_path(commands):
    race(commands)
    out = io.StringIO()
    chat_loop(commands, io.StringIO("/bidders\n"), out)
    [line] = [line for line in out.getvalue().splitlines() if line.startswith("[Bild: ")]
    path = re.fullmatch(r"\[Bild: Verlauf der Bieter, 20\.09\.2025 bis 21\.09\.2025 – (.+\.png)\]", line).group(1)
    with open(path, "rb") as saved:
        assert decode(saved.read()).width == 800
    os.remove(path)
