"""The outbox: `rows` (writing a row), `messages` (which Slack messages a change causes),
`render` (drawn at delivery), `worker` (delivery)."""
