"""Comments and attachments: who may write which kind, and who receives them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.errors import InvalidInput, PermissionDenied
from bot.services import comments as svc
from bot.services import tickets
from bot.services.actors import Actor
from models import AuthorType, CommentType, TicketAttachment, TicketComment
from models.comment import COMMENT_MAX_LENGTH
from tests.services.factories import count, file_ticket, make_workspace, set_updated_at

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
NOTE, REPLY = CommentType.INTERNAL_NOTE, CommentType.PUBLIC_REPLY


def _comment(session, ws, ticket, member_or_actor, content="hello", kind=REPLY):
    actor = (
        member_or_actor if isinstance(member_or_actor, Actor) else Actor.for_member(member_or_actor)
    )
    return svc.add_comment(
        session,
        organization=ws.organization,
        ticket=ticket,
        actor=actor,
        content=content,
        comment_type=kind,
    )


def _reload(session, ws, ticket):
    return tickets.get_ticket(session, organization_id=ws.organization.id, ticket_id=ticket.id)


def _contents(session, ticket, viewer):
    return [c.content for c in svc.list_comments(session, ticket=ticket, viewer=viewer)]


# --- comments -------------------------------------------------------------------------------


def test_staff_write_notes_and_replies_with_denormalized_author(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        note = _comment(session, ws, ticket, ws.tech, "  checked the toner  ", NOTE)
        reply = _comment(session, ws, ticket, ws.admin, "On our way", "public_reply")
    with db.session() as session:
        stored = session.get(TicketComment, note.id)
        assert (stored.content, stored.comment_type, stored.author_type) == (
            "checked the toner",
            NOTE,
            AuthorType.STAFF,
        )
        assert (stored.author_id, stored.author_name) == (ws.tech.id, "Tom Tech")
        assert (stored.ticket_id, stored.organization_id) == (ticket.id, ws.organization.id)
        stored = session.get(TicketComment, reply.id)
        assert (stored.author_name, stored.author_type, stored.comment_type) == (
            "Ada Admin",
            AuthorType.STAFF,
            REPLY,
        )


def test_end_users_reply_publicly_on_their_own_tickets_only(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)  # Alice's
        mine = _comment(session, ws, ticket, ws.alice, "still broken")
        assert (mine.author_type, mine.author_name, mine.author_id) == (
            AuthorType.END_USER,
            "Alice",
            ws.alice.id,
        )
        with pytest.raises(PermissionDenied):
            _comment(session, ws, ticket, ws.alice, "psst", NOTE)
        with pytest.raises(PermissionDenied):
            _comment(session, ws, ticket, ws.bob, "me too")
        with pytest.raises(PermissionDenied):
            _comment(session, ws, ticket, ws.bob, "me too", NOTE)
        with pytest.raises(PermissionDenied):
            _comment(session, ws, ticket, Actor(name="stranger", is_staff=False), "hi")
        assert count(session, TicketComment) == 1


@pytest.mark.parametrize(
    ("content", "kind", "field"),
    [
        ("", REPLY, "content"),
        ("  \n ", REPLY, "content"),
        (None, REPLY, "content"),
        ("x" * (COMMENT_MAX_LENGTH + 1), REPLY, "content"),
        ("hi", "shout", "comment_type"),
    ],
)
def test_bad_comments_are_refused(db, content, kind, field):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        with pytest.raises(InvalidInput) as caught:
            _comment(session, ws, ticket, ws.tech, content, kind)
        assert caught.value.field == field
        assert count(session, TicketComment) == 0


def test_a_comment_moves_the_tickets_updated_at(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        set_updated_at(session, ticket, LONG_AGO)
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        _comment(session, ws, ticket, ws.tech, "note", NOTE)
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert ticket.updated_at > LONG_AGO
        set_updated_at(session, ticket, LONG_AGO)
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        _comment(session, ws, ticket, ws.alice, "reply")
    with db.session() as session:
        assert _reload(session, ws, ticket).updated_at > LONG_AGO


def test_first_public_staff_reply_stamps_first_response_once(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        _comment(session, ws, ticket, ws.alice, "hello?")  # the requester's own reply
        _comment(session, ws, ticket, ws.tech, "looking", NOTE)  # an internal note
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert ticket.first_response_at is None
        first = _comment(session, ws, ticket, ws.tech, "On it")
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert ticket.first_response_at == first.created_at
        _comment(session, ws, ticket, ws.admin, "Fixed")
        _comment(session, ws, ticket, ws.alice, "thanks")
    with db.session() as session:
        assert _reload(session, ws, ticket).first_response_at == first.created_at


def test_comments_are_listed_oldest_first_and_end_users_never_get_notes(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        _comment(session, ws, ticket, ws.alice, "1 help")
        _comment(session, ws, ticket, ws.tech, "2 note", NOTE)
        _comment(session, ws, ticket, ws.tech, "3 reply")
        _comment(session, ws, ticket, ws.admin, "4 note", NOTE)
        _comment(session, ws, ticket, ws.alice, "5 thanks")
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        everything = ["1 help", "2 note", "3 reply", "4 note", "5 thanks"]
        assert _contents(session, ticket, ws.actor(ws.tech)) == everything
        assert _contents(session, ticket, Actor.integration("REST")) == everything
        assert _contents(session, ticket, ws.actor(ws.alice)) == ["1 help", "3 reply", "5 thanks"]
        with pytest.raises(PermissionDenied):
            _contents(session, ticket, ws.actor(ws.bob))
        with pytest.raises(PermissionDenied):
            _contents(session, ticket, Actor(name="stranger", is_staff=False))


def test_comments_of_one_ticket_stay_on_it(db):
    with db.session() as session:
        ws = make_workspace(session)
        first, second = file_ticket(session, ws), file_ticket(session, ws)
        _comment(session, ws, first, ws.tech, "on first")
        _comment(session, ws, second, ws.tech, "on second")
        assert _contents(session, first, ws.actor(ws.tech)) == ["on first"]
        assert _contents(session, second, ws.actor(ws.alice)) == ["on second"]


def test_only_the_author_edits_a_comment(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        note = _comment(session, ws, ticket, ws.tech, "typo", NOTE)
        mine = _comment(session, ws, ticket, ws.alice, "my typo")
        for someone in (ws.actor(ws.admin), ws.actor(ws.alice), Actor.integration("REST")):
            with pytest.raises(PermissionDenied):
                svc.edit_comment(session, comment=note, actor=someone, content="hijacked")
        with pytest.raises(PermissionDenied):
            svc.edit_comment(session, comment=mine, actor=ws.actor(ws.tech), content="x")
        with pytest.raises(InvalidInput) as caught:
            svc.edit_comment(session, comment=note, actor=ws.actor(ws.tech), content="  ")
        assert caught.value.field == "content"
        with pytest.raises(InvalidInput):
            svc.edit_comment(
                session,
                comment=note,
                actor=ws.actor(ws.tech),
                content="x" * (COMMENT_MAX_LENGTH + 1),
            )
        svc.edit_comment(session, comment=note, actor=ws.actor(ws.tech), content=" fixed ")
        svc.edit_comment(session, comment=mine, actor=ws.actor(ws.alice), content="better")
    with db.session() as session:
        assert session.get(TicketComment, note.id).content == "fixed"
        assert session.get(TicketComment, mine.id).content == "better"


# --- attachments ----------------------------------------------------------------------------


def _attach(session, ws, ticket, member_or_actor, filename="shot.png", **kwargs):
    actor = (
        member_or_actor if isinstance(member_or_actor, Actor) else Actor.for_member(member_or_actor)
    )
    return svc.add_attachment(
        session,
        organization=ws.organization,
        ticket=ticket,
        actor=actor,
        filename=filename,
        **kwargs,
    )


def _filenames(session, ticket, viewer):
    return [a.filename for a in svc.list_attachments(session, ticket=ticket, viewer=viewer)]


def test_attachments_record_their_metadata_and_uploader(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        set_updated_at(session, ticket, LONG_AGO)
        added = _attach(
            session,
            ws,
            ticket,
            ws.tech,
            " error.png ",
            file_url="https://files.example/error.png",
            file_type="image/png",
            file_size=245678,
            is_internal=False,
        )
    with db.session() as session:
        stored = session.get(TicketAttachment, added.id)
        assert (stored.filename, stored.file_url, stored.file_type, stored.file_size) == (
            "error.png",
            "https://files.example/error.png",
            "image/png",
            245678,
        )
        assert (stored.uploaded_by, stored.uploaded_by_name, stored.is_internal) == (
            ws.tech.id,
            "Tom Tech",
            False,
        )
        assert stored.organization_id == ws.organization.id
        assert _reload(session, ws, ticket).updated_at > LONG_AGO


def test_attachment_rules_for_end_users_and_listing(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)  # Alice's
        _attach(session, ws, ticket, ws.tech, "1-internal-by-default.log")
        _attach(session, ws, ticket, ws.alice, "2-alice.png", is_internal=False)
        _attach(session, ws, ticket, ws.tech, "3-public.pdf", is_internal=False)
        _attach(session, ws, ticket, Actor.integration("REST"), "4-internal.txt", is_internal=True)
        with pytest.raises(PermissionDenied):
            _attach(session, ws, ticket, ws.alice, "secret.png", is_internal=True)
        with pytest.raises(PermissionDenied):
            _attach(session, ws, ticket, ws.alice, "default-is-internal.png")
        with pytest.raises(PermissionDenied):
            _attach(session, ws, ticket, ws.bob, "bob.png", is_internal=False)
        assert count(session, TicketAttachment) == 4
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        everything = [
            "1-internal-by-default.log",
            "2-alice.png",
            "3-public.pdf",
            "4-internal.txt",
        ]
        assert _filenames(session, ticket, ws.actor(ws.admin)) == everything
        assert _filenames(session, ticket, ws.actor(ws.alice)) == ["2-alice.png", "3-public.pdf"]
        with pytest.raises(PermissionDenied):
            _filenames(session, ticket, ws.actor(ws.bob))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"filename": ""}, "filename"),
        ({"filename": "   "}, "filename"),
        ({"filename": "f" * 256}, "filename"),
        ({"file_size": -1}, "file_size"),
    ],
)
def test_bad_attachments_are_refused(db, kwargs, field):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        with pytest.raises(InvalidInput) as caught:
            _attach(session, ws, ticket, ws.tech, **kwargs)
        assert caught.value.field == field
        assert count(session, TicketAttachment) == 0


def test_comments_for_a_page_of_tickets_follow_the_same_visibility(db):
    with db.session() as session:
        ws = make_workspace(session)
        first = file_ticket(session, ws, requester=ws.alice)
        second = file_ticket(session, ws, requester=ws.alice)
        bobs = file_ticket(session, ws, requester=ws.bob)
        for ticket in (first, second):
            svc.add_comment(
                session,
                organization=ws.organization,
                ticket=ticket,
                actor=ws.actor(ws.tech),
                content="secret",
                comment_type=CommentType.INTERNAL_NOTE,
            )
            svc.add_comment(
                session,
                organization=ws.organization,
                ticket=ticket,
                actor=ws.actor(ws.tech),
                content=f"hello {ticket.ticket_number}",
                comment_type=CommentType.PUBLIC_REPLY,
            )
        as_alice = svc.list_comments_for_tickets(
            session, tickets=[first, second], viewer=ws.actor(ws.alice)
        )
        assert {k: [c.content for c in v] for k, v in as_alice.items()} == {
            first.id: [f"hello {first.ticket_number}"],
            second.id: [f"hello {second.ticket_number}"],
        }
        as_staff = svc.list_comments_for_tickets(session, tickets=[first], viewer=ws.actor(ws.tech))
        assert [c.content for c in as_staff[first.id]] == ["secret", "hello 1"]
        with pytest.raises(PermissionDenied):
            svc.list_comments_for_tickets(session, tickets=[first, bobs], viewer=ws.actor(ws.alice))
