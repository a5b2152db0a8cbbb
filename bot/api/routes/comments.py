"""REST: a ticket's comments (public replies and internal notes)."""

from bot.api import intake
from bot.api.deps import (
    JSON_BODY_MAX_BYTES,
    Caller,
    RuntimeDep,
    TicketId,
    api_router,
    organization_of,
    ticket_of,
)
from bot.api.errors import error_responses
from bot.api.schemas import CommentCreateRequest, CommentList
from bot.flows import conversation
from bot.flows import tickets as ticket_flows
from bot.services import comments as comment_service
from models.comment import TicketCommentPublic

router = api_router(tags=["comments"])


@router.post(
    "/tickets/{ticket_id}/comments",
    status_code=201,
    summary="Comment on a ticket",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(403, 404, 413, 422),
)
def create_comment(
    ticket_id: TicketId, body: CommentCreateRequest, caller: Caller, runtime: RuntimeDep
) -> TicketCommentPublic:
    """A public reply is sent to the requester by DM; an internal note goes to the
    card's thread in the staff channel only. A public reply of the requester to a closed
    ticket opens a follow-up ticket linked to it and is saved there (see `ticket_id`)."""
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        ticket = ticket_of(session, caller, ticket_id)
        author = intake.comment_author(
            session, organization=organization, caller=caller, author_id=body.author_id
        )
        if author.member is not None and intake.reopens_as_follow_up(
            ticket, author, body.comment_type
        ):
            ticket = conversation.open_follow_up(
                session,
                organization=organization,
                ticket=ticket,
                requester=author.member,
                text="",
            )
        comment = ticket_flows.add_comment(
            session,
            organization=organization,
            ticket=ticket,
            actor=author,
            content=body.content,
            comment_type=body.comment_type,
        )
        return TicketCommentPublic.model_validate(comment)


@router.get(
    "/tickets/{ticket_id}/comments",
    summary="List a ticket's comments",
    responses=error_responses(404, 422),
)
def list_comments(ticket_id: TicketId, caller: Caller, runtime: RuntimeDep) -> CommentList:
    """Oldest first, internal notes included (a token acts with staff rights)."""
    with runtime.db.session() as session:
        ticket = ticket_of(session, caller, ticket_id)
        found = comment_service.list_comments(session, ticket=ticket, viewer=caller.actor)
        return CommentList(items=[TicketCommentPublic.model_validate(c) for c in found])
