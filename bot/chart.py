"""The /bidders race chart: one row per bidder, its status over time in colour, as a small PNG."""
from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from PIL import Image as Picture, ImageDraw, ImageFont

from bot.messages import MONTHS, Image
from bot.models import BidderStanding, Sighting
from bot.statuses import STATUSES, colour, label

log = logging.getLogger(__name__)
MAX_ROWS = 30  # bidders drawn; the image says how many more there are
CHANGES = 50  # status changes read per bidder: the race rarely has more than a handful each
WIDTH, ROW, TOP = 800, 28, 34  # the title takes the first TOP pixels, then one ROW per bidder
PLOT_LEFT, PLOT_RIGHT = 200, WIDTH - 24  # the names sit left of the timeline
BAR = 16  # a segment's height, centred in its row
INK, MUTED, STRIPE, GRID = "#222222", "#6E6E6E", "#F4F4F4", "#D9D9D9"
# Pillow's built-in scalable font has no umlauts, and slim images have no system fonts: a cut-down
# DejaVu Sans ships with the package (bot/fonts/LICENSE says how it was cut). These are its characters.
COVERED = ((0x20, 0x7E), (0xA0, 0xFF), (0x2013, 0x2014), (0x2018, 0x201E), (0x2022, 0x2022), (0x2026, 0x2026),
           (0x20AC, 0x20AC), (0x2192, 0x2192))
# (unit, step, label format) from the finest up: the first that gives few enough ticks is used.
STEPS = (("hours", 1, "%d.%m. %H:%M"), ("hours", 3, "%d.%m. %H:%M"), ("hours", 6, "%d.%m. %H:%M"),
         ("hours", 12, "%d.%m. %H:%M"), ("days", 1, "%d.%m.%Y"), ("days", 2, "%d.%m.%Y"), ("days", 7, "%d.%m.%Y"),
         ("days", 14, "%d.%m.%Y"), ("months", 1, ""), ("months", 2, ""), ("months", 3, ""), ("months", 6, ""),
         ("months", 12, ""), ("months", 24, ""), ("months", 60, ""))


@dataclass(frozen=True)
class Row:
    name: str
    changes: tuple[tuple[datetime, str | None], ...]  # when each status began (aware), oldest first
    confirmed: bool = True  # named by a second outlet; unconfirmed ones are drawn with their name greyed


def race_image(standings: Sequence[BidderStanding], timeline: Callable[[str], list[Sighting]], tz: str,
               deal: str) -> Image | None:
    """The picture for /bidders, its rows in the table's order (confirmed first); None when fewer
    than two bidders have a dated change, or when it could not be made (logged: the table still goes)."""
    ordered = sorted(standings, key=lambda b: not b.confirmed)  # stable: as messages.standings_reply orders
    try:
        rows = [Row(b.name, tuple((s.published, s.status) for s in timeline(b.name)), b.confirmed)
                for b in ordered[:MAX_ROWS]]
        dated = sum(1 for r in rows if r.changes)
        if dated < 2:
            log.info("no race chart for /bidders: %d of %d bidders have a dated status change", dated, len(rows))
            return None
        png = render(rows, tz, f"Bieter im {deal}: Verlauf", more=len(ordered) - len(rows))
    except Exception:
        log.exception("race chart for /bidders failed (%d bidders); the table goes out without it", len(ordered))
        return None
    first, last = _range(rows)
    zone = ZoneInfo(tz)
    when = f"{first.astimezone(zone):%d.%m.%Y} bis {last.astimezone(zone):%d.%m.%Y}"
    states = "; ".join(f"{r.name}: {' → '.join(label(s) for _, s in r.changes)}" for r in rows if r.changes)
    alt = f"Zeitleiste der Bieter vom {when}. {states}"
    return Image(png, f"Verlauf der Bieter, {when}", alt if len(alt) <= 1000 else alt[:999] + "…")


def render(rows: Sequence[Row], tz: str, title: str = "", more: int = 0) -> bytes:
    """The chart as PNG bytes, the same bytes for the same rows. Raises ValueError with fewer than
    two rows that have a dated change: one bar is no race."""
    if sum(1 for r in rows if r.changes) < 2:
        raise ValueError("a race chart needs at least two bidders with a dated status change")
    zone = ZoneInfo(tz)
    regular, bold = _font("DejaVuSans.ttf", 13), _font("DejaVuSans-Bold.ttf", 14)
    start, end = span(rows)
    keys = [s.key for s in STATUSES if any(k == s.key for r in rows for _, k in r.changes)]
    keys += [None] if any(k is None for r in rows for _, k in r.changes) else []
    axis = TOP + ROW * len(rows)
    legend = _legend_lines(keys, regular)
    height = axis + 30 + 20 * len(legend) + (20 if more else 0) + 4
    image = Picture.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((12, TOP // 2), _drawable(title), font=bold, fill=INK, anchor="lm")

    def x(when: datetime) -> int:
        return round(PLOT_LEFT + (when - start) / (end - start) * (PLOT_RIGHT - PLOT_LEFT))

    for i in range(1, len(rows), 2):
        draw.rectangle((0, TOP + i * ROW, WIDTH - 1, TOP + (i + 1) * ROW - 1), fill=STRIPE)
    ticks = _ticks(start, end, zone, (PLOT_RIGHT - PLOT_LEFT) // 100)
    for when, text in ticks:
        draw.line((x(when), TOP, x(when), axis + 4), fill=GRID)
        width = regular.getlength(text)
        centre = min(max(x(when), PLOT_LEFT - 20 + width / 2), WIDTH - 4 - width / 2)
        draw.text((centre, axis + 7), text, font=regular, fill=MUTED, anchor="mt")
    draw.line((PLOT_LEFT, axis, PLOT_RIGHT, axis), fill=MUTED)
    split = sum(1 for r in rows if r.confirmed)
    if 0 < split < len(rows):
        draw.line((0, TOP + split * ROW, WIDTH - 1, TOP + split * ROW), fill=MUTED)
    for i, row in enumerate(rows):
        middle = TOP + i * ROW + ROW // 2
        mark = "" if row.confirmed else " (neu)"  # not yet named by a second outlet, as the table says
        name = _fitted(row.name, regular, PLOT_LEFT - 24 - round(regular.getlength(mark))) + mark
        draw.text((12, middle), name, font=regular, fill=INK if row.confirmed else MUTED, anchor="lm")
        changes = sorted(row.changes, key=lambda c: c[0])
        for k, (when, key) in enumerate(changes):
            left = x(when)
            right = x(changes[k + 1][0]) - 1 if k + 1 < len(changes) else PLOT_RIGHT  # 1 px gap between
            draw.rectangle((left, middle - BAR // 2, max(right, left + 2), middle + BAR // 2 - 1), fill=colour(key))
    top = axis + 30
    for line in legend:
        left = PLOT_LEFT
        for key, text in line:
            draw.rectangle((left, top, left + 11, top + 11), fill=colour(key))
            draw.text((left + 17, top + 6), text, font=regular, fill=INK, anchor="lm")
            left += 17 + round(regular.getlength(text)) + 18
        top += 20
    if more:
        draw.text((12, top + 6), f"… und {more} weitere, die zuletzt seltener genannt wurden", font=regular,
                  fill=MUTED, anchor="lm")
    out = io.BytesIO()
    # Every pixel is one of a few dozen colours: as a palette PNG it is less than half the bytes and
    # encodes 3x faster than RGB. zlib level 6: level 9 took 5x as long for a fifth fewer bytes.
    image.quantize(palette=_palette(), dither=Picture.Dither.NONE).save(out, "PNG")
    return out.getvalue()


def _palette() -> Picture.Image:
    """The chart's colours, and the shades text takes when its edges are smoothed onto the background:
    each pixel maps to the nearest, so the status colours stay exact."""
    solid = [_rgb(c) for c in ("#FFFFFF", STRIPE, GRID, MUTED, INK, colour(None), *(s.colour for s in STATUSES))]
    shades = [tuple(round(back[i] + (ink[i] - back[i]) * step / 16) for i in range(3))
              for back in solid[:2] for ink in (_rgb(INK), _rgb(MUTED)) for step in range(1, 16)]
    palette = Picture.new("P", (1, 1))
    palette.putpalette([v for c in dict.fromkeys(solid + shades) for v in c])
    return palette


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def span(rows: Sequence[Row]) -> tuple[datetime, datetime]:
    """The timeline's ends: the first dated change, and a little after the last one so that every
    bidder's current status shows as a bar (a day after it when all changes fall at one moment)."""
    first, last = _range(rows)
    return first, last + max((last - first) * 0.04, timedelta(hours=12))


def _range(rows: Sequence[Row]) -> tuple[datetime, datetime]:
    times = [when for r in rows for when, _ in r.changes]
    return min(times), max(times)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(io.BytesIO((resources.files("bot") / "fonts" / name).read_bytes()), size)


def _drawable(text: str) -> str:
    """The text in the shipped font's characters: accents it lacks dropped ("Łódź" -> "Lodz"), anything
    else (CJK, emoji) a "?", rather than the empty boxes the font would draw."""
    out = []
    for ch in text:
        if not _covered(ch):
            base = unicodedata.normalize("NFKD", ch)[:1]
            ch = base if base and _covered(base) else {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o"}.get(ch, "?")
        out.append(ch)
    return "".join(out)


def _covered(ch: str) -> bool:
    return any(low <= ord(ch) <= high for low, high in COVERED)


def _fitted(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    text = _drawable(text)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _legend_lines(keys: list[str | None], font: ImageFont.FreeTypeFont) -> list[list[tuple[str | None, str]]]:
    """The statuses shown, in their defined order, wrapped into lines under the timeline."""
    lines: list[list[tuple[str | None, str]]] = [[]]
    left = PLOT_LEFT
    for key in keys:
        text = label(key)
        width = 17 + round(font.getlength(text)) + 18
        if lines[-1] and left + width > WIDTH:
            lines.append([])
            left = PLOT_LEFT
        lines[-1].append((key, text))
        left += width
    return lines


def _ticks(start: datetime, end: datetime, zone: ZoneInfo, most: int) -> list[tuple[datetime, str]]:
    """Date ticks at whole local hours, days or months, the finest step that gives at most `most`."""
    hours = (end - start) / timedelta(hours=1)
    for unit, step, form in STEPS:
        if hours / (step * {"hours": 1, "days": 24, "months": 730}[unit]) > most + 1:
            continue  # far too many: not worth walking through
        ticks = list(_steps(start, end, zone, unit, step))
        if len(ticks) <= max(most, 2):
            return [(t, t.strftime(form) if form else _month(t)) for t in ticks]
    return []


def _steps(start: datetime, end: datetime, zone: ZoneInfo, unit: str, step: int):
    local = start.astimezone(zone)
    if unit == "hours":
        when = datetime.combine(local.date(), time(local.hour - local.hour % step), zone)
        while when <= end:
            if when >= start:
                yield when
            when = (when.astimezone(ZoneInfo("UTC")) + timedelta(hours=step)).astimezone(zone)
    elif unit == "days":
        day = local.date()
        while (when := datetime.combine(day, time(0), zone)) <= end:
            if when >= start and (day - date(2000, 1, 3)).days % step == 0:  # weeks start on Mondays
                yield when
            day += timedelta(days=1)
    else:
        months = local.year * 12 + local.month - 1
        months -= months % step
        while (when := datetime(months // 12, months % 12 + 1, 1, tzinfo=zone)) <= end:
            if when >= start:
                yield when
            months += step


def _month(when: datetime) -> str:
    """"Sep. 2020", "März 2020": the short German month names, cut from MONTHS."""
    name = MONTHS[when.month - 1]
    return f"{name if len(name) <= 4 else name[:3] + '.'} {when.year}"
