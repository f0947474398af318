"""What makes a voucher type definition sound (S2, S4, S5, S6): checked before a type is stored.

:func:`check` raises ``InvalidInput`` with one stable code per rule broken (the first found):

- ``invalid_classification`` / ``invalid_value_mode``: not one of the known words;
- ``face_value_required``: a fixed-value type names its value; ``face_value_not_allowed``: a
  variable one takes its value from the lot or the sale, so it names none;
- ``certificate_fixed_denomination``: a gift certificate has a fixed denomination (S2);
- ``reloadable_not_allowed``: only a classification whose life cycle has a reload (gift
  cards) may be reloadable; ``one_time_not_reloadable``: a one-time voucher can't be reloaded;
- ``gift_card_multi_use``: a gift card is spent like cash until depleted;
- ``invalid_max_balance``: a maximum balance is positive and at least the face value plus the
  extra value (else the voucher could never be sold);
- ``invalid_money``: negative extra value or minimum receipt amounts;
- ``return_to_prepared_not_allowed``: only a certificate goes back to prepared on return;
- ``refund_method_required`` / ``refund_method_not_allowed``: a refund voucher type names the
  refund method that creates its vouchers (S10), other classifications name none;
- ``e_voucher_use_required`` / ``e_voucher_use_not_allowed``: an electronic voucher type says
  whether its vouchers are ``personal`` or ``shareable``, other classifications say nothing;
- ``validity_duration_required``: electronic and refund vouchers need a validity duration;
- ``invalid_validity_rule`` (from ``domain.validity``), ``invalid_pin_length``,
  ``invalid_restriction``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from scrip.domain import validity
from scrip.domain.errors import InvalidInput
from scrip.domain.lifecycle import TRANSITIONS, Action, Classification

VALUE_MODES = ("fixed", "variable")
E_VOUCHER_USES = ("personal", "shareable")
PIN_LENGTHS = range(4, 13)
NEEDS_DURATION = frozenset({Classification.electronic_voucher, Classification.refund_voucher})


@dataclass(frozen=True, slots=True)
class TypeDefinition:
    """The fields of a voucher type that its rules concern; defaults as in the table."""

    classification: str
    value_mode: str = "fixed"
    face_value_minor: int | None = None
    extra_value_minor: int = 0
    multi_use: bool = True
    reloadable: bool = False
    max_balance_minor: int | None = None
    min_activation_receipt_minor: int = 0
    min_payment_receipt_minor: int = 0
    validity_basis: str = "from_activation"
    validity_days: int | None = None
    valid_from_on: date | None = None
    valid_until_on: date | None = None
    pin_length: int | None = None
    return_to_prepared: bool = False
    refund_method: str | None = None
    e_voucher_use: str | None = None
    supported_products: Sequence[str] | None = None
    supported_product_groups: Sequence[str] | None = None
    allowed_store_ids: Sequence[int] | None = None


FIELDS = frozenset(f.name for f in fields(TypeDefinition))


def _refuse(code: str, message: str, **details: object) -> InvalidInput:
    return InvalidInput(message, code=code, **details)


def check(definition: TypeDefinition) -> None:
    """Raise ``InvalidInput`` if the definition breaks a rule (see the module docstring)."""
    classification = _classification(definition.classification)
    _check_value(definition, classification)
    _check_use(definition, classification)
    _check_classification_fields(definition, classification)
    _check_validity(definition, classification)
    _check_restrictions(definition)


def _classification(name: str) -> Classification:
    if name not in {c.value for c in Classification}:
        raise _refuse(
            "invalid_classification",
            "no such classification",
            allowed=[c.value for c in Classification],
        )
    return Classification(name)


def _check_value(d: TypeDefinition, classification: Classification) -> None:
    if d.value_mode not in VALUE_MODES:
        raise _refuse("invalid_value_mode", "the value mode is fixed or variable")
    if classification is Classification.gift_certificate and d.value_mode != "fixed":
        raise _refuse(
            "certificate_fixed_denomination", "a gift certificate has a fixed denomination"
        )
    if d.value_mode == "fixed" and not (d.face_value_minor and d.face_value_minor > 0):
        raise _refuse("face_value_required", "a fixed-value type needs a positive face value")
    if d.value_mode == "variable" and d.face_value_minor is not None:
        raise _refuse(
            "face_value_not_allowed", "a variable-value type takes its value at the lot or sale"
        )
    amounts = (d.extra_value_minor, d.min_activation_receipt_minor, d.min_payment_receipt_minor)
    if any(amount < 0 for amount in amounts):
        raise _refuse("invalid_money", "extra value and minimum amounts must not be negative")
    if d.max_balance_minor is not None:
        least = max((d.face_value_minor or 0) + d.extra_value_minor, 1)
        if d.max_balance_minor < least:
            raise _refuse(
                "invalid_max_balance",
                "the maximum balance is below what one voucher holds when sold",
                least_minor=least,
            )


def _check_use(d: TypeDefinition, classification: Classification) -> None:
    if d.reloadable and (classification, Action.reload) not in _RELOADS:
        raise _refuse(
            "reloadable_not_allowed",
            f"a {classification.value} cannot be reloaded",
            classification=classification.value,
        )
    if d.reloadable and not d.multi_use:
        raise _refuse("one_time_not_reloadable", "a one-time voucher cannot be reloadable")
    if classification is Classification.gift_card and not d.multi_use:
        raise _refuse("gift_card_multi_use", "a gift card is spent until it is depleted")
    if d.return_to_prepared and classification is not Classification.gift_certificate:
        raise _refuse(
            "return_to_prepared_not_allowed", "only a gift certificate returns to prepared"
        )


_RELOADS = frozenset(
    (classification, action)
    for classification, table in TRANSITIONS.items()
    for (_, action) in table
    if action is Action.reload
)


def _check_classification_fields(d: TypeDefinition, classification: Classification) -> None:
    refund = classification is Classification.refund_voucher
    if refund and not (d.refund_method and d.refund_method.strip()):
        raise _refuse("refund_method_required", "a refund voucher type names its refund method")
    if not refund and d.refund_method is not None:
        raise _refuse("refund_method_not_allowed", "only refund voucher types have a method")
    electronic = classification is Classification.electronic_voucher
    if electronic and d.e_voucher_use not in E_VOUCHER_USES:
        raise _refuse(
            "e_voucher_use_required",
            "an electronic voucher type is personal or shareable",
            allowed=list(E_VOUCHER_USES),
        )
    if not electronic and d.e_voucher_use is not None:
        raise _refuse("e_voucher_use_not_allowed", "only electronic vouchers are personal or not")
    if d.pin_length is not None and d.pin_length not in PIN_LENGTHS:
        raise _refuse(
            "invalid_pin_length",
            f"a secret number has {PIN_LENGTHS.start} to {PIN_LENGTHS.stop - 1} digits",
        )


def _check_validity(d: TypeDefinition, classification: Classification) -> None:
    if d.validity_basis not in {b.value for b in validity.ValidityBasis}:
        raise _refuse(
            "invalid_validity_rule", "the validity basis is fixed, from_issue or from_activation"
        )
    basis = validity.ValidityBasis(d.validity_basis)
    if classification in NEEDS_DURATION and (
        basis is validity.ValidityBasis.fixed or d.validity_days is None
    ):
        raise _refuse(
            "validity_duration_required",
            f"a {classification.value} type needs a validity duration in days",
        )
    unset = d.validity_days is None and d.valid_from_on is None and d.valid_until_on is None
    if unset:
        return  # no limit
    validity.validate_rule(
        validity.ValidityRule(
            basis=basis,
            valid_from_on=d.valid_from_on,
            valid_until_on=d.valid_until_on,
            duration_days=d.validity_days,
        )
    )


def _check_restrictions(d: TypeDefinition) -> None:
    for column in RESTRICTION_COLUMNS:
        values = getattr(d, column)
        if values is not None:
            restriction(values, column)


RESTRICTION_COLUMNS = ("supported_products", "supported_product_groups", "allowed_store_ids")


def restriction(values: Any, column: str) -> list[Any]:
    """A restriction column's values, checked, without repeats and sorted: store ids are
    integers, products and product groups non-empty strings (None, no restriction, is the
    caller's to let through)."""
    kind = int if column == "allowed_store_ids" else str
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise _restriction_error(column, kind)
    if not all(isinstance(v, kind) and not isinstance(v, bool) and v != "" for v in values):
        raise _restriction_error(column, kind)
    return sorted(set(values))


def _restriction_error(column: str, kind: type) -> InvalidInput:
    return _refuse(
        "invalid_restriction",
        f"{column} is a list of {kind.__name__} values, or null for no restriction",
        field=column,
    )
