"""`ticketbot demo` tells the whole story and exits 0."""

from __future__ import annotations

import re

from bot.cli import main


def test_demo_runs_end_to_end(capsys, tmp_path):
    assert main(["demo", "--database", str(tmp_path / "demo.db")]) == 0
    out = capsys.readouterr().out
    staff, alice, bob = (
        out.split("What Tom sees")[1].split("What Alice sees")[0],
        out.split("What Alice sees")[1].split("What Bob sees")[0],
        out.split("What Bob sees")[1],
    )
    assert "#1 My laptop won't connect to the VPN" in staff
    assert "#2 The 3rd floor printer jams on every page" in staff
    assert "Tom took this" in staff and "Tom set status to Pending" in staff
    assert "waiting for your answer" in alice  # Pending set with the reply: a question asked
    assert "@Tom set status" not in staff  # change lines name, they do not ping
    assert "Alice answered: back to Open" in staff
    assert "[*Assign to me*]" in staff  # card #2, unassigned: the primary button
    assert "[Reopen] [⋯ Add internal note · Unassign]" in staff  # card #1, closed by Alice
    assert "Alice confirmed it's fixed: closed" in staff
    assert "Client: none" not in staff and "Category: none" not in staff
    # The story spans hours (the SLA steps move its clock): card #2 has aged since.
    assert re.search(r"Opened \d+ h ago · waiting on IT", staff)
    assert "Internal note from Tom" in staff
    assert "vpn-connected.png" in staff  # Alice's screenshot, shared into the staff thread
    assert "Tom set status to Resolved" in staff
    # SLAs: each card shows one SLA line; Bob's unanswered ticket warns, then breaches.
    assert "Resolution met" in staff
    assert "First response breached" in staff
    assert "first response due in 1 h" in staff and "75% of the time is used" in staff
    assert "first response breached. It was due" in staff
    assert "Tom logged 25 min (billable) — Renewed the VPN certificate" in staff
    assert "Renewed the VPN certificate" not in alice  # time entries are staff-only
    assert "The card says: :stopwatch: Tom" in out and " since " in out
    assert "Tom logged 20 min (billable)" in staff  # the timer, started and stopped
    assert "Ticket #1 received" in alice
    assert "I renewed your VPN certificate" in alice
    # The resolved notice's buttons, as Alice saw them before she answered.
    seen = out.split("Alice sees:")[1].split("▶")[0]
    assert "is resolved. Is it fixed for you?" in seen
    assert "[*It's fixed*] [Still broken]" in seen
    # One conversation: her It's fixed turned the notice into the survey.
    assert "Glad it's fixed! Ticket #1 is closed.\n        How did we do?" in alice
    assert "reply here and it reopens" not in alice
    # The satisfaction survey: asked of Alice, answered, shown to the staff.
    assert "How did we do? Tell us how ticket #1 went." in alice
    assert "You answered Good. Thank you!" in alice
    assert "[*Good*] [Bad] [Add a comment]" in alice  # her answer stands out
    assert "Alice rated the support Good." in staff
    assert "Fixed within the hour, thanks Tom." in staff
    assert "satisfaction: Good" in staff
    assert "certificate expired yesterday" not in alice  # the internal note stays internal
    assert "Tom filed your message in #general as ticket #2" in bob  # who, what, where
    assert "Filed as ticket #2" in bob
    assert "0 Slack messages failed to deliver" in out
    assert (tmp_path / "demo.db").exists()
