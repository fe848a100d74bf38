"""Every refusal a service can send has words in Vietnamese and English.

The services refuse with a code (`crm_kit.errors`). `docs/problem_codes.py` walks the
source of every service and of the kit and finds each code and each kind of record a
`NotFound` names; this checks that the web UI's catalogues say every one in both
languages, with no placeholder that the refusal does not give. It also fails on a
refusal without a code, so a new one cannot slip by as an English sentence.
"""

from __future__ import annotations

import importlib.util
import string
import sys
from pathlib import Path

import pytest

from crm_kit import errors
from gateway.ui import i18n

ROOT = Path(__file__).resolve().parents[3]


def _walker():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("problem_codes", ROOT / "docs" / "problem_codes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["problem_codes"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


FOUND = _walker().walk()
#: The codes the kit's handlers give on their own, besides those raised in the tree.
OWN = [
    *errors.DEFAULT_CODES.values(),
    errors.VALIDATION_FAILED,
    errors.VALUE_NOT_STORABLE,
    errors.CHANGED_CONCURRENTLY,
    errors.TRY_AGAIN,
]


def test_the_walk_finds_the_refusals() -> None:
    # A walk that found nothing would pass everything below.
    assert len(FOUND.raised) > 150 and "customer" in FOUND.kinds


def test_every_refusal_says_its_code() -> None:
    assert FOUND.uncoded == [], "refusals without a code (code=..., or coded(...) in an HTTPException)"


def test_the_walk_reads_every_code() -> None:
    # A code the walk cannot read (`At(loc, *refusal)`, `code=some_call()`) would escape
    # the check below; say it as a literal at the refusal, or in a variable assigned there.
    assert FOUND.unresolved == []


def test_validators_refuse_with_a_code() -> None:
    # A validator's ValueError reaches the client as `value_error` with an English
    # sentence only; PydanticCustomError(code, message, params) gives it a code.
    assert FOUND.bare_validators == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_code_has_words_in_both_languages(lang: str) -> None:
    words = i18n.CATALOGUES[lang]
    missing = sorted(
        {
            f"problem.{r.code}  ({r.where})"
            for r in FOUND.raised
            # An imported row's problem may be a pydantic type (`missing`), said by `err.` words.
            if f"problem.{r.code}" not in words and not (r.row and f"err.{r.code}" in words)
        }
    )
    missing += sorted(f"problem.{code}" for code in OWN if f"problem.{code}" not in words)
    missing += sorted(f"problem.kind.{kind}" for kind in FOUND.kinds if f"problem.kind.{kind}" not in words)
    missing += sorted(f"err.{kind}" for kind in errors.VALIDATION_TYPES if f"err.{kind}" not in words)
    assert missing == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_words_use_only_the_params_the_refusal_gives(lang: str) -> None:
    words = i18n.CATALOGUES[lang]
    wrong = []
    for raised in FOUND.raised:
        text = words.get(f"problem.{raised.code}")
        if text is None or raised.params is None:
            continue
        wanted = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        if extra := wanted - raised.params:
            wrong.append(f"problem.{raised.code} ({raised.where}) names {sorted(extra)}")
    assert wrong == []


def test_a_code_is_one_kind_of_refusal() -> None:
    # A client decides on the code: one code must not be a 404 here and a 409 there.
    mixed = {
        code: sorted(statuses)
        for code, (statuses, _) in _walker().catalogue(FOUND.raised).items()
        if len(statuses) > 1
    }
    assert mixed == {}
