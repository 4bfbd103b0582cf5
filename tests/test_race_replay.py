"""The 2020 round replayed in publishing order with Oracle not configured: /bidders after each day."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.commands import Caller, Commands
from bot.match import normalise
from bot.pipeline import Pipeline
from bot.store import Store
from tests.conftest import with_feeds
from tests.factories import rss
from tests.feedserver import Route

OUTLETS = ("SPIEGEL", "tagesschau", "FAZ", "Handelsblatt", "heise")  # reports rotate over them, by id
# After the last day, the share of labelled bidders (bidders_dev.jsonl, labels written before the rules)
# that /bidders shows with their latest labelled status. Measured when written: 7 of 10 at the end, 5 to 8
# of 10 along the way (the status per clause agrees 0.6-0.75 on unseen text, see README).
FLOOR = 0.6


def the_round() -> list[dict]:
    rows = [json.loads(line) for line in
            (Path(__file__).parent / "data" / "bidders_dev.jsonl").read_text(encoding="utf-8").splitlines()]
    return sorted((r for r in rows if r["published"].startswith("2020")), key=lambda r: (r["published"], r["id"]))


def expected(reports: list[dict]) -> dict[str, str | None]:
    """Each labelled bidder's status after these reports: the latest one a report states."""
    table: dict[str, str | None] = {}
    for r in reports:
        for b in r["bidders"]:
            if b["status"] or b["name"] not in table:
                table[b["name"]] = b["status"]
    return table


async def test_the_2020_round_builds_the_bidders_table_oracle_found_without_config(config, feed_server):
    deal = dataclasses.replace(config.deal, bidders=tuple(b for b in config.deal.bidders if b.name != "Oracle"))
    routes = {o: f"/{i}.rss" for i, o in enumerate(OUTLETS)}
    config = dataclasses.replace(with_feeds(config, *((o, feed_server.url(p)) for o, p in routes.items())), deal=deal)
    store = Store(config.database_url)
    store.migrate()
    pipeline, commands = Pipeline(config, store), Commands(config, store)
    feeds: dict[str, list] = {o: [] for o in OUTLETS}
    round_ = the_round()
    start = datetime.now(timezone.utc) - timedelta(days=len(round_) + 2)
    agreement, oracle_seen = [], []
    for day in sorted({r["published"] for r in round_}):
        todays = [r for r in round_ if r["published"] == day]
        for r in todays:
            outlet = OUTLETS[int(r["id"].split("-")[1]) % len(OUTLETS)]
            when = start + timedelta(days=round_.index(r))  # the round's order, compressed to recent days
            feeds[outlet].append((r["title"], r["teaser"], f"https://{outlet.lower()}.example/{r['id']}", when))
        for outlet, path in routes.items():
            feed_server.routes[path] = Route(body=rss(*feeds[outlet]))
        await pipeline.poll_once()
        shown = {normalise(b.name): b for b in store.bidder_standings()}
        labelled = expected([r for r in round_ if r["published"] <= day])
        hits = sum(1 for name, status in labelled.items()
                   if any(normalise(name) in k or k in normalise(name) for k in shown)
                   and next(b for k, b in shown.items() if normalise(name) in k or k in normalise(name)).status == status)
        agreement.append((day, hits, len(labelled)))
        if "oracle" in shown:
            oracle_seen.append((day, shown["oracle"].listed, shown["oracle"].confirmed))
    table = commands.handle(Caller("console", "1"), "/bidders").plain()
    store.close()
    for day, hits, total in agreement:
        print(f"{day}: {hits}/{total} labelled bidders shown with the labelled status")
    print(table)
    # Oracle is not configured: it is found in the text, shown as new until a second outlet names it,
    # then as a confirmed bidder; it is never "listed".
    assert oracle_seen and not any(listed for _, listed, _ in oracle_seen)
    assert not oracle_seen[0][2] or len({d for d, *_ in oracle_seen}) == 1
    assert oracle_seen[-1][2], oracle_seen[-1]
    assert "Oracle – " in table and "unbestätigt" not in table.split("Oracle – ")[1].split("\n")[0]
    final = agreement[-1]
    shares = Counter(round(h / t, 1) for _, h, t in agreement if t)
    assert final[1] / final[2] >= FLOOR, (final, shares)
    # ByteDance, news agencies and the politicians never appear as bidders.
    names = [line.split(" – ")[0] for line in table.split("\n\n")[1:-1]]
    assert not {"Bytedance", "ByteDance", "Trump", "Reuters", "Bloomberg", "CNBC", "Amazon"} & set(names), names
