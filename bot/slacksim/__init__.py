"""Slack simulator for end-to-end tests and ``ticketbot demo``.

``SlackSimulator`` is a local Slack Web API (point slack_sdk's ``WebClient`` at
``sim.api_url``) holding workspace state; ``SlackDriver`` sends an app the signed requests
Slack would send.  Self-contained: standard library and slack_sdk only, no Ticketbot imports.
"""

from .blockkit import BlockKitLimits, validate_blocks, validate_view
from .driver import DriverResponse, SlackDriver, compute_signature
from .records import APP_ID, RecordedCall, SlackError, Team
from .server import SlackSimulator

__all__ = [
    "APP_ID",
    "BlockKitLimits",
    "DriverResponse",
    "RecordedCall",
    "SlackDriver",
    "SlackError",
    "SlackSimulator",
    "Team",
    "compute_signature",
    "validate_blocks",
    "validate_view",
]
