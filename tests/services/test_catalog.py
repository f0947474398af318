"""Types are defined in their issuer's currency: the ledger can only balance one per sale."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from scrip.domain.errors import InvalidInput
from scrip.services import catalog
from tests import builders


def _define(conn: Connection, issuer_id: int, **options: object) -> int:
    return catalog.create_voucher_type(
        conn,
        issuer_id=issuer_id,
        code="cur",
        name="currency check",
        classification="gift_card",
        value_mode="variable",
        **options,
    )


def test_a_type_in_another_currency_than_its_issuer_is_refused(conn: Connection) -> None:
    w = builders.world(conn)  # a EUR issuer

    with pytest.raises(InvalidInput) as refused:
        _define(conn, w.issuer_id, currency="USD")

    assert refused.value.code == "type_currency_mismatch"
    assert refused.value.details["issuer_currency"] == "EUR"
    count = conn.execute(
        text("SELECT count(*) FROM voucher_types WHERE issuer_id = :i AND code = 'cur'"),
        {"i": w.issuer_id},
    ).scalar_one()
    assert count == 0


def test_a_type_takes_its_issuers_currency(conn: Connection) -> None:
    w = builders.world(conn)

    type_id = _define(conn, w.issuer_id, currency="EUR")

    stored = conn.execute(
        text("SELECT currency FROM voucher_types WHERE id = :t"), {"t": type_id}
    ).scalar_one()
    assert stored == "EUR"
