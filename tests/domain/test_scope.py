"""Scopes, pure: a store user's issuers are those of their stores, ``within`` is containment,
and each check refuses with its own code."""

from __future__ import annotations

import pytest

from scrip.domain import rights
from scrip.domain.errors import Forbidden
from scrip.domain.scope import (
    EVERYTHING,
    Scope,
    check_head_office,
    check_issuer,
    check_store,
)


def test_a_store_users_issuers_are_those_of_their_stores() -> None:
    assert Scope.of(None, [7], store_issuer_ids=[1]) == Scope(frozenset({1}), frozenset({7}))
    assert Scope.of([1, 2], [7], store_issuer_ids=[1]).issuer_ids == frozenset({1})
    assert Scope.of([2], None) == Scope(frozenset({2}), None)
    assert Scope.of(None, None) == EVERYTHING


@pytest.mark.parametrize(
    ("part", "whole", "within"),
    [(EVERYTHING, EVERYTHING, True), (Scope(frozenset({1})), EVERYTHING, True),
     (EVERYTHING, Scope(frozenset({1})), False),
     (Scope(frozenset({1}), frozenset({7})), Scope(frozenset({1})), True),
     (Scope(frozenset({1})), Scope(frozenset({1}), frozenset({7})), False),
     (Scope(frozenset({1, 2})), Scope(frozenset({1})), False),
     (Scope(None, frozenset({7})), Scope(None, frozenset({7, 8})), True)],
)  # fmt: skip
def test_within_is_containment(part: Scope, whole: Scope, within: bool) -> None:
    assert part.within(whole) is within


def _code(call: object) -> str:
    assert callable(call)
    with pytest.raises(Forbidden) as refused:
        call()
    return refused.value.code


def test_each_check_refuses_with_its_code() -> None:
    issuer_b = Scope(frozenset({2}))
    store_7 = Scope(frozenset({1}), frozenset({7}))
    assert _code(lambda: check_issuer(issuer_b, 1)) == "issuer_out_of_scope"
    assert _code(lambda: check_store(store_7, 1, 8)) == "store_out_of_scope"
    assert _code(lambda: check_store(store_7, 1, None)) == "head_office_only"
    assert _code(lambda: check_head_office(store_7, 1)) == "head_office_only"
    assert _code(lambda: check_head_office(issuer_b)) == "issuer_out_of_scope"
    check_store(store_7, 1, 7)
    check_head_office(issuer_b, 2)
    check_head_office(EVERYTHING)


def test_a_full_administrator_has_every_right_and_every_record() -> None:
    assert rights.full_administrator(rights.ALL_WRITE, EVERYTHING)
    assert not rights.full_administrator(rights.ALL_WRITE, Scope(frozenset({1})))
    assert not rights.full_administrator(rights.BUILTIN_ROLES["viewer"], EVERYTHING)
    security = rights.BUILTIN_ROLES["security"]
    assert rights.first_beyond(security, security) is None
    beyond = rights.first_beyond(rights.BUILTIN_ROLES["operator"], security)
    assert beyond == rights.Right(rights.Area.types, rights.Level.read)
