"""The REST API's routes, one module per resource: parse, authenticate, one unit of work
around a service or flow call, answer with the model's Public shape."""

from fastapi import APIRouter

from bot.api.deps import api_router
from bot.api.routes import attachments, comments, reports, settings, tickets, views
from bot.core.settings import Settings


def create_api_router(config: Settings) -> APIRouter:
    """The REST API, to be mounted at /api. Tokens decide the organization."""
    router = api_router()
    router.include_router(tickets.router)
    router.include_router(comments.router)
    router.include_router(views.router)
    router.include_router(attachments.build_router(config.max_attachment_bytes))
    router.include_router(settings.router)
    router.include_router(reports.router)
    return router
