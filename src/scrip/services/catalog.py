"""Setting up an issuer: stores, registers, operators, voucher types and vouchers.

The back office (and the demo, and the tests) create value only through these functions and
the POS services, so every voucher starts with its ledger account and a history row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from scrip import crypto
from scrip.db import history as history_db
from scrip.db import ledger as ledger_db
from scrip.db import registers as registers_db
from scrip.db import rows
from scrip.db import vouchers as vouchers_db
from scrip.db.history import HistoryEntry, Where
from scrip.domain import validity, voucher_types
from scrip.domain.codes import CodeTemplate
from scrip.domain.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from scrip.domain.lifecycle import INITIAL_STATES, Classification, State
from scrip.domain.money import check_currency
from scrip.domain.scope import Scope, check_head_office, check_store
from scrip.services import templates
from scrip.services.activation import rule_from


def create_issuer(
    conn: Connection,
    *,
    code: str,
    name: str,
    currency: str,
    timezone: str,
    code_prefix: str = "",
    **options: Any,
) -> int:
    check_currency(currency)
    validity.start_of_day(datetime(2000, 1, 1).date(), timezone)  # refuses an unknown zone
    issuer_id = rows.insert(
        conn,
        "issuers",
        {
            "code": code,
            "name": name,
            "currency": currency,
            "timezone": timezone,
            "code_prefix": code_prefix,
            **options,
        },
    )
    for kind in ("promo_expense", "breakage_income"):
        ledger_db.insert_account(conn, issuer_id=issuer_id, kind=kind, currency=currency)
    return issuer_id


def create_store(
    conn: Connection, *, issuer_id: int, code: str, name: str, timezone: str | None = None
) -> int:
    store_id = rows.insert(
        conn, "stores", {"issuer_id": issuer_id, "code": code, "name": name, "timezone": timezone}
    )
    currency = conn.execute(
        text("SELECT currency FROM issuers WHERE id = :i"), {"i": issuer_id}
    ).scalar_one()
    ledger_db.insert_account(
        conn, issuer_id=issuer_id, kind="store_clearing", currency=currency, store_id=store_id
    )
    return store_id


@dataclass(frozen=True, slots=True)
class NewRegister:
    register_id: int
    api_key: str  # shown once; only its hash is stored


def create_register(conn: Connection, *, store_id: int, serial_number: str) -> NewRegister:
    key = crypto.new_api_key()
    register_id = registers_db.insert_register(
        conn,
        store_id=store_id,
        serial_number=serial_number,
        key_hash=crypto.hash_api_key(key),
        key_hint=crypto.api_key_hint(key),
    )
    return NewRegister(register_id, key)


# --- the same for the back office: the caller's scope decides (``domain.scope``) -------------


def define_issuer(conn: Connection, *, scope: Scope, **fields: Any) -> int:
    """A new issuer: an installation's record, for a user with every issuer and store."""
    check_head_office(scope)
    taken = conn.execute(text("SELECT 1 FROM issuers WHERE code = :c"), {"c": fields.get("code")})
    if taken.first() is not None:
        raise Conflict("an issuer with this code exists", code="issuer_exists")
    return create_issuer(conn, **fields)


def define_store(conn: Connection, *, scope: Scope, issuer_id: int, code: str, name: str) -> int:
    """A new store of ``issuer_id``: head office's to make."""
    check_head_office(scope, issuer_id)
    if _exists(conn, "SELECT 1 FROM stores WHERE issuer_id = :i AND code = :c", issuer_id, code):
        raise Conflict("the issuer has a store with this code", code="store_exists")
    return create_store(conn, issuer_id=issuer_id, code=code, name=name)


def define_register(
    conn: Connection, *, scope: Scope, store_id: int, serial_number: str
) -> NewRegister:
    """A new register of ``store_id``, for a user who sees that store."""
    issuer_id = conn.execute(
        text("SELECT issuer_id FROM stores WHERE id = :s"), {"s": store_id}
    ).scalar_one_or_none()
    if issuer_id is None:
        raise NotFound("no store with this id", code="store_not_found")
    check_store(scope, int(issuer_id), store_id)
    return create_register(conn, store_id=store_id, serial_number=serial_number)


def _exists(conn: Connection, sql: str, issuer_id: int, code: str) -> bool:
    return conn.execute(text(sql), {"i": issuer_id, "c": code}).first() is not None


def create_operator(conn: Connection, *, issuer_id: int, code: str, name: str) -> int:
    return rows.insert(conn, "operators", {"issuer_id": issuer_id, "code": code, "name": name})


def create_voucher_type(
    conn: Connection,
    *,
    issuer_id: int,
    code: str,
    name: str,
    classification: str,
    value_mode: str = "fixed",
    face_value_minor: int | None = None,
    **options: Any,
) -> int:
    """Store a voucher type once ``domain.voucher_types.check`` accepts its definition;
    ``options`` are further columns of ``voucher_types``."""
    rules = {name: value for name, value in options.items() if name in voucher_types.FIELDS}
    voucher_types.check(
        voucher_types.TypeDefinition(
            classification=classification,
            value_mode=value_mode,
            face_value_minor=face_value_minor,
            **rules,
        )
    )
    currency = conn.execute(
        text("SELECT currency FROM issuers WHERE id = :i"), {"i": issuer_id}
    ).scalar_one()
    # The issuer's stores clear in its currency: a type in another one would have its sales
    # post between accounts of two currencies, which the ledger can't balance.
    if options.pop("currency", currency) != currency:
        raise InvalidInput(
            "a voucher type is in its issuer's currency",
            code="type_currency_mismatch",
            issuer_currency=currency,
        )
    return rows.insert(
        conn,
        "voucher_types",
        {
            "issuer_id": issuer_id,
            "code": code,
            "name": name,
            "classification": classification,
            "currency": currency,
            "value_mode": value_mode,
            "face_value_minor": face_value_minor,
            **options,
        },
    )


def create_vouchers(
    conn: Connection,
    *,
    type_code: str,
    issuer_id: int,
    count: int,
    state: str,
    now: datetime,
    face_value_minor: int | None = None,
    pin: str | None = None,
    card_id: str | None = None,
) -> list[str]:
    """Create vouchers one by one (bulk lots of a million have their own set-based path)."""
    row = (
        conn.execute(
            text(
                "SELECT t.*, i.code_prefix, i.timezone FROM voucher_types t"
                " JOIN issuers i ON i.id = t.issuer_id WHERE t.issuer_id = :i AND t.code = :c"
            ),
            {"i": issuer_id, "c": type_code},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("no voucher type with this code", code="voucher_type_not_found")
    if State(state) not in INITIAL_STATES[Classification(row["classification"])]:
        raise InvalidInput(
            "vouchers of this classification cannot start in this state",
            code="invalid_initial_state",
            state=state,
        )
    chosen = templates.template_of(conn, row)
    templates.check_room(conn, chosen, type_id=row["id"], requested=count)
    template = chosen.template
    rule = rule_from(
        row["validity_basis"],
        days=row["validity_days"],
        from_on=row["valid_from_on"],
        until_on=row["valid_until_on"],
    )
    valid_from, valid_until = (None, None)
    if rule is not None and rule.basis != validity.ValidityBasis.from_activation:
        valid_from, valid_until = validity.window(
            rule, tz=row["timezone"], issued_at=now, activated_at=None
        )
    codes = []
    for _ in range(count):
        serial = vouchers_db.next_serial(conn, row["id"])
        account_id = ledger_db.insert_account(
            conn, issuer_id=issuer_id, kind="voucher_liability", currency=row["currency"]
        )
        code, voucher_id = _insert_with_a_free_code(
            conn,
            template,
            issuer_id=issuer_id,
            type_id=row["id"],
            account_id=account_id,
            serial_number=serial,
            state=state,
            currency=row["currency"],
            face_value_minor=face_value_minor or row["face_value_minor"],
            extra_value_minor=row["extra_value_minor"],
            valid_from=valid_from,
            valid_until=valid_until,
            pin_hash=crypto.hash_pin(pin) if pin else None,
            card_id=card_id,
        )
        history_db.record(
            conn,
            [
                HistoryEntry(
                    voucher_id=voucher_id,
                    type="voucher.created",
                    status="recorded",
                    state_before=None,
                    state_after=state,
                    amount_minor=None,
                    balance_after_minor=0,
                )
            ],
            where=Where(),
            now=now,
        )
        codes.append(code)
    return codes


# A random code may already exist (the capacity check keeps the space sparse, not empty): draw
# again. Past this many draws the space is too crowded to go on guessing.
_CODE_DRAWS = 20


def _insert_with_a_free_code(
    conn: Connection, template: CodeTemplate, **values: Any
) -> tuple[str, int]:
    for _ in range(_CODE_DRAWS):
        code = template.generate()
        voucher_id = vouchers_db.insert_voucher(conn, code=code, **values)
        if voucher_id is not None:
            return code, voucher_id
    raise LimitExceeded(
        "no free code found for this type: its code space is nearly full",
        code="code_capacity_exceeded",
        draws=_CODE_DRAWS,
    )
