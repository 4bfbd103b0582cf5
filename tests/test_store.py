"""The store on SQLite and PostgreSQL: de-duplication, stories across outlets, bidders, retention."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from bot.store import Store, utcnow
from bot.store.base import MIGRATIONS
from bot.stories import StoryModel
from tests.factories import BASE, add_story, article


def test_migrate_twice_keeps_data(store: Store):
    store.subscribe("telegram", "42")
    store.add_articles([article("Oracle erhält Zuschlag für Tiktok")], 48)
    store.migrate()
    assert store.subscriptions() == [("telegram", "42", "")]
    assert len(store.latest_alerts(10)) == 1


def test_upgrading_a_database_with_mentions_fills_the_bidder_standings(store: Store):
    store.add_articles([article("Microsoft verhandelt über Tiktok", hours=0, bidders=(("Microsoft", "negotiating"),)),
                        article("Oracle gewinnt", "FAZ", hours=9, bidders=(("Oracle", "approved"),))], 48)
    kept = store.bidder_standings()
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:  # back to the schema before standings existed
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    store.migrate()
    assert store.bidder_standings() == kept and [b.name for b in kept] == ["Oracle", "Microsoft"]
    assert [c.status for c in store.bidder_timeline("Microsoft", 10)] == ["negotiating"]


def test_same_item_twice_is_stored_once(store: Store):
    a = article("Microsoft verhandelt über Tiktok-Kauf")
    new, _ = store.add_articles([a, a], 48)
    again, updated = store.add_articles([a], 48)
    assert len(new) == 1 and again == [] and updated == []
    assert store.known_keys([a.entry.key]) == {a.entry.key}


def test_same_story_from_another_outlet_updates_the_alert(store: Store, stories: StoryModel):
    first = article("Walmart will gemeinsam mit Microsoft über TikTok-Kauf verhandeln", "SPIEGEL")
    second = article("Tiktok-Kauf: Walmart will mit Microsoft verhandeln", "tagesschau", hours=1)
    other = article("Oracle erhält den Zuschlag für Tiktok", "heise", hours=2)
    new, _ = store.add_articles([first], 48, stories)
    more, updated = store.add_articles([second, other], 48, stories)
    assert [a.title for a in more] == ["Oracle erhält den Zuschlag für Tiktok"]
    assert len(updated) == 1 and updated[0].id == new[0].id and updated[0].is_update
    assert [s for s, _ in updated[0].sources] == ["SPIEGEL", "tagesschau"]


def test_outlets_of_one_poll_make_one_story(store: Store, stories: StoryModel):
    """Several outlets' items in the same poll: the later ones join the story the first one opened,
    within the same batch, and the sent messages of an older story are marked for editing."""
    store.subscribe("telegram", "1")
    senate = [article("US-Senat billigt Tiktok-Gesetz", "tagesschau", hours=0,
                      teaser="Nach dem Repräsentantenhaus hat auch der Senat dem Gesetz zugestimmt."),
              article("Senat stimmt für Zwangsverkauf von Tiktok", "FAZ", hours=1,
                      teaser="Die zweite Kammer des Kongresses billigt das Paket samt Tiktok-Klausel.")]
    new, updated = store.add_articles(senate, 48, stories)
    assert len(new) == 1 and updated == []
    assert [s for s, _ in new[0].sources] == ["tagesschau", "FAZ"]
    [row] = store.due_deliveries(["telegram"])
    assert store.claim_delivery(row.id)
    store.finish_delivery(row.id, "sent", "m1")
    late = article("79 zu 18: Auch die zweite Kammer will Bytedance zum Verkauf zwingen", "Handelsblatt",
                   hours=2, teaser="Die Senatoren stimmten für das Paket; es fehlt die Unterschrift.")
    again, updated = store.add_articles([late], 48, stories)
    assert again == [] and [a.id for a in updated] == [new[0].id]
    edit, followup = store.due_deliveries(["telegram"])
    assert (edit.alert_id, edit.followup_id, edit.status) == (new[0].id, 0, "sent")  # to be edited
    # and the vote count is news the story did not have: a follow-up in the story's thread
    assert (followup.alert_id, followup.status) == (new[0].id, "pending")
    [told] = store.followups_by_id([followup.followup_id])
    assert [(f.kind, f.subject) for f in told.facts] == [("figure", "vote:79-18")]


def test_latest_is_newest_first_and_filtered_by_language(store: Store):
    store.add_articles([article("Alt: Microsoft will Tiktok kaufen", hours=0),
                        article("Neu: Oracle bekommt Tiktok", hours=5),
                        article("TikTok sale: Oracle wins", hours=9, language="en")], 48)
    titles = [a.title for a in store.latest_alerts(5, ("de",))]
    assert titles == ["Neu: Oracle bekommt Tiktok", "Alt: Microsoft will Tiktok kaufen"]
    assert len(store.latest_alerts(1)) == 1


def test_latest_lists_stories_once_by_their_latest_report_in_a_mixed_language_store(store: Store):
    """The same stories the language filter always let through, each once, ordered by the time of
    their latest report (a later outlet moves a story up), with every outlet of every language."""
    big = "Perplexity legt neues Gebot für Tiktok vor"
    add_story(store, [article("Microsoft will Tiktok kaufen", "SPIEGEL", hours=0),
                      article("Microsoft will Tiktok kaufen", "CNBC", hours=10, language="en")])
    add_story(store, [article("Blackstone prüft ein Gebot für Tiktok", "FAZ", hours=1, bidders=(("Blackstone", None),)),
                      article("Blackstone prüft ein Gebot für Tiktok", "Le Monde", hours=7, language="fr",
                              bidders=(("Blackstone", "interested"),))])
    add_story(store, [article("Oracle bekommt den Zuschlag für Tiktok", "heise", hours=5)])
    add_story(store, [article("TikTok sale: Walmart wins the bid", "Reuters", hours=9, language="en")])
    # One story with more reports than the first batch of the newest-first walk holds.
    add_story(store, [article(big, f"Blog {i}", hours=20 + i / 100) for i in range(130)])

    def listed(languages):
        return [(a.title, [s for s, _ in a.sources][:2], a.last_report - BASE, [b.role for b in a.bidders])
                for a in store.latest_alerts(5, languages)]

    assert [a.title for a in store.latest_alerts(5, ("de",))] == [
        big, "Microsoft will Tiktok kaufen", "Blackstone prüft ein Gebot für Tiktok",
        "Oracle bekommt den Zuschlag für Tiktok"]
    hours = [timedelta(hours=h) for h in (21.29, 10, 9, 7, 5)]
    big_story = (big, ["Blog 0", "Blog 1"], hours[0], [])
    assert listed(("de",)) == [
        big_story,
        ("Microsoft will Tiktok kaufen", ["SPIEGEL", "CNBC"], hours[1], []),
        ("Blackstone prüft ein Gebot für Tiktok", ["FAZ", "Le Monde"], hours[3], ["interested"]),
        ("Oracle bekommt den Zuschlag für Tiktok", ["heise"], hours[4], []),
    ]
    assert [t for t, *_ in listed(None)] == [big, "Microsoft will Tiktok kaufen", "TikTok sale: Walmart wins the bid",
                                             "Blackstone prüft ein Gebot für Tiktok",
                                             "Oracle bekommt den Zuschlag für Tiktok"]
    assert len(store.latest_alerts(5)[0].sources) == 130
    assert [a.title for a in store.latest_alerts(2, ("fr", "en"))] == [
        "Microsoft will Tiktok kaufen", "TikTok sale: Walmart wins the bid"]


def test_bidder_standings_sorted_by_latest_activity(store: Store):
    store.add_articles([
        article("Microsoft bietet für Tiktok", hours=0, bidders=(("Microsoft", "bid_submitted"),)),
        article("Oracle steigt in Rennen um Tiktok ein", hours=3, bidders=(("Oracle", "interested"),)),
        article("Bytedance lehnt Microsoft ab", hours=6, bidders=(("Microsoft", "rejected"),)),
        article("Oracle bleibt im Gespräch über Tiktok", hours=1, bidders=(("Oracle", None),)),
    ], 1)
    standings = store.bidder_standings()
    assert [(b.name, b.status, b.articles) for b in standings] == [
        ("Microsoft", "rejected", 2), ("Oracle", "interested", 2)]
    assert standings[0].last_title == "Bytedance lehnt Microsoft ab"


def test_purge_keeps_subscriptions(store: Store):
    store.subscribe("slack", "C1")
    store.add_articles([article("Microsoft will Tiktok kaufen")], 48)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alerts SET updated = :old"), {"old": utcnow() - timedelta(days=100)})
    assert store.purge(90) == 1
    assert store.latest_alerts(5) == [] and store.bidder_standings() == []
    assert store.subscriptions() == [("slack", "C1", "")]


def test_subscriptions_are_per_chat_and_thread(store: Store):
    assert store.subscribe("telegram", "-100", "7")
    assert store.subscribe("telegram", "-100", "")
    assert not store.subscribe("telegram", "-100", "7")
    assert store.unsubscribe("telegram", "-100", "7")
    assert not store.unsubscribe("telegram", "-100", "7")
    assert store.subscriptions("telegram") == [("telegram", "-100", "")]


def test_feed_state_round_trip(store: Store):
    [state] = store.feed_states([("https://a.example/rss", "A")])
    assert state.status == "active" and state.etag is None
    store.save_feed_states([dataclasses.replace(state, etag='"x"', error_count=2, moved_to="https://b.example/")])
    [again] = store.feed_states([("https://a.example/rss", "A")])
    assert (again.etag, again.error_count, again.moved_to) == ('"x"', 2, "https://b.example/")


def test_upgrade_keeps_subscriptions_and_alert_records(tmp_path):
    """A database made by the first release, upgraded to the newest schema, loses nothing."""
    old = Store(f"sqlite:///{tmp_path / 'old.db'}")
    old.migrate("0001")
    old.subscribe("telegram", "42")
    with old.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (title, link, source, summary, published, created, updated, "
                          "fingerprint, reasons, version) VALUES ('Oracle bekommt Tiktok', 'https://x', 'heise', "
                          "'s', '2025-09-20 08:00:00', '2025-09-20 08:00:00', '2025-09-20 08:00:00', 'oracle', "
                          "'[]', 1)"))
        # The first release stored every alert together with its first item.
        conn.execute(text("INSERT INTO items (key, link_key, alert_id, feed_url, source, title, teaser, link, "
                          "published, fetched, language, score, reasons, summary) VALUES ('k1', 'k1', 1, "
                          "'https://x/feed', 'heise', 'Oracle bekommt Tiktok', '', 'https://x', "
                          "'2025-09-20 08:00:00', '2025-09-20 08:00:00', 'de', 0.9, '[]', 's')"))
    old.migrate()
    assert old.subscriptions() == [("telegram", "42", "")]
    assert [a.title for a in old.latest_alerts(5)] == ["Oracle bekommt Tiktok"]
    assert old.delivery_counts() == {}
    new, _ = old.add_articles([article("Microsoft will Tiktok kaufen")], 48)
    assert old.delivery_counts() == {"pending": 1}
    old.close()


def test_outbox_claims_are_exclusive_and_crashes_are_not_resent(store: Store):
    store.subscribe("telegram", "1")
    store.subscribe("slack", "C1")
    store.add_articles([article("Microsoft will Tiktok kaufen")], 48)
    rows = store.due_deliveries(["telegram", "slack"])
    assert sorted(r.platform for r in rows) == ["slack", "telegram"]
    first = rows[0]
    assert store.claim_delivery(first.id) and not store.claim_delivery(first.id)
    with store.engine.begin() as conn:  # as if the process died right after claiming, long ago
        conn.execute(text("UPDATE deliveries SET claimed = :t WHERE id = :i"),
                     {"t": utcnow() - timedelta(hours=1), "i": first.id})
    assert store.recover_deliveries() == 1
    assert [r.id for r in store.due_deliveries(["telegram", "slack"])] == [rows[1].id]
    assert store.delivery_counts() == {"uncertain": 1, "pending": 1}


def test_an_item_the_database_refuses_costs_only_itself(store: Store):
    good = article("Oracle erhält Zuschlag für Tiktok")
    # A value no column can hold (PostgreSQL refuses it; SQLite keeps it as it is).
    odd = article("Walmart steigt bei Tiktok-Gebot ein", language="x" * 50)
    later = article("Bytedance verkauft Tiktok an Oracle und Walmart", hours=30)

    new, _ = store.add_articles([good, odd, later], 48)

    titles = {a.title for a in store.latest_alerts(10)}
    assert {good.entry.title, later.entry.title} <= titles
    assert {a.title for a in new} == titles
    assert store.delivery_counts() == {}  # nobody subscribed: no outbox rows, and no error either


def test_a_feed_state_the_database_refuses_costs_only_that_feed(store: Store):
    first, odd, last = store.feed_states([("https://a.example/", "a"), ("https://b.example/", "b"),
                                          ("https://c.example/", "c")])
    when = utcnow()
    failed = store.save_feed_states([dataclasses.replace(first, last_ok=when),
                                     dataclasses.replace(odd, last_ok=when, etag="e" * 600),
                                     dataclasses.replace(last, last_ok=when)])
    saved = {s.name: s.last_ok for s in store.feed_states([("https://a.example/", "a"), ("https://b.example/", "b"),
                                                           ("https://c.example/", "c")])}
    assert saved["a"] and saved["c"]
    assert failed in ([], ["b"])  # SQLite does not enforce column sizes


def test_a_lone_item_the_database_refuses_does_not_raise(store: Store):
    odd = article("Walmart steigt bei Tiktok-Gebot ein", language="x" * 50)
    new, updated = store.add_articles([odd], 48)  # PostgreSQL refuses it, SQLite keeps it
    assert updated == [] and len(new) == len(store.latest_alerts(10, None)) <= 1
