"""`ticketbot demo` tells the whole story and exits 0."""

from __future__ import annotations

from bot.cli import main


def test_demo_runs_end_to_end(capsys, tmp_path):
    assert main(["demo", "--database", str(tmp_path / "demo.db")]) == 0
    out = capsys.readouterr().out
    assert "#1 My laptop won't connect to the VPN" in out
    assert "#2 The 3rd floor printer jams on every page" in out
    assert "@Tom set status to Pending" in out
    assert "Ticket #1 received" in out and "Ticket #2 received" in out
    assert "Filed as ticket #2" in out
    assert "0 Slack messages failed to deliver" in out
    assert (tmp_path / "demo.db").exists()
