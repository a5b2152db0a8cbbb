"""Files in ticket threads become attachments with stored copies, on the right side only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.ids import Callback
from models import SlackFileRef, TicketAttachment
from models.api import StoredAttachmentContent
from tests.e2e.conftest import World
from tests.e2e.test_delivery import make_all_due

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100


@pytest.fixture
def ticket(world: World) -> World:
    world.file_ticket(world.alice, "Printer shows an error")
    world.deliver()
    return world


def card_ts(world: World) -> str:
    return world.cards()[0]["ts"]


def dm_root_ts(world: World) -> str:
    return world.dm(world.alice)[0]["ts"]


def attachments(world: World) -> list[TicketAttachment]:
    with world.db.session() as session:
        return list(session.exec(select(TicketAttachment)).all())


def files_in(messages: list[dict[str, Any]]) -> list[str]:
    return [f["name"] for m in messages for f in m.get("files") or []]


def share(
    world: World, user: str, channel: str, thread_ts: str, name: str, content: bytes, text: str = ""
):
    file = world.sim.add_file(world.team, user, name, content, "image/png", "png")
    event = world.driver.message_event(
        world.team, channel, user, text, thread_ts=thread_ts, files=[file]
    )
    assert world.driver.event(world.team, event).status == 200
    world.deliver()
    return file, event


def test_requester_screenshot_is_public_stored_and_shown_to_staff(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    share(world, world.alice, dm, dm_root_ts(world), "screenshot.png", PNG, "Here is the error")
    (attachment,) = attachments(world)
    assert (attachment.filename, attachment.is_internal, attachment.file_size) == (
        "screenshot.png",
        False,
        len(PNG),
    )
    assert attachment.uploaded_by_name == "Alice Able"
    with world.db.session() as session:
        stored = session.get(StoredAttachmentContent, attachment.id)
    assert (
        world.runtime.settings.file_storage_dir
        / str(attachment.organization_id)
        / stored.storage_key
    ).read_bytes() == PNG
    staff_thread = world.sim.thread(world.staff_channel, card_ts(world))
    assert files_in(staff_thread) == ["screenshot.png"]
    # The API serves the stored copy at file_url (for callers with a token).
    assert attachment.file_url.endswith(f"/attachments/{attachment.id}/content")


def test_staff_file_in_the_card_thread_is_internal_and_stays_there(ticket: World):
    world = ticket
    share(
        world,
        world.tech,
        world.staff_channel,
        card_ts(world),
        "router-config.png",
        PNG,
        "SECRET-CONFIG",
    )
    (attachment,) = attachments(world)
    assert attachment.is_internal is True
    dm = world.sim.dm_channel(world.team, world.alice)
    assert files_in(world.sim.messages(dm)) == []
    assert all("SECRET-CONFIG" not in str(c.args) for c in world.sim.calls if c.channel_id == dm)


def test_a_file_announced_twice_is_one_attachment(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    file, _ = share(world, world.alice, dm, dm_root_ts(world), "twice.png", PNG)
    world.driver.event(
        world.team, world.driver.file_shared(world.team, world.alice, file["id"], dm)
    )
    world.deliver()
    assert len(attachments(world)) == 1
    with world.db.session() as session:
        assert len(session.exec(select(SlackFileRef)).all()) == 1


def test_file_shared_event_alone_attaches_the_file(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    file = world.sim.add_file(world.team, world.alice, "only-event.png", PNG, "image/png", "png")
    world.sim.post_user_message(
        world.team, dm, world.alice, "", thread_ts=dm_root_ts(world), files=[file]
    )
    world.driver.event(
        world.team, world.driver.file_shared(world.team, world.alice, file["id"], dm)
    )
    world.deliver()
    (attachment,) = attachments(world)
    assert attachment.filename == "only-event.png" and attachment.is_internal is False


def test_a_file_over_the_limit_is_refused_with_a_message(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    big = b"x" * (world.runtime.settings.max_attachment_bytes + 1)
    share(world, world.alice, dm, dm_root_ts(world), "huge.mov", big, "video of the problem")
    assert attachments(world) == []
    thread = world.sim.thread(dm, dm_root_ts(world))
    assert any(
        "limited to" in m.get("text", "") and "not attached" in m.get("text", "") for m in thread
    )
    storage = world.runtime.settings.file_storage_dir
    assert [p for p in storage.rglob("*") if p.is_file()] == []  # nothing half-written


def test_a_file_that_cannot_be_downloaded_is_reported(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    file = world.sim.add_file(world.team, world.alice, "gone.png", PNG, "image/png", "png")
    event = world.driver.message_event(
        world.team, dm, world.alice, "", thread_ts=dm_root_ts(world), files=[file]
    )
    with world.sim.workspace.lock:
        del world.sim.workspace.files[file["id"]]  # deleted in Slack before we fetched it
    world.driver.event(world.team, event)
    world.deliver()
    assert attachments(world) == []
    thread = world.sim.thread(dm, dm_root_ts(world))
    assert any("couldn't download gone.png" in m.get("text", "") for m in thread)


def test_a_download_during_an_outage_is_retried(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    file = world.sim.add_file(world.team, world.alice, "later.png", PNG, "image/png", "png")
    event = world.driver.message_event(
        world.team, dm, world.alice, "", thread_ts=dm_root_ts(world), files=[file]
    )
    world.driver.event(world.team, event)
    world.sim.set_outage("error")
    world.deliver()
    world.sim.set_outage(None)
    assert attachments(world) == []
    make_all_due(world)
    world.deliver()
    (attachment,) = attachments(world)
    assert attachment.filename == "later.png"


def test_send_to_requester_publishes_a_staff_file_into_the_dm_thread(ticket: World):
    world = ticket
    _, event = share(
        world, world.tech, world.staff_channel, card_ts(world), "fix-steps.png", PNG, "Steps to fix"
    )
    assert attachments(world)[0].is_internal is True
    world.driver.message_shortcut(
        world.team, world.tech, Callback.SEND_TO_REQUESTER, world.staff_channel, event["ts"]
    )
    world.deliver()
    (attachment,) = attachments(world)
    assert attachment.is_internal is False
    dm = world.sim.dm_channel(world.team, world.alice)
    assert files_in(world.sim.thread(dm, dm_root_ts(world))) == ["fix-steps.png"]
