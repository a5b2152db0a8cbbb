"""The table of queries and the tickets each finds in the seeded data set (dataset.py),
as the technician Tom ("me") sees them, unless a case says it is a requester's search."""

from __future__ import annotations

from dataclasses import dataclass

ALL = {
    "jam", "vpn", "email", "laptop", "password", "wifi",
    "monitor", "server", "toner", "drive", "phone", "adobe",
}  # fmt: skip
UNRESOLVED = {"jam", "vpn", "email", "wifi", "monitor", "server", "drive", "phone", "adobe"}
TOMS = {"jam", "vpn", "password", "monitor", "toner", "adobe"}
ALICES = {"jam", "email", "password", "monitor", "drive", "adobe"}


@dataclass(frozen=True)
class Case:
    query: str
    expected: set[str]
    order: tuple[str, ...] | None = None  # when the order is the point
    uses_me: bool = False  # `me` means nobody over REST (422 there)
    needs: str | None = None  # "sla" or "time": a table another part of Ticketbot adds


CASES: list[Case] = [
    Case("", ALL),
    # status
    Case("status:open", {"jam", "wifi", "monitor", "server", "phone", "adobe"}),
    Case(
        "status:open,pending",
        {"jam", "wifi", "monitor", "server", "phone", "adobe", "email", "drive"},
    ),
    Case("status:unresolved", UNRESOLVED),
    Case("status:in-progress", {"vpn"}),
    Case("status:in_progress", {"vpn"}),
    Case("status:resolved,closed", {"laptop", "password", "toner"}),
    Case("-status:closed", ALL - {"password"}),
    Case("Status:OPEN Priority:HIGH", {"jam"}),
    # priority
    Case("priority:high", {"jam", "drive"}),
    Case("priority:>=high", {"jam", "drive", "vpn", "server", "phone"}),
    Case("priority:>high", {"vpn", "server", "phone"}),
    Case("priority:<medium", {"laptop", "wifi", "adobe"}),
    Case("priority:<=medium", {"laptop", "wifi", "adobe", "email", "password", "monitor", "toner"}),
    Case("priority:low,urgent", {"laptop", "wifi", "adobe", "vpn", "server", "phone"}),
    Case("-priority:urgent", ALL - {"vpn", "server", "phone"}),
    # people
    Case("assignee:me", TOMS, uses_me=True),
    Case("assignee:none", {"email", "wifi", "phone"}),
    Case("assignee:me,none", TOMS | {"email", "wifi", "phone"}, uses_me=True),
    Case("assignee:<@UT0001A>", {"laptop", "server", "drive"}),
    Case('assignee:"Ada Admin"', {"laptop", "server", "drive"}),
    Case("assignee:tech@example.com", TOMS),
    Case("-assignee:me", ALL - TOMS, uses_me=True),
    Case("-assignee:<@UT0001T>", ALL - TOMS),
    Case("requester:<@UT00011>", ALICES),
    Case("requester:none", {"server"}),
    Case("-requester:<@UT00012>", ALICES | {"server"}),
    Case("requester:alice,bob -status:unresolved", {"laptop", "password", "toner"}),
    # client and category
    Case('client:"Acme Corp"', {"jam", "email", "password", "drive", "adobe"}),
    Case('client:"acme corp"', {"jam", "email", "password", "drive", "adobe"}),
    Case("client:globex", {"vpn", "wifi", "toner", "phone"}),
    Case("client:none", {"laptop", "monitor", "server"}),
    Case('-client:"Acme Corp"', {"vpn", "laptop", "wifi", "monitor", "server", "toner", "phone"}),
    Case("category:hardware", {"jam", "laptop", "server", "toner"}),
    Case("category:software,network", {"vpn", "wifi", "drive", "adobe"}),
    Case("category:none", {"monitor"}),
    Case('category:"account & access"', {"password"}),
    Case("-category:hardware", ALL - {"jam", "laptop", "server", "toner"}),
    # dates (Europe/Paris) and ages (now = 2026-03-20 12:00 UTC)
    Case("created:>7d", {"jam", "email", "laptop", "password", "monitor"}),
    Case("created:<24h", {"wifi", "server", "phone"}),
    Case(
        "created:>7d,<24h",
        {"jam", "email", "laptop", "password", "monitor", "wifi", "server", "phone"},
    ),
    Case("updated:<24h", {"vpn", "wifi", "server", "phone"}),
    Case("updated:>=1d", ALL - {"vpn", "wifi", "server", "phone"}),
    Case("created:2026-03-01", {"laptop", "password"}),
    Case(
        "created:2026-03-01..2026-03-15", {"laptop", "password", "jam", "monitor", "toner", "adobe"}
    ),
    Case("created:<2026-03-01", {"email"}),
    Case("created:2026-03-16..*", {"vpn", "wifi", "server", "drive", "phone"}),
    Case("resolved:>=2026-03-05", {"laptop", "toner"}),
    Case("resolved:<2026-03-05", {"password"}),
    Case("-resolved:>=2026-03-05", ALL - {"laptop", "toner"}),
    # number
    Case("#3", {"email"}),
    Case("-#3", ALL - {"email"}),
    Case("#99", set()),
    # flags
    Case("is:unassigned", {"email", "wifi", "phone"}),
    Case("is:unassigned status:open", {"wifi", "phone"}),
    Case("is:awaiting-us", {"vpn", "monitor", "drive", "adobe", "wifi", "server", "phone"}),
    Case("is:awaiting-us -is:unassigned", {"vpn", "monitor", "drive", "adobe", "server"}),
    Case("has:attachment", {"jam", "laptop", "drive"}),
    Case("has:attachment -status:resolved", {"jam", "drive"}),
    Case("-has:attachment", ALL - {"jam", "laptop", "drive"}),
    # free text
    Case("printer", {"jam", "toner"}),
    Case("PRINTER", {"jam", "toner"}),
    Case("toner", {"jam", "toner"}),
    Case("ZEBRA42", {"jam", "adobe"}),
    Case("zebra42 vendor", {"jam"}),
    Case('"paper jam"', {"jam"}),
    Case("paper jam", {"jam", "adobe"}),
    Case("confidential", {"monitor"}),
    Case("e-mail", {"email"}),
    Case("mail", {"email"}),
    Case("finance", {"drive"}),
    Case("printer -status:resolved", {"jam"}),
    Case("-printer", ALL - {"jam", "toner"}),
    Case('"paper jam" client:"Acme Corp"', {"jam"}),
    # combinations
    Case("status:open priority:>=high", {"jam", "server", "phone"}),
    Case("status:unresolved assignee:me created:>7d", {"jam", "monitor"}, uses_me=True),
    Case("client:globex priority:urgent", {"vpn", "phone"}),
    # SLA and time
    Case("due:<2h", {"jam", "vpn", "server"}, needs="sla"),
    Case("due:<4h", {"jam", "vpn", "server", "wifi"}, needs="sla"),
    Case("due:>2h", {"wifi"}, needs="sla"),
    Case("sla:breached", {"vpn", "password"}, needs="sla"),
    Case("sla:warning", {"jam", "server"}, needs="sla"),
    Case("sla:paused", {"email"}, needs="sla"),
    Case("sla:met", {"jam", "laptop", "password"}, needs="sla"),
    Case("sla:none", {"monitor", "toner", "drive", "phone", "adobe"}, needs="sla"),
    Case("sla:breached,paused", {"vpn", "password", "email"}, needs="sla"),
    Case("-sla:breached", ALL - {"vpn", "password"}, needs="sla"),
    Case("is:overdue", {"vpn"}, needs="sla"),
    # "Breaching soon": due before X and not overdue, compiled as one window of the clocks
    Case("due:<2h -is:overdue", {"jam", "server"}, needs="sla"),
    Case("-is:overdue due:<=4h", {"jam", "server", "wifi"}, needs="sla"),
    Case("due:<2h is:overdue", {"vpn"}, needs="sla"),
    Case("has:time", {"jam", "laptop", "toner"}, needs="time"),
    Case("-has:time status:unresolved", UNRESOLVED - {"jam"}, needs="time"),
    # order
    Case(
        "status:open sort:created-asc",
        {"jam", "monitor", "adobe", "phone", "server", "wifi"},
        order=("jam", "monitor", "adobe", "phone", "server", "wifi"),
    ),
    Case(
        "status:open sort:priority-desc",
        {"server", "phone", "jam", "monitor", "wifi", "adobe"},
        order=("server", "phone", "jam", "monitor", "wifi", "adobe"),
    ),
    Case(
        "status:unresolved",
        UNRESOLVED,
        order=("wifi", "vpn", "server", "phone", "jam", "drive", "email", "adobe", "monitor"),
    ),
    Case(
        "sort:due-asc status:unresolved",
        UNRESOLVED,
        order=("vpn", "jam", "server", "wifi", "email", "monitor", "drive", "phone", "adobe"),
        needs="sla",
    ),
]

# A requester's searches (Alice): her own tickets' public side only.
REQUESTER_CASES: list[Case] = [
    Case("", ALICES),
    Case("ZEBRA42", set()),
    Case("confidential", set()),
    Case("cable", set()),
    Case("toner", {"jam"}),
    Case("finance", {"drive"}),
    Case("has:attachment", {"jam", "drive"}),
    Case("status:unresolved", ALICES - {"password"}),
    Case("assignee:me", set(), uses_me=True),
    Case("requester:me", ALICES, uses_me=True),
]

# (query, words the error must contain)
ERROR_CASES: list[tuple[str, tuple[str, ...]]] = [
    ("asignee:me", ("unknown key `asignee`", "did you mean `assignee`?", "character 1")),
    ("status:opne", ("unknown status `opne`", "did you mean `open`?", "character 8")),
    ("priority:hihg", ("unknown priority `hihg`", "`high`")),
    ("client:acme", ("unknown client `acme`", "`Acme Corp`")),
    ("category:hardwre", ("unknown category `hardwre`", "`hardware`")),
    ('assignee:"Tom Tec"', ("unknown person `Tom Tec`", "`Tom Tech`")),
    ("assignee:<@UNOBODY>", ("nobody Ticketbot knows",)),
    ("is:overdu", ("`overdue`",)),
    ("has:attachments", ("`attachment`",)),
    ("sla:breach", ("`breached`",)),
    ("sort:newest", ("unknown sort order `newest`",)),
    ("created:7d", ("`created:>7d`", "7 days")),
    ("created:yesterday", ("not a date",)),
    ("created:2026-02-30", ("not a real date",)),
    ("created:2026-03-05..2026-03-01", ("ends before it starts",)),
    ('"paper jam', ("quote is not closed",)),
    ("status:", ("needs a value",)),
    ("-", ("`-` needs a term",)),
    ("status:>open", ("does not compare",)),
    ("!!!", ("no letters or digits",)),
    ("sort:created-asc sort:updated-desc", ("only once",)),
    ('assignee:"a\x00b"', ("NUL character",)),
]
