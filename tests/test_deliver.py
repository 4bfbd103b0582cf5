"""The outbox worker on the console: a story's thread (alert, edit, follow-up) and edits that change nothing."""
from __future__ import annotations

import io
import re

from sqlalchemy import update

from bot import schema
from bot.deliver import Deliverer
from bot.platforms.console import LOCAL, ConsolePlatform
from bot.store import Store
from tests.factories import article

SENATE = article("US-Senat billigt Tiktok-Gesetz", "tagesschau", hours=0,
                 teaser="Nach dem Repräsentantenhaus hat auch der Senat dem Gesetz zugestimmt.")
OTHER_OUTLET = article("Senat stimmt für Zwangsverkauf von Tiktok", "FAZ", hours=1,
                       teaser="Die zweite Kammer des Kongresses billigt das Paket samt Tiktok-Klausel.")
NEW_FACT = article("79 zu 18: Auch die zweite Kammer will Bytedance zum Verkauf zwingen", "tagesschau", hours=2,
                   teaser="Die Senatoren stimmten für das Paket; es fehlt die Unterschrift, wie Reuters berichtet.")


def console(store: Store) -> tuple[Deliverer, io.StringIO]:
    out = io.StringIO()
    store.subscribe("console", LOCAL)
    return Deliverer(store, {"console": ConsolePlatform(out)}, "Europe/Berlin"), out


async def test_console_shows_a_story_as_one_thread(store: Store, stories):
    deliverer, out = console(store)
    store.add_articles([SENATE], 48, stories)
    await deliverer.deliver_due()
    assert out.getvalue().count("US-SENAT BILLIGT TIKTOK-GESETZ") == 1

    store.add_articles([OTHER_OUTLET], 48, stories)
    await deliverer.deliver_due()
    updated = out.getvalue().split("─── #1 aktualisiert")[1]
    assert "zuerst: tagesschau" in updated and "Auch bei: FAZ" in updated

    store.add_articles([NEW_FACT], 48, stories)
    await deliverer.deliver_due()
    followup = out.getvalue().split("↳ zu Meldung #1")[1]
    assert all(line.startswith("    ") for line in followup.strip("\n").splitlines()[1:])
    assert "NEU: Abstimmung 79 zu 18" in followup and "laut Reuters" in followup
    assert not store.due_deliveries(["console"])


async def test_an_edit_that_changes_nothing_is_not_sent(store: Store, stories):
    deliverer, out = console(store)
    store.add_articles([SENATE], 48, stories)
    store.add_articles([OTHER_OUTLET], 48, stories)  # before the alert went out: it shows both at once
    await deliverer.deliver_due()
    # Asked to edit again (two instances noticed the same outlet, or a retried poll) with nothing new:
    with store.engine.begin() as conn:
        conn.execute(update(schema.deliveries).values(needs_edit=True))
    before = out.getvalue()
    await deliverer.deliver_due()
    assert out.getvalue() == before and not store.due_deliveries(["console"])


async def test_a_follow_up_waits_for_its_story_or_names_it(store: Store, stories):
    """Queued behind its story's own message it goes after it, as a reply; where that message failed
    it goes on its own and says which story it belongs to."""
    deliverer, out = console(store)
    store.subscribe("console", "other")
    [alert], _ = store.add_articles([SENATE], 48, stories)
    for row in store.due_deliveries(["console"]):
        if row.chat_id == "other":
            store.finish_delivery(row.id, "failed", error="chat refused it")
    store.add_articles([NEW_FACT], 48, stories)
    await deliverer.deliver_due()
    text = out.getvalue()  # the two chats run side by side: which prints first is open
    number = re.search(r"─── #(\d+) ─+\nUS-SENAT BILLIGT", text).group(1)
    assert text.index("US-SENAT BILLIGT") < text.index(f"↳ zu Meldung #{number}\n")
    standalone = text.split("Zur Meldung: ")
    assert len(standalone) == 2 and standalone[1].startswith(alert.title)
    assert not store.due_deliveries(["console"])
