"""A world for the route x scope matrices (issue 13 item 9): two issuers, stores, and one record
of every kind at each place, plus three users of the full ``admin`` role who differ only in
scope, so a refusal can only come from the scope.

- issuer A with stores ``SA1`` and ``SA2``; issuer B with store ``SB1``;
- at each store a register and a gift card sold there; in A a card never sold (head office's);
- per issuer: a voucher type, a code template, a lot, a promotion, a holder, a failed lot (an
  alert), a bulk operation made at head office; in A one made by a user of ``SA2``;
- users: ``all`` (no limits), ``issuer_b`` (issuer B only), ``store_a2`` (store ``SA2`` only),
  and for user management one subject per place (``A:SA1``, ``A:SA2``, ``B``).

Places are named ``"A"`` (A's head office), ``"A:SA1"``, ``"A:SA2"``, ``"B"``. Whether a user
may reach a record of a place is written down here by hand (:func:`sees`), independently of
``domain.scope``, as the policy in ``docs/architecture.md`` states it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from scrip import crypto
from scrip.db.registers import find_register_by_key_hash
from scrip.domain.bulk import Selection
from scrip.domain.scope import EVERYTHING, Scope
from scrip.services import access, bulk_operations, catalog, holders, lots, pos, promotions, users
from scrip.services import voucher_types as types
from scrip.services.till import ReceiptInput
from tests import builders

USERS = ("all", "issuer_b", "store_a2")
PLACES = ("A", "A:SA1", "A:SA2", "B")

# What each kind of record is (the policy): ``voucher`` and ``store`` records belong to a
# store (or, for a voucher never sold, to head office); ``catalogue`` records (types, templates,
# promotions, a report's issuer) are readable by the issuer's store users; ``head_office``
# records (lots, holders, head-office bulk operations, writes to the catalogue) are not;
# ``installation`` records (issuers, roles, the audit trail) need every issuer and store.
KINDS = ("voucher", "store", "catalogue", "head_office", "installation", "none")


def sees(user: str, kind: str, place: str) -> bool:
    """May ``user`` reach a record of ``kind`` belonging to ``place``? (by hand)"""
    if kind == "none" or user == "all":
        return True
    if kind == "installation":
        return False
    if user == "issuer_b":
        return place == "B"
    # store_a2: a user of store SA2 of issuer A
    if place == "B":
        return False
    if kind == "catalogue":
        return True
    if kind == "head_office":
        return False
    return place == "A:SA2"  # voucher or store: only SA2's (a voucher never sold is A's)


@dataclass
class Place:
    issuer_id: int
    issuer_code: str
    store_id: int | None = None
    store_code: str | None = None
    register_serial: str | None = None
    voucher_id: int | None = None
    voucher_code: str | None = None


@dataclass
class ScopeWorld:
    tag: str
    places: dict[str, Place]
    type_codes: dict[str, str]  # issuer ("A", "B") -> a voucher type code of its own
    template_names: dict[str, str]
    promotion_codes: dict[str, str]
    holder_refs: dict[str, str]
    lot_ids: dict[str, int]
    failed_lot_ids: dict[str, int]
    campaigns: dict[str, str]
    bulk_ids: dict[str, int]  # "A", "B" (head office) and "A:SA2" (made by a store user)
    card_type_ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # user -> API token
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> name, password
    subjects: dict[str, int] = field(default_factory=dict)  # place -> a user limited to it
    subject_names: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def issuer(self, place: str) -> Place:
        return self.places[place.split(":")[0]]

    def scope_of(self, user: str) -> dict[str, Any]:
        return {
            "all": {},
            "issuer_b": {"issuer_ids": [self.places["B"].issuer_id]},
            "store_a2": {"store_ids": [self.places["A:SA2"].store_id]},
        }[user]


def _store(conn: Connection, issuer_id: int, code: str, serial: str) -> tuple[int, Any]:
    store_id = catalog.create_store(conn, issuer_id=issuer_id, code=code, name=f"Store {code}")
    made = catalog.create_register(conn, store_id=store_id, serial_number=serial)
    till = find_register_by_key_hash(conn, crypto.hash_api_key(made.api_key))
    return store_id, till


def _sold_card(conn: Connection, w: builders.World, till: Any) -> tuple[int, str]:
    [code] = builders.vouchers(conn, w, "card")
    pos.sell(
        conn,
        till=till,
        items=[pos.SaleItem(code, 2_500)],
        receipt=ReceiptInput(),
        now=builders.now(),
    )
    found = conn.execute(
        text("SELECT id FROM vouchers WHERE issuer_id = :i AND code = :c"),
        {"i": w.issuer_id, "c": code},
    ).scalar_one()
    return int(found), code


def build(engine: Engine) -> ScopeWorld:
    tag = secrets.token_hex(3).upper()
    with engine.begin() as conn:
        worlds = {"A": builders.world(conn), "B": builders.world(conn)}
        codes = {
            key: conn.execute(
                text("SELECT code FROM issuers WHERE id = :i"), {"i": w.issuer_id}
            ).scalar_one()
            for key, w in worlds.items()
        }
        places = {key: Place(w.issuer_id, codes[key]) for key, w in worlds.items()}
        for place, key, store in (
            ("A:SA1", "A", "SA1"),
            ("A:SA2", "A", "SA2"),
            ("B:SB1", "B", "SB1"),
        ):
            w = worlds[key]
            store_id, till = _store(conn, w.issuer_id, f"{store}{tag}", f"R{store}{tag}")
            voucher_id, code = _sold_card(conn, w, till)
            places[place] = Place(
                w.issuer_id,
                codes[key],
                store_id,
                f"{store}{tag}",
                f"R{store}{tag}",
                voucher_id,
                code,
            )
        [unsold] = builders.vouchers(conn, worlds["A"], "card")
        places["A"].voucher_code = unsold
        places["A"].voucher_id = conn.execute(
            text("SELECT id FROM vouchers WHERE code = :c AND issuer_id = :i"),
            {"c": unsold, "i": worlds["A"].issuer_id},
        ).scalar_one()
        places["B"].voucher_code = places["B:SB1"].voucher_code
        places["B"].voucher_id = places["B:SB1"].voucher_id
        places["B"].store_id = places["B:SB1"].store_id
        places["B"].store_code = places["B:SB1"].store_code
        places["B"].register_serial = places["B:SB1"].register_serial
        del places["B:SB1"]
        found: dict[str, dict[str, Any]] = {k: {} for k in ("types", "tpl", "promo", "holder")}
        lot_ids, failed, campaigns, bulk_ids = {}, {}, {}, {}
        for key, w in worlds.items():
            found["types"][key] = f"T{key}{tag}"
            catalog.create_voucher_type(
                conn,
                issuer_id=w.issuer_id,
                code=f"T{key}{tag}",
                name=f"Type {key}{tag}",
                classification="gift_card",
                value_mode="variable",
            )
            found["tpl"][key] = f"tpl{key}{tag}"
            types.define_template(
                conn, scope=EVERYTHING, issuer_id=w.issuer_id, name=f"tpl{key}{tag}", length=12
            )
            found["promo"][key] = f"P{key}{tag}"
            promotions.create_promotion(
                conn,
                scope=EVERYTHING,
                issuer_id=w.issuer_id,
                code=f"P{key}{tag}",
                name="Spend 50",
                kind="progressive",
                type_code="promo",
                params={"thresholds": [[5_000, 500]]},
            )
            found["holder"][key] = f"H{key}{tag}"
            holders.create_holder(
                conn,
                scope=EVERYTHING,
                issuer_id=w.issuer_id,
                holder_ref=f"H{key}{tag}",
                name="Anna",
                email=None,
            )
            campaigns[key] = f"camp{key}{tag}"
            for target, campaign in ((lot_ids, campaigns[key]), (failed, f"fail{key}{tag}")):
                target[key] = lots.create_lot(
                    conn,
                    scope=EVERYTHING,
                    issuer_id=w.issuer_id,
                    type_code="card",
                    count=2,
                    campaign=campaign,
                    created_by="scope-test",
                    now=builders.now(),
                )
            conn.execute(
                text("UPDATE lots SET status = 'failed', error = 'test' WHERE id = :l"),
                {"l": failed[key]},
            )
            bulk_ids[key] = bulk_operations.create_operation(
                conn,
                scope=EVERYTHING,
                issuer_id=w.issuer_id,
                action="block",
                selection=Selection(codes=(places[key].voucher_code or "",)),
                operator="scope-test",
                reason="scope test",
                now=builders.now(),
            )
        store_a2 = Scope(
            frozenset({worlds["A"].issuer_id}), frozenset({places["A:SA2"].store_id or 0})
        )
        bulk_ids["A:SA2"] = bulk_operations.create_operation(
            conn,
            scope=store_a2,
            issuer_id=worlds["A"].issuer_id,
            action="block",
            selection=Selection(codes=(places["A:SA2"].voucher_code or "",)),
            operator="scope-test",
            reason="scope test",
            now=builders.now(),
        )
    world = ScopeWorld(
        tag,
        places,
        found["types"],
        found["tpl"],
        found["promo"],
        found["holder"],
        lot_ids,
        failed,
        campaigns,
        bulk_ids,
        {key: w.types["card"] for key, w in worlds.items()},
    )
    with engine.begin() as conn:
        for user in USERS:
            user_id, name, password = builders.user(conn, role="admin", **world.scope_of(user))
            world.user_ids[user] = user_id
            world.logins[user] = (name, password)
            world.tokens[user] = users.create_token(
                conn, actor=access.INSTALLATION, user_id=user_id, name="scope"
            )
        for place in PLACES:
            limits = _limits(world, place)
            user_id, name, _ = builders.user(conn, role="viewer", **limits)
            world.subjects[place] = user_id
            world.subject_names[place] = name
    return world


def _limits(world: ScopeWorld, place: str) -> dict[str, Any]:
    """A subject user limited to ``place`` (head office: to the issuer)."""
    found = world.places[place]
    if ":" in place:
        return {"store_ids": [found.store_id]}
    return {"issuer_ids": [found.issuer_id]}
