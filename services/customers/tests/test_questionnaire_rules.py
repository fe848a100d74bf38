"""What makes a questionnaire definition valid (schemas.QuestionnaireIn): no I/O."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from customers.schemas import QuestionnaireIn

pytestmark = pytest.mark.unit

GRADES = [
    {"min_score": 80, "review_interval_days": 90, "care_cadence_days": 7},
    {"min_score": 60, "review_interval_days": 120, "care_cadence_days": 14},
    {"min_score": 40, "review_interval_days": 180, "care_cadence_days": 30},
    {"min_score": 0, "review_interval_days": 365, "care_cadence_days": 60},
]
VALID: dict[str, Any] = {
    "name": "Xếp hạng đại lý",
    "scheme": {"kind": "abcd", "grades": GRADES},
    "criteria": [
        {
            "key": "size",
            "question": "Quy mô?",
            "weight": 2,
            "options": [
                {"value": "large", "label": "Lớn", "points": 100},
                {"value": "small", "label": "Nhỏ", "points": 0},
            ],
        },
        {
            "key": "late_days",
            "question": "Số ngày trả chậm?",
            "weight": 1,
            "range": {"min": 0, "max": 60, "descending": True},
        },
    ],
}


def changed(path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def errors(body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        QuestionnaireIn.model_validate(body)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


def test_a_fixed_scheme_gets_its_grade_names() -> None:
    q = QuestionnaireIn.model_validate(VALID)
    assert [g.name for g in q.scheme.grades] == ["A", "B", "C", "D"]
    vip = QuestionnaireIn.model_validate(changed(["scheme", "kind"], "vip"))
    assert [g.name for g in vip.scheme.grades] == ["VIP", "Tier I", "Tier II", "Tier III"]


def test_a_custom_scheme_names_its_grades() -> None:
    grades = [
        {"name": "Vàng", "min_score": 70, "review_interval_days": 60, "care_cadence_days": 7},
        {"name": "Bạc", "min_score": 0, "review_interval_days": 180, "care_cadence_days": 30},
    ]
    q = QuestionnaireIn.model_validate(changed(["scheme"], {"kind": "custom", "grades": grades}))
    assert [g.name for g in q.scheme.grades] == ["Vàng", "Bạc"]
    unnamed = [{**g, "name": None} for g in grades]
    [(loc, msg)] = errors(changed(["scheme"], {"kind": "custom", "grades": unnamed}))
    assert loc == ("scheme", "grades") and "needs a name" in msg
    same = [grades[0], {**grades[1], "name": "vàng"}]
    assert "unique" in errors(changed(["scheme"], {"kind": "custom", "grades": same}))[0][1]


@pytest.mark.parametrize(
    ("path", "value", "loc", "says"),
    [
        (["criteria", 1, "key"], "size", ("criteria",), "size repeated"),
        (["scheme", "grades", 1, "min_score"], 80, ("scheme", "grades"), "strictly"),
        (["scheme", "grades", 2, "min_score"], 70, ("scheme", "grades"), "strictly"),
        (["scheme", "grades", 3, "min_score"], 5, ("scheme", "grades"), "must be 0"),
        (["scheme", "grades", 0, "min_score"], 101, ("scheme", "grades", 0, "min_score"), "100"),
        (["scheme", "grades", 0, "name"], "S", ("scheme", "grades"), "A, B, C, D"),
        (["scheme", "grades"], GRADES[:3], ("scheme", "grades"), "4 grades"),
        (["criteria", 0, "weight"], 0, ("criteria", 0, "weight"), "greater than 0"),
        (["criteria", 0, "weight"], -1, ("criteria", 0, "weight"), "greater than 0"),
        (["criteria", 0, "options"], [], ("criteria", 0, "options"), "at least 1"),
        (["criteria", 0, "options", 1, "value"], "large", ("criteria", 0, "options"), "large repeated"),
        (["criteria", 0, "options", 0, "points"], 120, ("criteria", 0, "options", 0, "points"), "100"),
        (["criteria", 1, "range"], {"min": 10, "max": 0}, ("criteria", 1, "range"), "below max"),
        (["criteria", 1, "range"], None, ("criteria", 1), "either options or a range"),
        (["criteria", 0, "range"], {"min": 0, "max": 1}, ("criteria", 0), "not both"),
        (["criteria", 0, "key"], "Quy mô", ("criteria", 0, "key"), "pattern"),
        (["criteria"], [], ("criteria",), "at least 1"),
        (["name"], "", ("name",), "at least 1"),
        (["scheme", "kind"], "stars", ("scheme", "kind"), "abcd"),
        (["owner"], "x", ("owner",), "not permitted"),
    ],
)
def test_an_invalid_definition_names_the_field(
    path: list[Any], value: Any, loc: tuple[Any, ...], says: str
) -> None:
    [(found_loc, msg)] = errors(changed(path, value))
    assert found_loc == loc
    assert says in msg
