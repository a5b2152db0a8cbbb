"""Use cases: each runs in the caller's unit of work, a service call plus the outbox rows
it causes. No Slack calls."""
