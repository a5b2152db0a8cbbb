"""The REST API for integrations (monitoring tools, scripts, billing), mounted at /api by
`bot.web` (routes in `bot.api.routes`)."""
