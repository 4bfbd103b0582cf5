"""Turn feed HTML and odd Unicode into clean plain text, and canonicalise links."""
from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import lxml.html
from lxml.etree import ParserError

# Zero-width, bidi-override and control characters: invisible in a chat but able to
# reorder or hide text, so a hostile title must lose them before anyone sees it.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_DROP = ("script", "style", "noscript", "template", "iframe", "object", "svg", "head")
_BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
                    "td", "th", "table", "blockquote", "figure", "figcaption", "section", "article",
                    "header", "footer", "img", "hr", "dd", "dt", "pre"})
_TRACKING = re.compile(r"^(utm_|at_|wt_|mc_|pk_|ns_|itm_|oly_|_hs)|^(fbclid|gclid|dclid|msclkid|xtor|"
                       r"cmpid|ref|ref_src|referrer|icid|ito|yclid|igshid|smid|feature|rss|source|"
                       r"wt\.mc_id|ocid|ncid|campaign|newsletter)$", re.I)


def fold(text: str) -> str:
    """Normalise Unicode, drop invisible characters and fold all whitespace to single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    return _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: scripts dropped, entities decoded, blocks separated."""
    if not markup:
        return ""
    if "<" not in markup:
        text = html.unescape(markup)
        # Double-escaped markup (&amp;lt;p&amp;gt;) only turns into tags after one unescape.
        return html_to_text(text) if _TAG.search(text) else fold(text)
    markup = _INVISIBLE.sub("", markup)
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (ParserError, ValueError):
        return fold(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    for bad in [el for el in root.iter(*_DROP)]:
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag in _BLOCK:
            el.tail = " " + (el.tail or "")
    # Double-escaped feeds (&amp;amp;) leave entities behind after one parse.
    return fold(html.unescape(root.text_content()) if "&" in markup else root.text_content())


def canonical_link(url: str) -> str:
    """The link without tracking parameters or fragment, so one article has one address."""
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(sorted(query)), ""))


def safe_link(url: str) -> str:
    """Only http(s) links reach a chat; a javascript: or data: link becomes empty."""
    url = fold(url)
    return url if url.lower().startswith(("http://", "https://")) else ""


def truncate(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut, for titles that are absurdly long."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:-") + "…"
