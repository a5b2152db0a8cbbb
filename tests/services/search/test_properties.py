"""Property tests: any query of the grammar either runs or is refused with a QueryError
(never another error), and what it finds equals the plain Python oracle's answer; random
text over REST is a 200 or a 422, never a 500."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.api import tokens
from bot.app import create_app
from bot.runtime import build_runtime
from bot.services import search
from bot.services.search import QueryError
from bot.services.search.compile import SlaClock, TimeEntry
from tests.api.conftest import api_settings, bearer
from tests.services.search import naive
from tests.services.search.dataset import NOW, seed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from bot.web import create_web_app

VALUES = {
    "status": ["open", "pending", "in_progress", "in-progress", "resolved", "closed",
               "unresolved", "opne"],
    "priority": ["low", "medium", "high", "urgent", ">=high", "<medium", ">low", "<=urgent",
                 "hihg"],
    "assignee": ["me", "none", "<@UT0001A>", "<@UT0001T>", '"Ada Admin"', "bob", "<@UNOBODY>"],
    "requester": ["me", "none", "<@UT00011>", "<@UT00012>", "alice", '"Tom Tech"'],
    "client": ['"Acme Corp"', "globex", "none", "acme"],
    "category": ["hardware", "network", "software", "none", '"account & access"', "hardwre"],
    "created": [">7d", "<24h", ">=1d", "<30m", "2026-03-01", "2026-03-01..2026-03-15",
                "<2026-03-01", ">=2026-03-10", "2026-03-16..*", "7d", "yesterday"],
    "updated": [">7d", "<24h", "<2w", "2026-03-19"],
    "resolved": [">=2026-03-05", "<2026-03-05", ">1d", "2026-03-01"],
    "is": ["unassigned", "awaiting-us", "overdue", "overdu"],
    "has": ["attachment", "time", "attachments"],
    "due": ["<2h", "<4h", ">2h", "<=90m", "soon"],
    "sla": ["breached", "warning", "paused", "met", "none", "breach"],
    "sort": ["created-asc", "priority-desc", "updated-asc", "due-asc", "newest"],
    "asignee": ["me"],
}  # fmt: skip
WORDS = ["printer", "toner", "ZEBRA42", "paper", "jam", '"paper jam"', "vpn", "e-mail",
         "confidential", "finance", "nothing", "#3", "#12", "#99", "cable"]  # fmt: skip
UNAVAILABLE = {"due", "sla"} if SlaClock is None else set()
if TimeEntry is None:
    VALUES["has"] = ["attachment", "attachments"]
VALUES["is"] = [v for v in VALUES["is"] if not (SlaClock is None and v == "overdue")]
if SlaClock is None:
    VALUES["sort"] = [v for v in VALUES["sort"] if v != "due-asc"]


@st.composite
def terms(draw: st.DrawFn) -> str:
    negated = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        term = draw(st.sampled_from(WORDS))
    else:
        key = draw(st.sampled_from(sorted(set(VALUES) - UNAVAILABLE)))
        values = draw(st.lists(st.sampled_from(VALUES[key]), min_size=1, max_size=2))
        term = f"{key}:{','.join(values)}"
    return ("-" if negated else "") + term


queries = st.lists(terms(), max_size=4).map(" ".join)
CHECKS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def seeded(db):
    with db.session() as session:
        data = seed(session)
    return db, data


@CHECKS
@given(text=queries, as_requester=st.booleans())
def test_a_random_query_runs_or_is_refused_and_matches_the_oracle(
    seeded, text: str, as_requester: bool
) -> None:
    db, data = seeded
    member = data.ws.alice if as_requester else data.ws.tech
    scope = search.scope_for(
        data.ws.organization, member=member, is_staff=not as_requester, now=NOW
    )
    try:
        with db.read_session() as session:
            result = search.search(session, text=text, scope=scope, limit=200)
    except QueryError as error:
        assert error.position >= 1 and error.message
        return
    by_id = {t.id: k for k, t in data.tickets.items()}
    found = {by_id[t.id] for t in result.tickets}
    me = "alice" if as_requester else "tech"
    expected = naive.expected(search.parse(text), me=me, staff=not as_requester)
    assert found == expected, text
    assert result.total == len(found)
    assert result.description


@pytest.fixture
def rest(db, tmp_path: Path):
    app_settings = api_settings(tmp_path / "files")
    runtime = build_runtime(app_settings, db=db, migrate_schema=False, background_profiles=False)
    runtime.clock = lambda: NOW
    web = create_web_app(create_app(app_settings, runtime), runtime, run_background=False)
    with db.session() as session:
        data = seed(session)
        token = tokens.create_api_token(session, organization=data.ws.organization, name="t")
    with TestClient(web) as client:
        yield client, bearer(token.secret)
    runtime.stop_background()


@CHECKS
@given(text=st.one_of(queries, st.text(max_size=60)))
def test_any_text_over_rest_is_an_answer_or_a_422(rest, text: str) -> None:
    client, headers = rest
    response = client.get("/api/tickets", params={"q": text}, headers=headers)
    assert response.status_code in (200, 422), (text, response.text)
    if response.status_code == 422:
        assert response.json()["detail"]
