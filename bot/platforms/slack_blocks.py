"""Replies as Slack Block Kit: mrkdwn sections within Slack's limits, and the notification's fallback text."""
from __future__ import annotations

from bot.messages import Reply, Span, fit

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000  # Slack advises at most 4,000 characters of top-level text


def escape(text: str) -> str:
    """mrkdwn needs exactly these three escaped; everything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(span: Span) -> str:
    text = escape(span.text)
    if span.style == "bold" and text.strip():
        text = f"*{text.strip()}* " if text.endswith(" ") else f"*{text}*"
    elif span.style == "italic" and text.strip():
        text = f"_{text}_"
    elif span.style == "code":
        text = f"`{text}`"
    if span.url:
        # A link's text may not contain "|" or ">"; the URL may not contain them either.
        url = span.url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
        text = f"<{url}|{text.replace('|', '¦')}>"
    return text


def render_blocks(reply: Reply) -> tuple[str, list[dict]]:
    """Block Kit: a context block for all-italic lines (source and time), sections otherwise; as
    much of the reply as 50 blocks of at most 3,000 characters hold, chosen by messages.fit; plus
    the plain-text fallback notifications show, cut only between lines."""
    reply = fit(reply, _fits)
    blocks = _blocks(reply)[:MAX_BLOCKS]
    for block in blocks:  # only a single paragraph too long for any message is still over the limit
        _text(block)["text"] = _text(block)["text"][:SECTION_LIMIT]
    return _fallback(reply), blocks


def _fits(reply: Reply) -> bool:
    blocks = _blocks(reply)
    return len(blocks) <= MAX_BLOCKS and all(len(_text(b)["text"]) <= SECTION_LIMIT for b in blocks)


def _blocks(reply: Reply) -> list[dict]:
    blocks: list[dict] = []
    for paragraph in reply.paragraphs:
        text = "".join(_mrkdwn(s) for s in paragraph)
        if all(s.style == "italic" for s in paragraph):
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
        elif blocks and blocks[-1]["type"] == "section" and len(blocks) >= MAX_BLOCKS - 1 and \
                len(blocks[-1]["text"]["text"]) + len(text) + 2 <= SECTION_LIMIT:
            blocks[-1]["text"]["text"] += "\n\n" + text
        else:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return blocks


def _text(block: dict) -> dict:
    return block["elements"][0] if block["type"] == "context" else block["text"]


def _fallback(reply: Reply) -> str:
    """The fallback text is mrkdwn too (it is what notifications show): "<!channel>" in a headline
    must not ping anyone. Whole lines up to FALLBACK_LIMIT; "…" marks that more follows."""
    lines, size = [], 0
    for line in escape(reply.plain()).split("\n"):
        if size + len(line) + 1 > FALLBACK_LIMIT - 2:
            return "\n".join(lines + ["…"])
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)
