"""`crm_kit.errors`: what a use case raises becomes the same 4xx answer in every service."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

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
    ("error", "status", "detail"),
    [
        (errors.NotFound("quote", 42), 404, "quote 42 not found"),
        (errors.Forbidden("only its owner edits a lead"), 403, "only its owner edits a lead"),
        (errors.Conflict("the quote is approved"), 409, "the quote is approved"),
        (IllegalMove("cannot move from won to lost"), 409, "cannot move from won to lost"),
        (errors.Invalid("valid_until is in the past"), 422, "valid_until is in the past"),
        (errors.TooLarge("the file is larger than 5 MB"), 413, "the file is larger than 5 MB"),
        (
            errors.Invalid.at(("body", "owner_id"), "is not active"),
            422,
            [{"loc": ["body", "owner_id"], "msg": "is not active", "type": "value_error"}],
        ),
        (
            errors.Invalid.many([(("body", "lines", 0), "unknown product"), (("body", "name"), "required")]),
            422,
            [
                {"loc": ["body", "lines", 0], "msg": "unknown product", "type": "value_error"},
                {"loc": ["body", "name"], "msg": "required", "type": "value_error"},
            ],
        ),
        (
            errors.Conflict(
                "possible duplicates", detail={"message": "possible duplicates", "duplicates": []}
            ),
            409,
            {"message": "possible duplicates", "duplicates": []},
        ),
    ],
)
async def test_each_error_is_answered_with_its_status_and_detail(
    error: Exception, status: int, detail: object
) -> None:
    response = await answer(error)
    assert response.status_code == status
    assert response.json() == {"detail": detail}


async def test_not_yet_is_a_503_that_says_when_to_try_again() -> None:
    response = await answer(errors.NotYet("customer 7 is not known here yet", retry_after_s=3))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"
    assert response.json() == {"detail": "customer 7 is not known here yet"}
    assert (await answer(errors.NotYet("soon", retry_after_s=0))).headers["retry-after"] == "1"
    assert "retry-after" not in (await answer(errors.Conflict("no"))).headers


def test_a_many_problem_error_reads_as_one_sentence() -> None:
    error = errors.Invalid.many([(("body", "a"), "required"), (("body", "b"), "too long")])
    assert str(error) == "required; too long"


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
