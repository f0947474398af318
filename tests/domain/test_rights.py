"""The rights decision: levels per area, write includes read, undeclared means everything."""

from __future__ import annotations

import pytest

from scrip.domain import rights
from scrip.domain.rights import Area, Level, Right
from scrip.domain.scope import Scope


def test_write_includes_read_and_read_is_not_write() -> None:
    grants = {Area.lots: Level.write, Area.vouchers: Level.read}
    assert rights.allows(grants, [Right(Area.lots, Level.read)])
    assert rights.allows(grants, [Right(Area.lots, Level.write)])
    assert rights.allows(grants, [Right(Area.vouchers, Level.read)])
    assert not rights.allows(grants, [Right(Area.vouchers, Level.write)])
    assert not rights.allows(grants, [Right(Area.secrets, Level.read)])


def test_undeclared_routes_need_every_area() -> None:
    assert rights.allows(rights.ALL_WRITE, rights.UNDECLARED)
    for name, grants in rights.BUILTIN_ROLES.items():
        assert rights.allows(grants, rights.UNDECLARED) == (name == "admin")


def test_viewer_reads_everything_but_secrets() -> None:
    viewer = rights.BUILTIN_ROLES["viewer"]
    assert all(rights.allows(viewer, [Right(a, Level.read)]) for a in Area if a != Area.secrets)
    assert not rights.allows(viewer, [Right(Area.secrets, Level.read)])


def test_stored_grants_round_trip_and_refuse_unknown_names() -> None:
    grants = rights.BUILTIN_ROLES["marketer"]
    assert rights.grants_of(rights.stored(grants)) == grants
    with pytest.raises(ValueError):
        rights.grants_of({"nuclear_codes": "write"})
    with pytest.raises(KeyError):
        rights.grants_of({"lots": "admin"})


@pytest.mark.parametrize(
    ("store_ids", "store_id", "seen"),
    [(None, 7, True), (None, None, True), (frozenset({7}), 7, True), (frozenset({7}), 8, False),
     (frozenset({7}), None, False)],
)  # fmt: skip
def test_store_scope(store_ids: frozenset[int] | None, store_id: int | None, seen: bool) -> None:
    assert Scope(None, store_ids).sees_store(store_id) is seen
