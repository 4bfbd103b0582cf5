"""`dealticker classify`: one JSON answer per JSON line, always valid UTF-8, bounded work per line."""
from __future__ import annotations

import json
import logging
import math
import re
from typing import BinaryIO, Iterator

from bot.config import Config
from bot.parse import MAX_TEASER, MAX_TITLE
from bot.text import truncate

log = logging.getLogger(__name__)

# Title and summary are cut to the lengths feed items are cut to (bot/parse.py), so one line
# costs what one feed item costs. A line may still carry a whole article, every character
# escaped: 1 MiB holds that, and reading, decoding and parsing it takes milliseconds. The rest
# of a longer line is read in small pieces and dropped, so memory stays bounded too.
MAX_LINE_BYTES = 1 << 20
_SKIP_CHUNK = 1 << 16
_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,4}")
# json.loads turns "\ud800" into a lone surrogate, which no UTF-8 text can hold.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lines(stream: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """Each line's bytes, or None for a line longer than `limit` bytes (its rest is skipped)."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:
                rest = stream.readline(_SKIP_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield line


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _text(item: dict, key: str, limit: int) -> str:
    value = item.get(key) or ""
    if not isinstance(value, str):
        raise ValueError("title and summary must be strings")
    return truncate(_SURROGATE.sub("\ufffd", value), limit)


def _parse(raw: bytes, first: bool) -> tuple[object, dict, str | None]:
    """(id, object, why the bytes are not UTF-8) of one line; ValueError when there is no object."""
    try:
        text, undecodable = raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        # Decode anyway, to answer with the line's id; the bytes themselves are never echoed.
        text = raw.decode("utf-8", "replace")
        undecodable = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    item = json.loads(text.removeprefix("\ufeff") if first else text, parse_constant=_no_constant)
    if not isinstance(item, dict):
        raise ValueError("each line must be a JSON object")
    ident = item.get("id")
    if isinstance(ident, bool) or not (ident is None or isinstance(ident, (str, int))
                                       or (isinstance(ident, float) and math.isfinite(ident))):
        raise ValueError("id must be a string or a number")
    return _SURROGATE.sub("\ufffd", ident) if isinstance(ident, str) else ident, item, undecodable


def _fields(item: dict) -> tuple[str, str, str | None]:
    """(title, summary, lang), cut to the lengths of feed items; ValueError names what is wrong."""
    lang = item.get("lang")
    if lang is not None and not (isinstance(lang, str) and _LANG.fullmatch(lang)):
        raise ValueError("lang must be a language code such as \"de\"")
    title, summary = _text(item, "title", MAX_TITLE), _text(item, "summary", MAX_TEASER)
    if not title.strip() and not summary.strip():
        raise ValueError("title and summary are both empty")
    return title, summary, lang


def _encode(answer: dict) -> bytes:
    try:
        return (json.dumps(answer, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate left somewhere: \u escapes keep the output UTF-8
        return (json.dumps(answer, ensure_ascii=True) + "\n").encode("ascii")


def classify_stream(config: Config, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Answer each non-blank line with a result or an error line; return how many lines were bad."""
    from bot.pipeline import Analyser

    analyser = Analyser(config)
    bad = 0
    for number, raw in enumerate(_lines(stdin, MAX_LINE_BYTES), 1):
        if raw is not None and not raw.strip():
            continue
        ident: object = number
        try:
            if raw is None:
                raise ValueError(f"longer than {MAX_LINE_BYTES} bytes; one line holds one item "
                                 f"(title up to {MAX_TITLE}, summary up to {MAX_TEASER} characters are read)")
            found, item, undecodable = _parse(raw, number == 1)
            ident = number if found is None else found
            if undecodable:
                raise ValueError(undecodable)
            title, summary, lang = _fields(item)
            a = analyser.analyse(title, summary, lang, always_detect=True)
            answer = {"id": ident, "relevant": a.verdict.relevant, "score": a.verdict.score,
                      "language": a.language, "bidders": [{"name": b.name, "role": b.role} for b in a.bidders],
                      "summary": a.summary, "reasons": list(a.verdict.reasons)}
        except RecursionError:
            bad += 1
            answer = {"id": ident, "error": f"line {number}: nested too deeply"}
        except ValueError as exc:  # json.JSONDecodeError is one too
            bad += 1
            answer = {"id": ident, "error": f"line {number}: {exc}"}
        except Exception as exc:  # one hostile line must not end the stream
            log.error("classify: line %d failed: %s: %s", number, type(exc).__name__, exc,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            bad += 1
            answer = {"id": ident, "error": f"line {number}: {type(exc).__name__}: {exc}"}
        stdout.write(_encode(answer))
        stdout.flush()
    return bad
