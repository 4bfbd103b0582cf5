"""Check the raw TOML tables against the expected schema and limits, and build the frozen Config."""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from bot.config import (DEFAULT_DATABASE_URL, BidderConfig, Config, DealConfig, FeedConfig, PollConfig,
                        ServerConfig, SlackConfig, StorageConfig, TelegramConfig)
from bot.config import env_secret as _secret  # NAME or the file NAME_FILE names
from bot.config_limits import (CHANNEL_FORMS, LIMITS, database_problem, known_time_zones, language_problem,
                               limit_for, listen_problem, term_problem, url_problem, user_agent_problem)
from bot.statuses import KEYS

Problems = list[tuple[str, str]]
Check = Callable[[str], "str | None"]

# Known keys per table, with the Python type expected; ranges are in bot/config_limits.py.
_TOP = {"bot", "poll", "vocabulary", "deal", "feeds", "telegram", "slack", "server", "storage"}
_BOT = {"languages": list, "timezone": str, "retention_days": int, "story_window_hours": int,
        "summary_max_chars": int, "summary_max_sentences": int, "database_url": str}
_POLL = {"interval_seconds": int, "jitter_seconds": int, "timeout_seconds": (int, float),
         "max_bytes": int, "concurrency": int, "per_host": int, "max_backoff_seconds": int,
         "user_agent": str}
# Generic German deal language ([vocabulary]) has these; [deal] adds to them and overrides a term's weight.
_WEIGHTED = ("deal_terms", "drivers", "negative_terms")
_SHARED_LISTS = ("subject_references", "subject_as_buyer", "subject_as_seller", "subject_parts", "merger_terms")
_VOCABULARY = {**{key: dict for key in _WEIGHTED}, **{key: list for key in _SHARED_LISTS}}
_DEAL_LISTS = ("not_bidder_cues", "not_driver_cues", "not_bidders", "ignore")
_DEAL = {"name": str, "subject": list, "bidders": list, "threshold": (int, float), "bidder_weight": (int, float),
         "roles": dict, **dict.fromkeys(_DEAL_LISTS, list), **_VOCABULARY}
_TELEGRAM = {"channels": list, "link_previews": bool, "webhook_listen": str, "webhook_port": int}
_SLACK = {"channels": list, "unfurl_links": bool, "http_listen": str, "http_port": int, "may_subscribe": str}
SLACK_SUBSCRIBERS = ("admins", "anyone")  # [slack] may_subscribe
_FEED = {"name": str, "url": str, "language": str}
_SERVER = {"listen": str, "port": int}
_STORAGE = {"delivery_retention_days": int}
_TYPE_NAMES = {list: "a list like [\"a\", \"b\"]", dict: "a table", str: "a quoted string", bool: "true or false",
               int: "a whole number", (int, float): "a number"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(where: str, key: str) -> str:
    """The path of `key` in `where`, quoted as TOML writes a key like "*verkauf$"."""
    key = key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{where}.{key}" if where else key


def _check_table(raw: Any, where: str, known: dict, problems: Problems) -> dict:
    """The options of one table that have the right type. A value out of its range is reported
    and kept, so that what it contains is checked too (the Config is never used then)."""
    if not isinstance(raw, dict):
        problems.append((where, "must be a table ([" + where + "])"))
        return {}
    out = {}
    for key, value in raw.items():
        path = _key(where, key)
        if key not in known:
            close = [k for k in known if k[:4] == key[:4]]
            hint = f" — did you mean '{close[0]}'?" if close else f" — known keys: {', '.join(sorted(known))}"
            problems.append((path, f"unknown option{hint}"))
            continue
        expected = known[key]
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            problems.append((path, f"must be {_TYPE_NAMES.get(expected, expected)}, not {value!r}"))
            continue
        limit = limit_for(path)
        # An empty list that needs entries gets a message saying what belongs there, further on.
        problem = limit.problem(value) if limit and not (limit.unit == "entries" and not value) else None
        if problem:
            problems.append((path, problem))
        out[key] = value
    return out


def _strings(value: list, where: str, problems: Problems, check: Check | None = term_problem) -> tuple[str, ...]:
    good = []
    for i, item in enumerate(value):
        problem = (f"must be a non-empty string, not {item!r}" if not isinstance(item, str) or not item.strip()
                   else check(item.strip()) if check else None)
        if problem:
            problems.append((f"{where}[{i}]", problem))
        else:
            good.append(item.strip())
    return tuple(good)


def _weights(value: dict, where: str, problems: Problems, negative: bool) -> tuple[tuple[str, float], ...]:
    out, limit = [], LIMITS[f"{where}[]"]
    for term, weight in value.items():
        path = _key(where, term)
        problem = term_problem(term)
        if problem:
            problems.append((path, problem))
        elif isinstance(weight, bool) or not isinstance(weight, (int, float)):
            problems.append((path, f"the weight must be a number, e.g. \"{term}\" = {limit.high}"))
        elif (weight >= 0) if negative else (weight <= 0):
            problems.append((path, f"the weight must be {'negative' if negative else 'positive'} "
                                   f"({limit.text()}), not {weight}"))
        elif limit.problem(weight):
            problems.append((path, f"the weight {limit.problem(weight)}"))
        else:
            out.append((term.strip().lower(), float(weight)))
    return tuple(out)


def _bidders(value: list, problems: Problems) -> tuple[BidderConfig, ...]:
    out, names = [], set()
    for i, item in enumerate(value):
        where = f"deal.bidders[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            problems.append((where, "each bidder needs a name, e.g. { name = \"Oracle\", aliases = [\"Oracle\"] }"))
            continue
        b = _check_table(item, where, {"name": str, "aliases": list}, problems)
        name = b["name"].strip()
        aliases = _strings(b.get("aliases", []), f"{where}.aliases", problems)
        if name.lower() in names:
            problems.append((where, f"bidder '{name}' is listed twice"))
        names.add(name.lower())
        out.append(BidderConfig(name=name, aliases=tuple(dict.fromkeys((name,) + aliases))))
    return tuple(out)


def _roles(value: dict, problems: Problems) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = []
    for role, cues in value.items():
        where = _key("deal.roles", role)
        if role not in KEYS:
            problems.append((where, f"unknown role — roles are {', '.join(KEYS)}"))
        elif not isinstance(cues, list):
            problems.append((where, "must be a list of words that signal this role"))
        else:
            if LIMITS["deal.roles[]"].problem(cues):
                problems.append((where, LIMITS["deal.roles[]"].problem(cues)))
            out.append((role, tuple(c.lower() for c in _strings(cues, where, problems))))
    return tuple(out)


def _words(d: dict, table: str, lists: tuple[str, ...], problems: Problems) -> dict:
    """The weighted tables and the word lists of [vocabulary] or [deal], every term checked. A term gets
    one weight per table: listed as a deal term and a driver, which would count is not obvious."""
    out = {key: _weights(d.get(key, {}), f"{table}.{key}", problems, negative=key == "negative_terms")
           for key in _WEIGHTED}
    seen: dict[str, str] = {}
    for key, term in ((key, term) for key in _WEIGHTED for term, _ in out[key]):
        if seen.setdefault(term, key) != key:
            problems.append((_key(f"{table}.{key}", term), f"is listed in {table}.{seen[term]} too — keep it in one"))
    return out | {k: tuple(c.lower() for c in _strings(d.get(k, []), f"{table}.{k}", problems)) for k in lists}


def _deal(raw: Any, vocabulary: dict, problems: Problems) -> DealConfig | None:
    if raw is None:
        problems.append(("deal", "missing — the [deal] table says which deal to follow"))
        return None
    d = _check_table(raw, "deal", _DEAL, problems)
    subject = _strings(d.get("subject", []), "deal.subject", problems)
    if not subject:
        problems.append(("deal.subject", "needs at least one term naming the company being sold"))
    own = _words(d, "deal", _DEAL_LISTS + _SHARED_LISTS, problems)
    # A term of this deal replaces the generic one, in any table; the deal's lists extend the generic ones.
    mine = {term for key in _WEIGHTED for term, _ in own[key]}
    merged = {key: tuple(t for t in vocabulary[key] if t[0] not in mine) + own[key] for key in _WEIGHTED}
    merged |= {key: tuple(dict.fromkeys(vocabulary[key] + own[key])) for key in _SHARED_LISTS}
    if not merged["deal_terms"]:
        problems.append(("deal.deal_terms", "needs at least one term, e.g. \"übernahme\" = 1.0 (or [vocabulary])"))
    return DealConfig(name=d.get("name", "Deal"), subject=subject, bidders=_bidders(d.get("bidders", []), problems),
                      threshold=float(d.get("threshold", 0.7)), bidder_weight=float(d.get("bidder_weight", 0.4)),
                      roles=_roles(d.get("roles", {}), problems), **{**own, **merged})


def _feeds(raw: Any, problems: Problems) -> tuple[FeedConfig, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(("feeds", "needs at least one [[feeds]] entry with name and url"))
        return ()
    if LIMITS["feeds"].problem(raw):
        problems.append(("feeds", LIMITS["feeds"].problem(raw)))
    out, urls, names = [], set(), set()
    for i, item in enumerate(raw):
        where = f"feeds[{i}]"
        f = _check_table(item, where, _FEED, problems)
        url = f.get("url", "").strip()
        if not url and isinstance(item, dict) and "url" in item and not isinstance(item["url"], str):
            continue  # the wrong type is reported already
        problem = url_problem(url) if url else "missing — each feed needs an http://, https:// or file:// address"
        if problem:
            problems.append((f"{where}.url", f"{url[:100]}: {problem}" if url else problem))
            continue
        # Without a name the address stands in for it, cut to the length a name may have.
        name = f.get("name", "").strip() or url[:int(LIMITS["feeds[].name"].high)]
        for seen, value, field in ((urls, url, "url"), (names, name.casefold(), "name")):
            if value in seen:
                problems.append((f"{where}.{field}", f"{value[:100]} is listed twice"))
            seen.add(value)
        language = f["language"].lower() if "language" in f else None
        if language is not None and language_problem(language):
            problems.append((f"{where}.language", language_problem(language)))
        out.append(FeedConfig(name=name, url=url, language=language))
    return tuple(out)


def _platform(raw: Any, name: str, known: dict, problems: Problems) -> dict:
    """The options shared by both chat platforms: channels in the platform's form and a listen address."""
    options = _check_table(raw, name, known, problems)
    form, example = CHANNEL_FORMS[name]
    options["channels"] = _strings(options.get("channels", []), f"{name}.channels", problems,
                                   lambda c: None if form.fullmatch(c) else f"must be {example}")
    listen = next(k for k in known if k.endswith("_listen"))
    if listen in options and listen_problem(options[listen]):
        problems.append((f"{name}.{listen}", listen_problem(options[listen])))
    return options


def _telegram(raw: Any, env: dict[str, str], problems: Problems) -> TelegramConfig:
    options = _platform(raw, "telegram", _TELEGRAM, problems)
    token = _secret(env, "TELEGRAM_BOT_TOKEN", problems)
    if token and not re.fullmatch(r"\d+:[\w-]{20,}", token):
        problems.append(("TELEGRAM_BOT_TOKEN", "does not look like a bot token (digits, a colon, then 35 "
                                               "characters, as @BotFather gives it)"))
    return TelegramConfig(
        token=token, api_url=env.get("TELEGRAM_API_URL") or None, webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
        webhook_secret=_secret(env, "TELEGRAM_WEBHOOK_SECRET", problems), **options)


def _slack(raw: Any, env: dict[str, str], problems: Problems) -> SlackConfig:
    options = _platform(raw, "slack", _SLACK, problems)
    if options.get("may_subscribe", "admins") not in SLACK_SUBSCRIBERS:
        problems.append(("slack.may_subscribe", "must be \"admins\" (workspace admins and owners) or \"anyone\""))
    bot, app = _secret(env, "SLACK_BOT_TOKEN", problems), _secret(env, "SLACK_APP_TOKEN", problems)
    secret = _secret(env, "SLACK_SIGNING_SECRET", problems)
    if bot and not bot.startswith("xoxb-"):
        problems.append(("SLACK_BOT_TOKEN", "must be the bot token that starts with xoxb-"))
    if app and not app.startswith("xapp-"):
        problems.append(("SLACK_APP_TOKEN", "must be the app-level token that starts with xapp- (Socket Mode)"))
    if bot and not (app or secret):
        problems.append(("SLACK_BOT_TOKEN", "is set, but neither SLACK_APP_TOKEN (Socket Mode) nor "
                                            "SLACK_SIGNING_SECRET (HTTP mode) is"))
    return SlackConfig(bot_token=bot, app_token=app, signing_secret=secret, api_url=env.get("SLACK_API_URL") or None,
                       **options)


def _server(raw: Any, env: dict[str, str], problems: Problems) -> ServerConfig:
    """[server]; DEALTICKER_SERVER_LISTEN switches it on (or off, when empty) without editing the file."""
    options = _check_table(raw, "server", _SERVER, problems)
    where = "DEALTICKER_SERVER_LISTEN" if "DEALTICKER_SERVER_LISTEN" in env else "server.listen"
    listen = env.get("DEALTICKER_SERVER_LISTEN", options.get("listen", "")).strip()
    if listen and listen_problem(listen):
        problems.append((where, listen_problem(listen)))
    return ServerConfig(**{**options, "listen": listen})


def _languages(bot: dict, problems: Problems) -> tuple[str, ...]:
    codes = tuple(s.lower() for s in _strings(bot.get("languages", ["de"]), "bot.languages", problems,
                                             lambda code: language_problem(code.lower())))
    if "languages" in bot and not bot["languages"]:
        problems.append(("bot.languages", "needs at least one language code, e.g. [\"de\"]"))
    if len(set(codes)) < len(codes):
        problems.append(("bot.languages", "lists a language twice"))
    return codes


def build(raw: dict, problems: Problems, env: dict[str, str]) -> Config:
    for key in raw:
        if key not in _TOP:
            problems.append((key, f"unknown table — known: {', '.join(sorted(_TOP))}"))
    bot = _check_table(raw.get("bot", {}), "bot", _BOT, problems)
    poll = _check_table(raw.get("poll", {}), "poll", _POLL, problems)
    storage = _check_table(raw.get("storage", {}), "storage", _STORAGE, problems)
    # Generic German deal language, merged into the deal's own words (see _deal).
    vocabulary = _check_table(raw["vocabulary"], "vocabulary", _VOCABULARY, problems) if "vocabulary" in raw else {}
    deal = _deal(raw.get("deal"), _words(vocabulary, "vocabulary", _SHARED_LISTS, problems), problems)
    feeds = _feeds(raw.get("feeds"), problems)
    languages = _languages(bot, problems)
    timezone = bot.get("timezone", "Europe/Berlin")
    if timezone not in known_time_zones():
        problems.append(("bot.timezone", f"unknown time zone {timezone!r} — use an IANA name like Europe/Berlin"))
    if "jitter_seconds" in poll and poll["jitter_seconds"] >= poll.get("interval_seconds", 600):
        problems.append(("poll.jitter_seconds", "must be smaller than poll.interval_seconds"))
    if "user_agent" in poll and user_agent_problem(poll["user_agent"]):
        problems.append(("poll.user_agent", user_agent_problem(poll["user_agent"])))
    env_url = _secret(env, "DATABASE_URL", problems)
    database_url = env_url or bot.get("database_url") or DEFAULT_DATABASE_URL
    if database_problem(database_url):
        source = "DATABASE_URL" if env.get("DATABASE_URL", "").strip() else "DATABASE_URL_FILE"
        problems.append((source if env_url else "bot.database_url", database_problem(database_url)))
    if deal is None:
        deal = DealConfig(name="", subject=(), deal_terms=(), negative_terms=(), bidders=())
    return Config(
        deal=deal, feeds=feeds, poll=PollConfig(**poll), languages=languages or ("de",),
        timezone=timezone, database_url=database_url,
        telegram=_telegram(raw.get("telegram", {}), env, problems), slack=_slack(raw.get("slack", {}), env, problems),
        server=_server(raw.get("server", {}), env, problems),
        storage=StorageConfig(**storage),
        **{k: bot[k] for k in ("retention_days", "story_window_hours", "summary_max_chars",
                               "summary_max_sentences") if k in bot},
    )
