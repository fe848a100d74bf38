import pytest

from customers.domain import IllegalTransition, Stage, promotion

pytestmark = pytest.mark.unit


def test_a_prospect_is_promoted():
    assert promotion(Stage.PROSPECT) is True


def test_promoting_a_traditional_customer_changes_nothing():
    assert promotion(Stage.TRADITIONAL) is False


def test_an_inactive_customer_who_buys_again_comes_back():
    assert promotion(Stage.INACTIVE) is True


def test_illegal_transition_names_what_is_allowed():
    error = IllegalTransition(Stage.TRADITIONAL, Stage.PROSPECT, frozenset({Stage.INACTIVE}))
    assert "allowed: inactive" in str(error)


def test_customer_create_refuses_fields_set_only_by_operations():
    from pydantic import ValidationError

    from customers.schemas import CustomerCreate

    with pytest.raises(ValidationError) as caught:
        CustomerCreate.model_validate({"name": "A", "lifecycle_stage": "traditional"})
    assert caught.value.errors()[0]["loc"] == ("lifecycle_stage",)
    assert CustomerCreate(name="  Công ty Hòa Phát  ").name == "Công ty Hòa Phát"
