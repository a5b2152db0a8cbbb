"""The REST API for integrations (monitoring tools, scripts, billing), mounted at /api."""

from bot.api.routes import create_api_router

__all__ = ["create_api_router"]
