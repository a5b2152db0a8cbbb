"""Slack-side helpers: people and staff lists, installs, the tenant cache, event
de-duplication, file transfer."""
