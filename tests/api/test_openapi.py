"""The OpenAPI document describes the API well enough to drive a client, and a
property-based run against it finds no server error and no answer off its own schema."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode

from tests.api.conftest import Api

OPERATIONS = {
    ("/api/tickets", "post"): "create_ticket",
    ("/api/tickets", "get"): "list_tickets",
    ("/api/tickets/{ticket_id}", "get"): "get_ticket",
    ("/api/tickets/{ticket_id}", "patch"): "update_ticket",
    ("/api/tickets/{ticket_id}/comments", "post"): "create_comment",
    ("/api/tickets/{ticket_id}/comments", "get"): "list_comments",
    ("/api/tickets/{ticket_id}/attachments", "post"): "create_attachment",
    ("/api/tickets/{ticket_id}/attachments", "get"): "list_attachments",
    (
        "/api/tickets/{ticket_id}/attachments/{attachment_id}/content",
        "get",
    ): "download_attachment_content",
    ("/api/views", "post"): "create_view",
    ("/api/views", "get"): "list_views",
    ("/api/views/{view_id}", "get"): "get_view",
    ("/api/views/{view_id}", "patch"): "update_view",
    ("/api/views/{view_id}", "delete"): "delete_view",
    ("/api/settings", "get"): "get_settings",
    ("/api/settings", "patch"): "update_settings",
    ("/api/reports/csat", "get"): "csat_report",
    ("/api/reports/monthly", "get"): "monthly_report",
}


@pytest.fixture
def document(api: Api) -> dict:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_document_lists_the_api_and_nothing_else(document):
    operations = {
        (path, method): operation["operationId"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert operations == OPERATIONS


def test_every_operation_needs_the_bearer_token_and_declares_its_answers(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token made with `ticketbot api-token create --team TEAM_ID`.",
    }
    error_ref = {"$ref": "#/components/schemas/ApiErrorBody"}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            responses = operation["responses"]
            assert responses["401"]["content"]["application/json"]["schema"] == error_ref
            assert responses["422"]["content"]["application/json"]["schema"] == error_ref
            if "{ticket_id}" in path:
                assert "404" in responses
    tickets = document["paths"]["/api/tickets"]
    assert set(tickets["post"]["responses"]) >= {"200", "201", "401", "413", "422"}
    created = tickets["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/TicketPublic"}
    listing = tickets["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing == {"$ref": "#/components/schemas/TicketPage"}
    header = next(p for p in tickets["post"]["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key"


def test_request_schemas_refuse_unknown_fields_and_name_the_models_fields(document):
    schemas = document["components"]["schemas"]
    create = schemas["TicketCreateRequest"]
    assert create["additionalProperties"] is False
    assert create["required"] == ["title"]
    assert {
        "title",
        "description",
        "priority",
        "category",
        "client_company_id",
        "device_id",
        "requester_id",
        "requester_slack_user_id",
        "requester_email",
    } <= set(create["properties"])
    assert schemas["TicketUpdateRequest"]["additionalProperties"] is False
    assert schemas["CommentCreateRequest"]["required"] == ["content", "comment_type"]
    assert set(schemas["TicketPublic"]["properties"]) >= {
        "id",
        "ticket_number",
        "requester_id",
        "assigned_staff_id",
        "client_company_id",
        "device_id",
        "created_at",
        "updated_at",
    }
    assert set(schemas["TicketCommentPublic"]["properties"]) >= {"comment_type", "author_type"}
    assert "file_url" in schemas["TicketAttachmentPublic"]["properties"]
    assert schemas["TicketStatus"]["enum"] == [
        "open",
        "in_progress",
        "pending",
        "resolved",
        "closed",
    ]


# --- property-based run -------------------------------------------------------------------

# What each generated request is checked for. Negative data (outside the document: unknown
# fields, wrong types, unknown values) must be refused, positive data must not break anything.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# (kind of data, ids in the path: those of the seeded ticket or generated ones, examples)
RUNS = [
    (GenerationMode.POSITIVE, "seeded", 12),
    (GenerationMode.POSITIVE, "generated", 5),
    (GenerationMode.NEGATIVE, "generated", 10),
]


def test_generated_requests_get_no_server_error_and_answers_that_match_the_document(api: Api):
    # Something for generated requests to find: a ticket with a comment and a stored file.
    ticket = api.file()
    api.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "hi", "comment_type": "public_reply"},
    )
    attachment = api.post(
        f"/api/tickets/{ticket['id']}/attachments",
        json={"filename": "a", "content_base64": "YQ=="},
    ).json()
    seeded_ids = {"ticket_id": ticket["id"], "attachment_id": attachment["id"]}
    # The token is given to schemathesis rather than added to each request, so that its
    # negative cases can leave it out or spoil it (and expect a 401).
    config = SchemathesisConfig.from_dict(
        {"auth": {"openapi": {"bearerAuth": {"bearer": api.token}}, "auto-signup": False}}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
    statuses: Counter[int] = Counter()
    for operation in operations:
        for mode, ids, examples in RUNS:
            path_ids = {k: v for k, v in seeded_ids.items() if "{" + k + "}" in operation.path}
            strategy = operation.as_strategy(
                generation_mode=mode, path_parameters=path_ids if ids == "seeded" else None
            )

            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def exchange(case: schemathesis.Case) -> None:
                response = case.call_and_validate(checks=CHECKS)
                statuses[response.status_code] += 1

            exchange()
    # The run got past validation into the operations, and through each kind of refusal.
    assert all(statuses[status] for status in (200, 201, 401, 404, 422)), statuses
