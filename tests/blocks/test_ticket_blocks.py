"""The Block Kit builders, without Slack: content, escaping, limits, ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks.text import escape, escape_truncated, truncate
from bot.blocks.tickets import (
    Activity,
    ModalPrefill,
    PersonView,
    TicketView,
    card_actions_block_id,
    card_activity_line,
    change_line,
    describe_change,
    new_ticket_modal,
    requester_received_blocks,
    requester_received_text,
    ticket_card,
    ticket_fallback_text,
    ticket_id_from_block_id,
)
from bot.ids import Action, Block, Callback
from bot.slacksim.blockkit import validate_blocks, validate_view
from models import DEFAULT_CATEGORIES, TicketPriority, TicketStatus

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOSTILE = "<!channel> <@U123> & <https://evil.example|click> &lt;"


def view(**overrides) -> TicketView:
    values = {
        "id": 7,
        "number": 42,
        "title": "VPN drops every hour",
        "description": "Since Monday.",
        "status": TicketStatus.OPEN,
        "priority": TicketPriority.HIGH,
        "category": "network",
        "requester": PersonView("Alice", "U0ALICE"),
        "assignee": None,
        "company": "Acme Corp",
        "created_at": NOW - timedelta(hours=3),
    }
    values.update(overrides)
    return TicketView(**values)


def all_text(blocks) -> str:
    return json.dumps(blocks)


def test_escape_neutralises_mentions_and_links():
    assert escape(HOSTILE) == (
        "&lt;!channel&gt; &lt;@U123&gt; &amp; &lt;https://evil.example|click&gt; &amp;lt;"
    )
    assert escape(None) == ""


def test_escape_truncated_never_cuts_an_entity_in_half():
    text = "a" * 8 + "<"
    cut = escape_truncated(text, 10)
    assert len(cut) <= 10
    assert not cut.rstrip("…").endswith("&l")
    assert truncate("abcdef", 4) == "abc…"


def test_card_shows_number_title_people_and_fields():
    blocks = ticket_card(view(assignee=PersonView("Tom", "U0TOM")), now=NOW)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "#42 VPN drops every hour", "emoji": True},
    }
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert "*Requester*\n<@U0ALICE>" in fields
    assert "*Client*\nAcme Corp" in fields
    assert any(f.startswith("*Priority*") and "High" in f for f in fields)
    assert any(f.startswith("*Status*") and "Open" in f for f in fields)
    assert "*Category*\nnetwork" in fields
    assert "*Assignee*\n<@U0TOM>" in fields
    assert "Opened 3 h ago" in all_text(blocks)


def test_card_actions_carry_the_ticket_and_every_control():
    blocks = ticket_card(view(category_options=("network", "email")), now=NOW)
    buttons, menus = [b for b in blocks if b["type"] == "actions"]
    assert buttons["block_id"] == card_actions_block_id(7)
    assert ticket_id_from_block_id(buttons["block_id"]) == 7
    assert ticket_id_from_block_id(menus["block_id"]) == 7
    assert [e["action_id"] for e in buttons["elements"]] == [
        Action.ASSIGN_TO_ME,
        Action.REPLY_TO_REQUESTER,
        Action.ADD_INTERNAL_NOTE,
    ]
    assert [e["action_id"] for e in menus["elements"]] == [
        Action.ASSIGNEE,
        Action.STATUS,
        Action.PRIORITY,
        Action.CATEGORY,
    ]
    labels = [e["text"]["text"] for e in buttons["elements"] if e["type"] == "button"]
    assert labels == ["Assign to me", "Reply to requester", "Add internal note"]
    assert menus["elements"][3]["initial_option"]["value"] == "network"
    status = menus["elements"][1]
    assert [o["text"]["text"] for o in status["options"]] == [
        "Open",
        "In progress",
        "Pending",
        "Resolved",
        "Closed",
    ]
    assert status["initial_option"]["value"] == "open"
    assert menus["elements"][2]["initial_option"]["value"] == "high"


def test_card_escapes_user_text_everywhere_it_is_mrkdwn():
    hostile = view(title=HOSTILE, description=HOSTILE, category=HOSTILE, company=HOSTILE)
    blocks = ticket_card(hostile, now=NOW)
    for block in blocks:
        for text in [block.get("text"), *(block.get("fields") or [])]:
            if text and text["type"] == "mrkdwn":
                assert "<!channel>" not in text["text"]
                assert "<@U123>" not in text["text"]
    # The header is plain_text: Slack shows it literally, nothing to escape there.
    assert blocks[0]["text"]["type"] == "plain_text"
    fallback = ticket_fallback_text(hostile)
    assert "<!channel>" not in fallback and "&lt;!channel&gt;" in fallback
    assert "<!channel>" not in requester_received_text(hostile)
    assert "<!channel>" not in all_text(requester_received_blocks(hostile))


def test_card_within_slack_limits_even_for_huge_text():
    huge = view(title="T" * 200, description="<" * 20_000, company="C" * 200)
    assert validate_blocks(ticket_card(huge, now=NOW), "message") == []
    assert validate_blocks(requester_received_blocks(huge), "message") == []


@pytest.mark.parametrize("block_id", [None, "", "ticket_actions:", "ticket_actions:x", "other:5"])
def test_foreign_block_ids_have_no_ticket(block_id):
    assert ticket_id_from_block_id(block_id) is None


def test_change_lines_escape_and_read_naturally():
    assert change_line("Tom", [describe_change("status", "Pending")]) == (
        "Tom set status to *Pending*"
    )
    together = [
        describe_change("assigned_staff_id", "Tom", to_actor=True),
        describe_change("status", "In progress"),
        describe_change("priority", "High"),
    ]
    assert change_line("Tom", together) == (
        "Tom took this, set status to *In progress* and set priority to *High*"
    )
    assert describe_change("assigned_staff_id", "Tia") == "assigned this to Tia"
    assert describe_change("assigned_staff_id", None) == "unassigned this"
    assert "<!channel>" not in describe_change("title", "<!channel>")


def test_the_activity_line_tells_age_activity_and_whose_turn():
    ticket = view(
        created_at=NOW - timedelta(days=2, hours=1),
        last_activity=Activity("Alice", internal=False, at=NOW - timedelta(minutes=5)),
    )
    assert card_activity_line(ticket, now=NOW) == (
        "Opened 2 d ago · Alice replied 5 m ago · waiting on IT"
    )
    noted = Activity("Tom", internal=True, at=NOW - timedelta(seconds=20))
    assert card_activity_line(view(status=TicketStatus.PENDING, last_activity=noted), now=NOW) == (
        "Opened 3 h ago · Tom added a note just now · waiting on Alice"
    )
    assert card_activity_line(view(waiting_on_requester=True), now=NOW).endswith("waiting on Alice")
    resolved = view(status=TicketStatus.RESOLVED, resolved_at=NOW - timedelta(hours=1))
    assert card_activity_line(resolved, now=NOW) == "Opened 3 h ago · resolved 1 h ago"


def test_the_primary_button_follows_the_state_and_rare_controls_fold_away():
    def controls(ticket: TicketView) -> list[tuple[str, str | None]]:
        row = next(b for b in ticket_card(ticket, now=NOW) if b["type"] == "actions")
        found = []
        for element in row["elements"]:
            if element["type"] == "overflow":
                found += [("⋯ " + o["text"]["text"], None) for o in element["options"]]
            else:
                found.append((element["text"]["text"], element.get("style")))
        return found

    tom = PersonView("Tom", "U0TOM")
    assert controls(view())[0] == ("Assign to me", "primary")
    assert controls(view(assignee=tom))[0] == ("Reply to requester", "primary")
    for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        shown = controls(view(status=status, assignee=tom))
        assert shown[0] == ("Reopen", None)
        assert all(style is None for _, style in shown)
        assert ("Assign to me", "primary") not in shown
    for status in TicketStatus:
        for assignee in (None, tom):
            blocks = ticket_card(view(status=status, assignee=assignee), now=NOW)
            assert validate_blocks(blocks, "message") == []
            for block in blocks:
                for element in block.get("elements", []):
                    if element["type"] == "overflow":
                        assert 2 <= len(element["options"]) <= 5  # Slack's overflow range


def test_empty_facts_are_left_off_the_card():
    fields = [
        f["text"] for f in ticket_card(view(company=None, category=None), now=NOW)[1]["fields"]
    ]
    assert [f.split("\n")[0] for f in fields] == [
        "*Requester*",
        "*Priority*",
        "*Status*",
        "*Assignee*",
    ]
    unmatched = view(company=None, company_options=((1, "Acme"),))
    assert "not matched" in all_text(ticket_card(unmatched, now=NOW)[1])


def test_modal_has_the_contract_labels_and_validates():
    modal = new_ticket_modal(
        prefill=ModalPrefill(title="Printer jam"),
        categories=list(DEFAULT_CATEGORIES),
        default_priority=TicketPriority.MEDIUM,
        show_requester=False,
    )
    assert modal["callback_id"] == Callback.NEW_TICKET_MODAL
    labels = [b["label"]["text"] for b in modal["blocks"]]
    assert labels == ["Title", "Description", "Priority", "Category"]
    assert modal["blocks"][0]["element"]["initial_value"] == "Printer jam"
    assert modal["blocks"][2]["element"]["initial_option"]["value"] == "medium"
    assert validate_view(modal) == []


def test_modal_offers_requester_to_staff_and_remembers_the_source():
    source = {"channel": "C1", "ts": "1.2", "author": "U9"}
    modal = new_ticket_modal(
        prefill=ModalPrefill(title="x" * 500, requester_slack_id="U9", source=source),
        categories=["hardware"],
        default_priority=TicketPriority.LOW,
        show_requester=True,
    )
    requester = next(b for b in modal["blocks"] if b["block_id"] == Block.REQUESTER)
    assert requester["label"]["text"] == "Requester"
    assert requester["element"]["initial_user"] == "U9"
    assert json.loads(modal["private_metadata"]) == {"source": source}
    assert len(modal["blocks"][0]["element"]["initial_value"]) <= 200
    assert validate_view(modal) == []
