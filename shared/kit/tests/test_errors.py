"""`crm_kit.errors`: what a use case raises becomes the same 4xx answer in every service."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Query

from crm_kit import errors

pytestmark = pytest.mark.unit


class IllegalMove(errors.Conflict):
    """A domain's own error keeps its message and takes its parent's status."""


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.post("/thing")
    async def thing() -> None:
        raise error

    return app


async def answer(error: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_raising(error))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/thing")


@pytest.mark.parametrize(
    ("error", "status", "code", "params", "detail"),
    [
        (errors.NotFound("quote", 42), 404, "not_found", {"kind": "quote", "key": 42}, "quote 42 not found"),
        (
            errors.Forbidden("only its owner edits a lead", code="lead.not_owner"),
            403,
            "lead.not_owner",
            {},
            "only its owner edits a lead",
        ),
        (
            errors.Conflict(
                "the quote is approved", code="quote.not_editable", params={"status": "approved"}
            ),
            409,
            "quote.not_editable",
            {"status": "approved"},
            "the quote is approved",
        ),
        (IllegalMove("cannot move from won to lost"), 409, "conflict", {}, "cannot move from won to lost"),
        (errors.Invalid("valid_until is in the past"), 422, "invalid", {}, "valid_until is in the past"),
        (
            errors.TooLarge("the file is larger than 5 MB"),
            413,
            "too_large",
            {},
            "the file is larger than 5 MB",
        ),
        (
            errors.Invalid.at(
                ("body", "owner_id"), "is not active", code="owner.inactive", params={"owner": "u1"}
            ),
            422,
            "owner.inactive",
            {"owner": "u1"},
            [
                {
                    "loc": ["body", "owner_id"],
                    "msg": "is not active",
                    "type": "owner.inactive",
                    "ctx": {"owner": "u1"},
                }
            ],
        ),
        (
            errors.Invalid.many(
                [
                    errors.At(("body", "lines", 0), "unknown product", "product.unknown", {"product": "P-1"}),
                    errors.At(("body", "name"), "required", "name.required"),
                ]
            ),
            422,
            "invalid",
            {},
            [
                {
                    "loc": ["body", "lines", 0],
                    "msg": "unknown product",
                    "type": "product.unknown",
                    "ctx": {"product": "P-1"},
                },
                {"loc": ["body", "name"], "msg": "required", "type": "name.required", "ctx": {}},
            ],
        ),
        (
            errors.Conflict(
                "possible duplicates",
                code="customer.possible_duplicates",
                detail={"message": "possible duplicates", "duplicates": []},
            ),
            409,
            "customer.possible_duplicates",
            {},
            {"message": "possible duplicates", "duplicates": []},
        ),
    ],
)
async def test_each_error_is_a_problem_document_with_its_code_params_and_detail(
    error: Exception, status: int, code: str, params: object, detail: object
) -> None:
    response = await answer(error)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": f"urn:crm:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "params": params,
        "detail": detail,
    }


async def test_not_yet_is_a_503_that_says_when_to_try_again() -> None:
    response = await answer(
        errors.NotYet("customer 7 is not known here yet", code="customer.not_yet", retry_after_s=3)
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"
    assert response.json()["detail"] == "customer 7 is not known here yet"
    assert response.json()["code"] == "customer.not_yet"
    assert (await answer(errors.NotYet("soon", retry_after_s=0))).headers["retry-after"] == "1"
    assert "retry-after" not in (await answer(errors.Conflict("no"))).headers


def test_a_many_problem_error_reads_as_one_sentence() -> None:
    error = errors.Invalid.many(
        [errors.At(("body", "a"), "required", "a"), errors.At(("body", "b"), "too long", "b")]
    )
    assert str(error) == "required; too long"


async def test_request_validation_and_http_exceptions_answer_the_same_shape() -> None:
    app = app_raising(errors.Invalid("x"))

    @app.get("/typed")
    async def typed(limit: Annotated[int, Query(ge=1)]) -> int:
        return limit

    @app.get("/role")
    async def role() -> None:
        raise HTTPException(403, errors.coded("role_needed", "needs role admin", roles=["admin"]))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        invalid = await client.get("/typed", params={"limit": 0})
        refused = await client.get("/role")
        missing = await client.get("/nowhere")
    assert invalid.status_code == 422 and invalid.headers["content-type"] == "application/problem+json"
    body = invalid.json()
    assert body["code"] == "validation_failed"
    assert body["detail"][0]["type"] == "greater_than_equal" and body["detail"][0]["ctx"] == {"ge": 1}
    assert refused.status_code == 403
    assert refused.json()["code"] == "role_needed"
    assert refused.json()["params"] == {"roles": ["admin"]}
    assert refused.json()["detail"] == "needs role admin"
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_a_value_the_database_refuses_is_a_coded_422() -> None:
    from sqlalchemy import exc as sa_exc

    class Refused(Exception):
        sqlstate = "22003"

    response = await answer(sa_exc.DBAPIError("INSERT", {}, Refused("integer out of range")))
    assert response.status_code == 422
    assert response.json()["code"] == "value_not_storable"


async def test_any_other_exception_is_still_a_server_error() -> None:
    transport = httpx.ASGITransport(app=app_raising(RuntimeError("bug")), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/thing")
    assert response.status_code == 500


def test_the_openapi_document_says_a_422_detail_may_be_a_sentence() -> None:
    app = app_raising(errors.Invalid("x"))

    @app.get("/typed")
    async def typed(limit: int) -> int:
        return limit

    detail = app.openapi()["components"]["schemas"]["HTTPValidationError"]["properties"]["detail"]
    assert {"type": "string"} in detail["anyOf"]
