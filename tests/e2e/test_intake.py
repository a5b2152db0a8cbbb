"""Filing tickets from Slack: /ticket, the shortcuts, the :ticket: reaction."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.ids import Block, Callback
from models import MessageRole, SlackMessageRef, TicketAttachment
from models.api import StoredAttachmentContent
from tests.e2e.conftest import World


def modal_labels(view: dict) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def test_slash_command_opens_the_new_ticket_modal(world: World):
    response = world.driver.slash_command(world.team, world.alice, text="")
    assert response.status == 200
    assert response.text == ""  # a silent ack: the modal is the answer
    view = world.open_modal(world.alice)
    assert view["callback_id"] == Callback.NEW_TICKET_MODAL
    assert view["title"]["text"] == "New ticket"
    assert modal_labels(view) == ["Title", "Description", "Priority", "Category"]


def test_staff_also_get_a_requester_field(world: World):
    world.driver.slash_command(world.team, world.tech, text="")
    assert modal_labels(world.open_modal(world.tech)) == [
        "Title",
        "Description",
        "Priority",
        "Category",
        "Requester",
    ]


def test_command_text_becomes_the_title(world: World):
    world.driver.slash_command(world.team, world.alice, text="Outlook keeps  crashing")
    title = world.open_modal(world.alice)["blocks"][0]
    assert title["block_id"] == Block.TITLE
    assert title["element"]["initial_value"] == "Outlook keeps crashing"


def test_any_text_but_an_exact_sub_command_is_the_title_whole(world: World):
    for text in ("New laptop for Dana", "printer", "Printer", "new", "mine is broken", "Help"):
        response = world.driver.slash_command(world.team, world.bob, text=text)
        assert response.status == 200 and response.text == "", text  # the form, no answer
        title = world.open_modal(world.bob)["blocks"][0]["element"]["initial_value"]
        assert title == text
    assert world.tickets() == []


def test_help_answers_with_usage(world: World):
    help_reply = world.driver.slash_command(world.team, world.alice, text="help")
    assert help_reply.status == 200
    assert "/ticket" in help_reply.json["text"]
    assert "I don't know" not in help_reply.json["text"]
    assert world.sim.calls_to("views.open") == []
    assert world.tickets() == []


def test_submission_commits_before_the_ack_then_card_and_dm_arrive(world: World):
    response = world.file_ticket(
        world.alice,
        "Printer on fire",
        description="Smoke from tray 2",
        priority="urgent",
        category="hardware",
    )
    assert response.status == 200 and response.text == ""
    (ticket,) = world.tickets()
    assert (ticket.ticket_number, ticket.title, ticket.priority, ticket.category) == (
        1,
        "Printer on fire",
        "urgent",
        "hardware",
    )
    assert ticket.requester_id == world.member(world.alice).id
    # Committed, not yet sent: Slack is reached only by the outbox.
    assert world.sim.calls_to("chat.postMessage") == []

    world.deliver()
    (card,) = world.cards()
    assert card["text"] == "Ticket #1: Printer on fire · Urgent priority"  # said in words
    assert card["blocks"][0]["text"]["text"] == "#1 Printer on fire"
    assert f"<@{world.alice}>" in json.dumps(card["blocks"])
    (dm,) = world.dm(world.alice)
    assert dm["text"] == "Ticket #1 received: Printer on fire"
    with world.db.session() as session:
        refs = {r.role: r for r in session.exec(select(SlackMessageRef)).all()}
    assert refs[MessageRole.STAFF_CARD].ts == card["ts"]
    assert refs[MessageRole.STAFF_CARD].channel_id == world.staff_channel
    assert refs[MessageRole.REQUESTER_DM].ts == dm["ts"]
    # The requester's real name was read from Slack after the ack.
    assert world.member(world.alice).name == "Alice Able"
    assert world.member(world.alice).email == "alice@client.com"


def test_numbers_follow_per_workspace(world: World):
    for title in ("One", "Two", "Three"):
        world.file_ticket(world.bob, title)
    assert [t.ticket_number for t in world.tickets()] == [1, 2, 3]


def test_bad_titles_are_field_errors_and_create_nothing(world: World):
    for title, fragment in (("   ", "title"), ("x" * 201, "200 characters")):
        response = world.file_ticket(world.alice, title)
        assert response.status == 200
        body = response.json
        assert body["response_action"] == "errors"
        assert fragment in body["errors"][Block.TITLE]
    huge = world.file_ticket(world.alice, "Fine title", description="d" * 10_001)
    assert huge.json["response_action"] == "errors"
    assert Block.DESCRIPTION in huge.json["errors"]
    assert world.tickets() == []
    assert world.outbox() == []


def test_staff_can_file_on_someones_behalf(world: World):
    response = world.file_ticket(world.tech, "Laptop for new starter", requester=world.bob)
    assert response.status == 200, response.text
    (ticket,) = world.tickets()
    assert ticket.requester_id == world.member(world.bob).id
    world.deliver()
    assert world.dm(world.bob)[0]["text"] == ("Tom filed ticket #1 for you: Laptop for new starter")
    assert world.dm(world.tech) == []


def test_global_shortcut_opens_the_same_modal(world: World):
    response = world.driver.global_shortcut(world.team, world.alice, Callback.NEW_TICKET_SHORTCUT)
    assert response.status == 200
    view = world.open_modal(world.alice)
    assert view["callback_id"] == Callback.NEW_TICKET_MODAL
    assert modal_labels(view) == ["Title", "Description", "Priority", "Category"]


def test_message_shortcut_files_the_message_for_its_author(world: World):
    screenshot = world.sim.add_file(
        world.team, world.alice, "error.png", b"\x89PNG fake", "image/png", "png"
    )
    message = world.sim.post_user_message(
        world.team,
        world.general,
        world.alice,
        "Email is down\nNothing sends since 9am, see screenshot",
        files=[screenshot],
    )
    response = world.driver.message_shortcut(
        world.team, world.tech, Callback.CREATE_TICKET_FROM_MESSAGE, world.general, message["ts"]
    )
    assert response.status == 200
    view = world.open_modal(world.tech)
    assert view["blocks"][0]["element"]["initial_value"] == "Email is down"
    assert view["blocks"][1]["element"]["initial_value"].startswith("Email is down\nNothing")
    world.driver.submit_view(world.team, world.tech, view["id"], {})
    (ticket,) = world.tickets()
    assert ticket.requester_id == world.member(world.alice).id
    assert ticket.description == "Email is down\nNothing sends since 9am, see screenshot"
    world.deliver()
    with world.db.session() as session:
        (attachment,) = session.exec(select(TicketAttachment)).all()
        stored = session.get(StoredAttachmentContent, attachment.id)
    assert (attachment.filename, attachment.file_type, attachment.is_internal) == (
        "error.png",
        "image/png",
        False,
    )
    assert attachment.file_size == len(b"\x89PNG fake")
    assert attachment.file_url == (f"/api/tickets/{ticket.id}/attachments/{attachment.id}/content")
    assert stored is not None
    path = (
        world.runtime.settings.file_storage_dir / str(ticket.organization_id) / stored.storage_key
    )
    assert path.read_bytes() == b"\x89PNG fake"
    # A copy is shared into the card's thread, where the staff can open it.
    staff_files = [
        f["name"]
        for m in world.sim.thread(world.staff_channel, world.cards()[0]["ts"])
        for f in m.get("files") or []
    ]
    assert staff_files == ["error.png"]
    thread = world.sim.thread(world.general, message["ts"])
    assert any("ticket #1" in m.get("text", "") for m in thread[1:])
    assert "Original message" in json.dumps(world.cards()[0]["blocks"])
    assert world.dm(world.alice)[0]["text"] == (
        f"Tom filed your message in <#{world.general}> as ticket #1: Email is down"
    )


def test_an_end_user_can_file_a_colleagues_message_for_them(world: World):
    message = world.sim.post_user_message(world.team, world.general, world.bob, "Wifi is slow")
    world.driver.message_shortcut(
        world.team, world.alice, Callback.CREATE_TICKET_FROM_MESSAGE, world.general, message["ts"]
    )
    view = world.open_modal(world.alice)
    assert "Requester" not in modal_labels(view)
    assert world.driver.submit_view(world.team, world.alice, view["id"], {}).status == 200
    (ticket,) = world.tickets()
    assert ticket.requester_id == world.member(world.bob).id


def test_message_shortcut_where_the_bot_cannot_post_tells_the_filer(world: World):
    private = world.sim.add_channel(
        world.team, name="secret", members=[world.alice, world.tech], is_private=True
    )["id"]
    message = world.sim.post_user_message(world.team, private, world.alice, "Mouse broken")
    world.driver.message_shortcut(
        world.team, world.tech, Callback.CREATE_TICKET_FROM_MESSAGE, private, message["ts"]
    )
    view = world.open_modal(world.tech)
    world.driver.submit_view(world.team, world.tech, view["id"], {})
    world.deliver()
    assert len(world.sim.thread(private, message["ts"])) == 1
    assert any("ticket #1" in m.get("text", "") for m in world.dm(world.tech))
    assert all(o.status == "sent" for o in world.outbox())


def test_filing_the_same_message_twice_is_refused(world: World):
    message = world.sim.post_user_message(world.team, world.general, world.bob, "Printer")
    for _ in range(2):
        world.driver.message_shortcut(
            world.team,
            world.tech,
            Callback.CREATE_TICKET_FROM_MESSAGE,
            world.general,
            message["ts"],
        )
        response = world.driver.submit_view(
            world.team, world.tech, world.open_modal(world.tech)["id"], {}
        )
    assert "already ticket #1" in response.json["errors"][Block.TITLE]
    assert len(world.tickets()) == 1


def test_ticket_reaction_files_the_message_once(world: World):
    message = world.sim.post_user_message(world.team, world.general, world.bob, "VPN down again")
    first = world.driver.reaction_added(
        world.team, world.alice, "ticket", world.general, message["ts"]
    )
    assert world.driver.event(world.team, first).status == 200
    second = world.driver.reaction_added(
        world.team, world.tech, "ticket", world.general, message["ts"]
    )
    world.driver.event(world.team, second)
    # The reactions were acknowledged with a filing job each; the worker files once.
    world.deliver()
    (ticket,) = world.tickets()
    assert ticket.title == "VPN down again"
    assert ticket.requester_id == world.member(world.bob).id
    replies = world.sim.thread(world.general, message["ts"])[1:]
    assert [m["text"] for m in replies] == [
        ":ticket: Filed as ticket #1. The IT team will follow up."
    ]


def test_ticket_reaction_on_a_reply_in_a_thread_files_that_reply(world: World):
    parent = world.sim.post_user_message(world.team, world.general, world.bob, "Morning all")
    for text in ("Is the wifi slow for anyone?", "The printer on 3 is jammed again"):
        reply = world.sim.post_user_message(
            world.team, world.general, world.bob, text, thread_ts=parent["ts"]
        )
    world.driver.event(
        world.team,
        world.driver.reaction_added(world.team, world.alice, "ticket", world.general, reply["ts"]),
    )
    world.deliver()
    (ticket,) = world.tickets()
    assert ticket.title == "The printer on 3 is jammed again"
    assert ticket.requester_id == world.member(world.bob).id


def test_other_reactions_and_bot_messages_file_nothing(world: World):
    message = world.sim.post_user_message(world.team, world.general, world.bob, "Thanks!")
    world.driver.event(
        world.team,
        world.driver.reaction_added(world.team, world.alice, "tada", world.general, message["ts"]),
    )
    world.file_ticket(world.alice, "Real ticket")
    world.deliver()
    bot_reply = world.cards()[0]
    world.driver.event(
        world.team,
        world.driver.reaction_added(
            world.team, world.tech, "ticket", world.staff_channel, bot_reply["ts"]
        ),
    )
    world.deliver()
    assert len(world.tickets()) == 1


def test_slack_retries_of_one_event_take_effect_once(world: World):
    message = world.sim.post_user_message(world.team, world.general, world.bob, "Disk full")
    event = world.driver.reaction_added(
        world.team, world.alice, "ticket", world.general, message["ts"]
    )
    world.driver.event(world.team, event, event_id="Ev0RETRY01")
    for retry in (1, 2, 3):
        reply = world.driver.event(
            world.team, event, event_id="Ev0RETRY01", retry_num=retry, retry_reason="http_timeout"
        )
        assert reply.status == 200
    world.deliver()
    assert len(world.tickets()) == 1
    assert len([o for o in world.outbox() if o.method == "ticketbot.file_reacted_message"]) == 1


def test_an_event_seen_only_as_a_retry_still_takes_effect(world: World):
    message = world.sim.post_user_message(world.team, world.general, world.bob, "Phone dead")
    event = world.driver.reaction_added(
        world.team, world.alice, "ticket", world.general, message["ts"]
    )
    world.driver.event(
        world.team, event, event_id="Ev0ONLYRETRY", retry_num=2, retry_reason="http_error"
    )
    world.deliver()
    assert [t.title for t in world.tickets()] == ["Phone dead"]


def test_filing_works_while_slack_is_down(world: World):
    world.file_ticket(world.alice, "Warm-up")  # the bot's identity and staff list are known
    world.deliver()
    world.sim.set_outage("error")
    response = world.driver.slash_command(world.team, world.alice, text="")
    assert response.status == 200  # the modal cannot open, but the command never 500s
    world.sim.set_outage(None)
    world.driver.slash_command(world.team, world.bob, text="")
    view = world.open_modal(world.bob)
    world.sim.set_outage("error")
    assert (
        world.driver.submit_view(world.team, world.bob, view["id"], {"title": "Down"}).status == 200
    )
    assert [t.ticket_number for t in world.tickets()] == [1, 2]
    world.deliver()  # every call fails: nothing is lost, nothing is sent
    world.sim.set_outage(None)
    _deliver_until_settled(world)
    cards = world.cards()
    assert [c["text"] for c in cards] == ["Ticket #1: Warm-up", "Ticket #2: Down"]
    assert [m["text"] for m in world.dm(world.bob)] == ["Ticket #2 received: Down"]


def _deliver_until_settled(world: World) -> None:
    """Make rows that were deferred during an outage due now, then deliver them."""
    from sqlalchemy import update

    from models import OutboxMessage, OutboxStatus, utcnow

    with world.db.session() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(next_attempt_at=utcnow())
        )
    world.deliver()


def test_socket_mode_app_needs_no_signing_secret_and_handles_envelopes(db, sim, tmp_path):
    """`ticketbot run` builds the same app without request signing: Socket Mode payloads
    arrive over the app-token WebSocket, unsigned."""
    import json as jsonlib

    from slack_bolt.request import BoltRequest

    from bot.app import create_app
    from bot.core.settings import Settings
    from bot.runtime import build_runtime

    team = sim.add_team("T0SOCKET1")
    user = sim.add_user("T0SOCKET1", name="sock")["id"]
    settings = Settings(
        _env_file=None,
        slack_bot_token=team.bot_token,
        slack_app_token="xapp-1-A0-1-abc",
        slack_api_url=sim.api_url,
        database_url=str(db.engine.url),
        file_storage_dir=tmp_path,
    )
    runtime = build_runtime(settings, db=db, migrate_schema=False, background_profiles=False)
    app = create_app(settings, runtime, socket_mode=True)
    payload = {
        "team_id": "T0SOCKET1",
        "user_id": user,
        "user_name": "sock",
        "command": "/ticket",
        "text": "help",
        "channel_id": "D0SOCK",
        "trigger_id": sim.new_trigger_id("T0SOCKET1", user),
        "response_url": sim.new_response_url("T0SOCKET1", "D0SOCK", user),
    }
    response = app.dispatch(BoltRequest(body=payload, mode="socket_mode"))
    assert response.status == 200
    assert "/ticket" in jsonlib.loads(response.body)["text"]
    runtime.directory.close()


def test_when_slack_cannot_open_the_form_the_typed_text_is_filed(world: World):
    """The Web API is down, so the form cannot open and nothing can be posted; the answer
    to the command itself still reaches the person, and what they typed is filed."""
    world.driver.slash_command(world.team, world.alice, text="help")  # Alice is known
    world.sim.set_outage("error")
    answer = world.driver.slash_command(world.team, world.alice, text="VPN <down> & out")
    assert answer.status == 200
    assert answer.json["response_type"] == "ephemeral"
    assert "filed what you typed as ticket #1: VPN &lt;down&gt; &amp; out" in answer.json["text"]
    [ticket] = world.tickets()
    assert ticket.title == "VPN <down> & out"
    assert ticket.requester_id == world.member(world.alice).id

    # Nothing typed: nothing to file, but the person is told what to do.
    answer = world.driver.slash_command(world.team, world.bob, text="")
    assert answer.status == 200
    assert "Type what is wrong after the command" in answer.json["text"]
    assert len(world.tickets()) == 1

    world.sim.set_outage(None)
    world.deliver()
    assert [c["text"] for c in world.cards()] == ["Ticket #1: VPN &lt;down&gt; &amp; out"]
    assert world.dm(world.alice)[-1]["text"].startswith("Ticket #1 received")


def test_a_long_typed_request_is_filed_whole_when_the_form_cannot_open(world: World):
    world.driver.slash_command(world.team, world.alice, text="help")
    world.sim.set_outage("refuse")
    typed = "The shared drive " + "is very slow " * 40
    answer = world.driver.slash_command(world.team, world.alice, text=typed)
    world.sim.set_outage(None)
    assert "filed what you typed as ticket #1" in answer.json["text"]
    [ticket] = world.tickets()
    assert len(ticket.title) <= 200 and ticket.title.endswith("…")
    assert ticket.description == " ".join(typed.split())


def test_when_slack_times_out_the_form_may_have_opened_so_nothing_is_filed(world: World):
    """A request that reached Slack may have opened the form: filing the text as well
    would make two tickets once the form is submitted."""
    world.driver.slash_command(world.team, world.alice, text="help")
    world.sim.timeout_sleep = 3.0  # longer than the command waits for the form
    world.sim.set_outage("timeout")
    try:
        answer = world.driver.slash_command(world.team, world.alice, text="Printer jams")
    finally:
        world.sim.set_outage(None)
    assert answer.status == 200
    assert "the ticket form may open in a moment" in answer.json["text"]
    assert world.tickets() == []
