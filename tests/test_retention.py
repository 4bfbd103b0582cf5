"""Retention: old delivery records go, queued ones and a live story's own message stay; the 0008 indexes."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import insert, inspect, select, text, update

from bot import schema as t
from bot.config import ConfigError, StorageConfig, load_config
from bot.pipeline import Pipeline
from bot.store import Delivery, Store, utcnow
from bot.store.outbox import FINAL
from tests.conftest import ROOT
from tests.factories import article

OLD = timedelta(days=91)
SHIPPED = (ROOT / "config" / "dealticker.toml").read_text(encoding="utf-8")


def _sent(store: Store, chat: str, message_id: str) -> None:
    [row] = [r for r in store.due_deliveries(["telegram"]) if r.chat_id == chat]
    assert store.claim_delivery(row.id)
    store.finish_delivery(row.id, "sent", message_id=message_id)


def _age(store: Store, table, days_old: timedelta) -> None:
    """Make every story (by its last update) or delivery record (by its creation) this old."""
    column = "updated" if table is t.alerts else "created"
    with store.engine.begin() as conn:
        conn.execute(update(table).values({column: utcnow() - days_old}))


def _rows(store: Store) -> list[tuple]:
    d = t.deliveries.c
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(d.chat_id, d.followup_id, d.status).order_by(d.chat_id, d.id))]


def test_a_live_storys_own_message_outlives_the_retention_and_goes_with_the_story(store: Store):
    store.subscribe("telegram", "1")
    [story], _ = store.add_articles([article("Oracle erhält Zuschlag für Tiktok")], 48)
    _sent(store, "1", "m1")
    _age(store, t.deliveries, OLD)
    assert store.purge_deliveries(90) == 0
    # A follow-up posted now still replies to the alert's message.
    followup = Delivery(0, story.id, 1, "telegram", "1", "", "pending", 0, None, None)
    assert store.thread_start(followup) == ("sent", "m1")
    _age(store, t.alerts, OLD)
    assert store.purge(90) == 1
    assert store.purge_deliveries(90) == 1 and _rows(store) == []


def test_purge_keeps_queued_and_recent_records_and_removes_old_final_ones(store: Store, caplog):
    [gone], _ = store.add_articles([article("Microsoft will Tiktok kaufen")], 48)
    [alive], _ = store.add_articles([article("Oracle erhält Zuschlag für Tiktok")], 48)
    now = utcnow()
    rows = [  # (chat, story, follow-up, status, needs an edit, age)
        ("a-pending", gone.id, 0, "pending", False, OLD), ("b-sending", gone.id, 0, "sending", False, OLD),
        ("c-edit", alive.id, 0, "sent", True, OLD), ("d-recent", gone.id, 0, "sent", False, timedelta(days=89)),
        ("e-anchor", alive.id, 0, "failed", False, OLD), ("f-followup-recent", alive.id, 1, "sent", False,
                                                                timedelta(days=1)),
    ] + [(f"x-{status}-{n}", story, followup, status, False, OLD)
         for n, (story, followup) in enumerate([(gone.id, 0), (alive.id, 1), (alive.id, 2)])
         for status in FINAL]
    with store.engine.begin() as conn:
        conn.execute(insert(t.deliveries), [
            {"alert_id": story, "followup_id": f, "platform": "telegram", "chat_id": chat, "thread_id": "",
             "status": status, "attempts": 1, "next_attempt": now, "needs_edit": edit, "created": now - age,
             "message_id": "m" if status == "sent" else None}
            for chat, story, f, status, edit, age in rows])
        conn.execute(t.alerts.delete().where(t.alerts.c.id == gone.id))  # as the story purge leaves it
    with caplog.at_level("INFO", logger="bot.store.outbox"):
        assert store.purge_deliveries(90, batch=2) == 9  # five batches, the last one short
    assert "purged 9 delivery records older than 90 days" in caplog.text
    assert [chat for chat, *_ in _rows(store)] == ["a-pending", "b-sending", "c-edit", "d-recent", "e-anchor",
                                                   "f-followup-recent"]
    assert store.purge_deliveries(90) == 0 and len(_rows(store)) == 6
    assert store.purge_deliveries(1) == 2  # a shorter retention takes the recent final ones as well
    assert [chat for chat, *_ in _rows(store)] == ["a-pending", "b-sending", "c-edit", "e-anchor"]


def test_the_poll_cycle_purges_with_the_configured_retention(tmp_path):
    config = load_config(ROOT / "config" / "dealticker.toml", env={})
    config = dataclasses.replace(config, feeds=(), database_url=f"sqlite:///{tmp_path / 'p.db'}",
                                 storage=StorageConfig(delivery_retention_days=30))
    store = Store(config.database_url)
    store.migrate()
    store.subscribe("telegram", "1")
    store.add_articles([article("Oracle erhält Zuschlag für Tiktok")], 48)
    _sent(store, "1", "m1")
    _age(store, t.deliveries, timedelta(days=40))
    _age(store, t.alerts, timedelta(days=40))
    store.purge(90)
    assert len(_rows(store)) == 1  # the story is kept 90 days, so its own message is too
    _age(store, t.alerts, OLD)
    asyncio.run(Pipeline(config, store).poll_once())
    assert _rows(store) == []
    store.close()


@pytest.mark.parametrize("value, problem", [
    ("0", "storage.delivery_retention_days: must be between 1 and 3650, not 0"),
    ("100000", "storage.delivery_retention_days: must be between 1 and 3650, not 100000"),
    ('"90"', "storage.delivery_retention_days: must be a whole number, not '90'"),
])
def test_a_bad_delivery_retention_is_named_with_its_line(tmp_path, value, problem):
    path = tmp_path / "c.toml"
    path.write_text(SHIPPED.replace("delivery_retention_days = 90", f"delivery_retention_days = {value}"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    line = SHIPPED.splitlines().index("delivery_retention_days = 90") + 1
    assert caught.value.problems == [f"{path}:{line}: {problem}"]


def test_delivery_retention_defaults_to_90_days_and_unknown_storage_keys_are_refused(tmp_path):
    assert load_config(ROOT / "config" / "dealticker.toml", env={}).storage.delivery_retention_days == 90
    path = tmp_path / "c.toml"
    path.write_text(SHIPPED.replace("delivery_retention_days = 90\n", ""))
    assert load_config(path, env={}).storage.delivery_retention_days == 90
    path.write_text(SHIPPED.replace("delivery_retention_days = 90", "delivery_retention = 30"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert ("storage.delivery_retention: unknown option — did you mean 'delivery_retention_days'?"
            in caught.value.problems[0])


NEW_INDEXES = {"alerts": ("ix_alerts_updated", ["updated"]), "followups": ("ix_followups_item_id", ["item_id"]),
               "deliveries": ("ix_deliveries_status_created", ["status", "created"])}


def _indexes(store: Store) -> dict[str, list[str]]:
    found = {}
    with store.engine.connect() as conn:
        inspector = inspect(conn)
        for table in t.metadata.tables:
            for index in inspector.get_indexes(table):
                found[index["name"]] = index["column_names"]
    return found


def test_0008_upgrades_a_database_at_0007_with_data_and_adds_the_indexes(bare_store: Store):
    bare_store.migrate("0007")
    bare_store.subscribe("telegram", "1")
    bare_store.add_articles([article("Oracle erhält Zuschlag für Tiktok")], 48)
    before = _indexes(bare_store)
    assert "ix_deliveries_chat" not in before and "ix_alerts_updated" not in before
    bare_store.migrate()
    after = _indexes(bare_store)
    assert after["ix_deliveries_chat"] == ["platform", "chat_id"]
    assert all(after[name] == columns for name, columns in NEW_INDEXES.values())
    assert len(bare_store.latest_alerts(5)) == 1 and _rows(bare_store) == [("1", 0, "pending")]
    # schema.py declares the same indexes, so a database made from it matches a migrated one.
    declared = {i.name: [c.name for c in i.columns] for table in t.metadata.tables.values() for i in table.indexes}
    assert {n: c for n, c in after.items() if n.startswith("ix_")} == declared
    with bare_store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"


def test_status_counts_the_last_day_and_every_queued_record(store: Store, shipped_config):
    """/status reads the outbox through its (status, created) index: the day's finished records and every
    queued one, whatever the retention keeps besides."""
    from bot.commands import Caller, Commands

    [story], _ = store.add_articles([article("Oracle erhält Zuschlag für Tiktok")], 48)
    now = utcnow()
    rows = [("old-sent", "sent", timedelta(days=3)), ("sent", "sent", timedelta(hours=2)),
            ("failed", "failed", timedelta(hours=23)), ("old-failed", "failed", timedelta(days=2)),
            ("old-pending", "pending", timedelta(days=2)), ("sending", "sending", timedelta(minutes=1))]
    with store.engine.begin() as conn:
        conn.execute(insert(t.deliveries), [
            {"alert_id": story.id, "followup_id": 0, "platform": "telegram", "chat_id": chat, "thread_id": "",
             "status": status, "attempts": 0, "next_attempt": now, "needs_edit": False, "created": now - age}
            for chat, status, age in rows])
    assert store.delivery_counts(since=now - timedelta(hours=24)) == {"sent": 1, "failed": 1, "pending": 1,
                                                                       "sending": 1}
    assert store.delivery_counts() == {"sent": 2, "failed": 2, "pending": 1, "sending": 1}
    answer = Commands(shipped_config, store).handle(Caller("telegram", "1"), "/status").plain()
    assert "Zustellung in den letzten 24 Stunden: 1 gesendet, 1 fehlgeschlagen; 2 in der Warteschlange" in answer
