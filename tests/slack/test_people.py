"""Who is staff: the staff channel's members, asked of Slack once and then kept fresh in
the background, so that no request waits for Slack after the first."""

from __future__ import annotations

import threading
from typing import Any

from bot.core.db import Database
from bot.services import organizations as orgs
from bot.slack.people import SlackDirectory


class StaffChannel:
    """Stands in for the Web API client: answers conversations.members, or holds the
    answer back until the test lets it go (Slack being slow, or down)."""

    def __init__(self, members: list[str]) -> None:
        self.members = members
        self.calls = 0
        self.answer = threading.Event()
        self.answer.set()
        self.asked = threading.Event()

    def conversations_members(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        self.asked.set()
        self.answer.wait(timeout=30)
        return {"ok": True, "members": list(self.members), "response_metadata": {}}


def test_an_expired_staff_list_is_answered_at_once_and_fetched_again_behind(
    sqlite_db: Database,
):
    with sqlite_db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id="T0DIR")
    slack = StaffChannel(["U0TECH"])
    directory = SlackDirectory(
        sqlite_db,
        lambda _organization: slack,  # type: ignore[arg-type, return-value]
        default_staff_channel="C0STAFF",
        staff_cache_seconds=0,  # every list is expired at once
        background=True,
    )
    try:
        assert directory.staff_channel_members(organization) == {"U0TECH"}  # asked, waited
        assert slack.calls == 1

        slack.answer.clear()  # Slack stops answering
        slack.asked.clear()
        slack.members = ["U0TECH", "U0NEWTECH"]
        answered: list[frozenset[str]] = []
        request = threading.Thread(
            target=lambda: answered.append(directory.staff_channel_members(organization))
        )
        request.start()
        request.join(timeout=10)  # a request waiting on Slack would still be waiting
        assert answered == [frozenset({"U0TECH"})]
        assert slack.asked.wait(timeout=10)  # ...while the list is asked for behind it
        assert directory.staff_channel_members(organization) == {"U0TECH"}
        assert slack.calls == 2  # one refresh at a time

        slack.answer.set()  # Slack is back: the next request sees the fresh list
        for _ in range(100):
            if directory.staff_channel_members(organization) == {"U0TECH", "U0NEWTECH"}:
                break
            threading.Event().wait(0.05)
        assert directory.staff_channel_members(organization) >= {"U0NEWTECH"}
    finally:
        slack.answer.set()
        directory.close()


def test_staff_lists_are_read_when_the_server_starts(sqlite_db: Database):
    with sqlite_db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id="T0WARM")
    slack = StaffChannel(["U0TECH"])
    directory = SlackDirectory(
        sqlite_db,
        lambda _organization: slack,  # type: ignore[arg-type, return-value]
        default_staff_channel="C0STAFF",
        staff_cache_seconds=60,
        background=True,
    )
    try:
        directory.warm_up([organization])
        assert slack.asked.wait(timeout=10)
        for _ in range(100):  # the answer is being stored
            if directory.has_staff_list(organization):
                break
            threading.Event().wait(0.05)
        slack.answer.clear()  # from now on Slack would keep a request waiting
        assert directory.staff_channel_members(organization) == {"U0TECH"}
        assert slack.calls == 1
    finally:
        slack.answer.set()
        directory.close()
