"""Input larger than the model allows is kept or explained, never dropped in silence nor
retried for ever: a :ticket: reaction on a message longer than a description files it
with the whole text attached; a file whose name is too long is refused once, in the
thread, and the files after it are attached."""

from __future__ import annotations

from sqlmodel import col, select

from bot.flows.reactions import WHOLE_MESSAGE_FILE
from bot.ids import Callback
from models import OutboxStatus, TicketAttachment
from models.api import StoredAttachmentContent
from models.ticket import DESCRIPTION_MAX_LENGTH
from tests.reliability.conftest import World


def attachments(world: World) -> list[TicketAttachment]:
    with world.db.session() as session:
        return list(session.exec(select(TicketAttachment).order_by(col(TicketAttachment.id))))


def test_a_ticket_reaction_on_a_very_long_message_files_it_with_the_whole_text(world: World):
    text = "Outlook crashes on start\n" + "".join(
        f"line {n}: Faulting module mso.dll, exception 0xc0000005\n" for n in range(400)
    )
    assert len(text) > DESCRIPTION_MAX_LENGTH
    message = world.sim.post_user_message(world.team, world.general, world.alice, text)
    reaction = world.driver.reaction_added(
        world.team, world.tech, "ticket", world.general, message["ts"]
    )
    assert world.driver.event(world.team, reaction).status == 200
    world.deliver()
    (ticket,) = world.tickets()
    assert ticket.title == "Outlook crashes on start"
    assert len(ticket.description) <= DESCRIPTION_MAX_LENGTH
    assert ticket.description.startswith(text[:5000])
    assert WHOLE_MESSAGE_FILE in ticket.description[-200:]
    (attachment,) = attachments(world)
    assert (attachment.filename, attachment.is_internal) == (WHOLE_MESSAGE_FILE, False)
    with world.db.session() as session:
        stored = session.get(StoredAttachmentContent, attachment.id)
    assert stored is not None
    path = (
        world.runtime.settings.file_storage_dir / str(stored.organization_id) / stored.storage_key
    )
    assert path.read_text("utf-8") == text.strip()
    # Everyone hears about it as about any other ticket.
    assert [c["text"] for c in world.cards()] == ["Ticket #1: Outlook crashes on start"]
    assert [m["text"] for m in world.sim.thread(world.general, message["ts"])[1:]] == [
        ":ticket: Filed as ticket #1. The IT team will follow up."
    ]


def test_a_file_name_too_long_is_refused_once_and_later_files_are_attached(world: World):
    world.file_ticket(world.alice, "Printer shows an error")
    world.deliver()
    dm = world.sim.dm_channel(world.team, world.alice)
    root = world.dm(world.alice)[0]["ts"]
    long_name = "scan-" + "x" * 295 + ".png"
    for name in (long_name, "second.png"):
        file = world.sim.add_file(world.team, world.alice, name, b"\x89PNG" + b"p" * 50)
        event = world.driver.message_event(
            world.team, dm, world.alice, "", thread_ts=root, files=[file]
        )
        assert world.driver.event(world.team, event).status == 200
    world.deliver()
    assert [a.filename for a in attachments(world)] == ["second.png"]
    told = [m["text"] for m in world.sim.thread(dm, root)[1:] if "255" in m["text"]]
    assert told == [
        ":warning: Keep the file name under 255 characters. It was not attached to the ticket."
    ]
    assert OutboxStatus.PENDING not in {r.status for r in world.outbox()}
    assert OutboxStatus.FAILED not in {r.status for r in world.outbox()}


def test_create_ticket_on_a_message_with_many_long_named_files_keeps_requester_and_files(
    world: World,
):
    files = [
        world.sim.add_file(
            world.team, world.bob, f"{n:02d}-" + "quarterly-report-final-v2-" * 9 + ".png",
            b"\x89PNG" + bytes([n]) * 40,
        )
        for n in range(10)
    ]  # fmt: skip
    message = world.sim.post_user_message(
        world.team, world.general, world.bob, "Reports will not open", files=files
    )
    world.driver.message_shortcut(
        world.team, world.tech, Callback.CREATE_TICKET_FROM_MESSAGE, world.general, message["ts"]
    )
    view = world.open_modal(world.tech)
    assert len(view["private_metadata"]) <= 3000
    assert world.driver.submit_view(world.team, world.tech, view["id"], {}).status == 200
    world.deliver()
    (ticket,) = world.tickets()
    assert ticket.requester_id == world.member(world.bob).id
    assert sorted(a.filename for a in attachments(world)) == sorted(f["name"] for f in files)
    # Filed from that message: a second filing of it is refused, as for any filed message.
    assert [m["text"] for m in world.sim.thread(world.general, message["ts"])[1:]] == [
        ":ticket: Filed as ticket #1. The IT team will follow up."
    ]
