"""Bad input, generated from the whole OpenAPI document (issue 13): no 500, no answer outside
the schema, and every error in scrip's envelope (never FastAPI's default shape).

Every operation is called as its caller would: POS routes with a register's key and a fresh
``Idempotency-Key``, admin routes with the API token of a full administrator, and a body or
query naming an issuer names the test's own, so generated input reaches the services rather
than stopping at ``issuer_not_found``. Afterwards every admin call answered 2xx has its audit
row and the chain holds (a NUL once let actions run without one).

Bounded: a fixed number of examples per operation (``SCRIP_FUZZ_EXAMPLES``: 25 for the POS API
and 15 for the admin API, whose calls do more work, in ``make test``; raise it for a long run),
derandomized so CI sees the same cases. The
admin API can change roles and users of the shared test database: both are put back after the
module. Lots larger than :data:`SMALL_LOT` are stored but not generated.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, create_engine, text

from scrip import crypto
from scrip.domain.scope import EVERYTHING
from scrip.server import create_app
from scrip.services import audit, lots
from tests import builders

# The schema is read from an app object at import; the engine it holds is replaced by the
# test database's engine before any call is made.
app = create_app(
    engine=create_engine("postgresql+psycopg://", pool_size=1),
    keyring=crypto.parse_keyring(f"k1:{crypto.new_secret_key()}"),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
SMALL_LOT = 50
EXAMPLES = int(os.environ.get("SCRIP_FUZZ_EXAMPLES", "25"))
ADMIN_EXAMPLES = int(os.environ.get("SCRIP_FUZZ_EXAMPLES", "15"))
POS = schema.include(path_regex="^/(v1/pos/|healthz)")
ADMIN = schema.include(path_regex="^/v1/admin/")
answered: list[tuple[str, int]] = []  # (action, status) of the admin calls made


class Fuzzed:
    def __init__(self, engine: Engine, register_key: str, admin_id: int, issuer: str) -> None:
        self.engine, self.register_key = engine, register_key
        self.admin_id, self.issuer = admin_id, issuer
        self.admin_token = ""
        self.mint()

    def mint(self) -> None:
        """A fresh token for the administrator (generated input may revoke its tokens)."""
        from scrip.services import access, users

        with self.engine.begin() as conn:
            self.admin_token = users.create_token(
                conn, actor=access.INSTALLATION, user_id=self.admin_id, name="fuzz"
            )

    def keep_token(self) -> None:
        with self.engine.connect() as conn:
            live = conn.execute(
                text("SELECT 1 FROM api_tokens WHERE token_hash = :h AND revoked_at IS NULL"),
                {"h": crypto.hash_api_key(self.admin_token)},
            ).first()
        if live is None:
            self.mint()


def _small_lots_only(real: Any) -> Any:
    def run(engine: Engine, *, lot_id: int, **options: Any) -> Any:
        with engine.connect() as conn:
            count = lots.get_lot(conn, lot_id, scope=EVERYTHING).count
        return real(engine, lot_id=lot_id, **options) if count <= SMALL_LOT else None

    return run


@pytest.fixture(scope="module")
def fuzzed(engine: Any) -> Iterator[Fuzzed]:
    app.state.engine = engine
    with engine.connect() as conn:
        roles = conn.execute(text("SELECT name, grants::text FROM roles")).all()
        people = conn.execute(
            text("SELECT id, role_id, store_ids, issuer_ids, active FROM users")
        ).all()
    with engine.begin() as conn:
        shop = builders.world(conn)
        builders.vouchers(conn, shop, "card", count=3)
        admin_id, _, _ = builders.user(conn, role="admin")
    issuer = builders.issuer_code(engine, shop)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lots, "run_lot", _small_lots_only(lots.run_lot))
        yield Fuzzed(engine, shop.key, admin_id, issuer)
    with engine.begin() as conn:  # what the admin API changed of the shared database
        for name, grants in roles:
            conn.execute(
                text("UPDATE roles SET grants = CAST(:g AS jsonb) WHERE name = :n"),
                {"g": grants, "n": name},
            )
        for row in people:
            conn.execute(
                text(
                    "UPDATE users SET role_id = :r, store_ids = :s, issuer_ids = :i,"
                    " active = :a WHERE id = :u"
                ),
                {"r": row.role_id, "s": row.store_ids, "i": row.issuer_ids, "a": row.active,
                 "u": row.id},
            )  # fmt: skip


def _as_its_caller(case: Any, fuzzed: Fuzzed) -> None:
    headers = dict(case.headers or {})
    if case.path.startswith("/v1/admin"):
        fuzzed.keep_token()
        headers["Authorization"] = f"Bearer {fuzzed.admin_token}"
    else:
        headers["Authorization"] = f"Bearer {fuzzed.register_key}"
        headers["Idempotency-Key"] = str(uuid.uuid4())
    case.headers = headers
    if isinstance(case.body, dict) and "issuer" in case.body:
        case.body["issuer"] = fuzzed.issuer
    if isinstance(case.query, dict) and "issuer" in case.query:
        case.query["issuer"] = fuzzed.issuer


def _survives(case: Any, fuzzed: Fuzzed) -> None:
    _as_its_caller(case, fuzzed)
    response = case.call_and_validate(
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
        ]
    )
    if case.path.startswith("/v1/admin") and case.method.upper() != "GET":
        answered.append((f"{case.method.upper()} {case.path}", response.status_code))
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body


_BOUNDED = {"derandomize": True, "deadline": None, "suppress_health_check": list(HealthCheck)}


@POS.parametrize()
@settings(max_examples=EXAMPLES, **_BOUNDED)
def test_the_pos_api_survives_generated_input(case: Any, fuzzed: Fuzzed) -> None:
    _survives(case, fuzzed)


@ADMIN.parametrize()
@settings(max_examples=ADMIN_EXAMPLES, **_BOUNDED)
def test_the_admin_api_survives_generated_input(case: Any, fuzzed: Fuzzed) -> None:
    _survives(case, fuzzed)


def test_the_fuzz_covers_the_whole_document() -> None:
    """Every operation of the OpenAPI document is in one of the two."""
    every = {op.ok().label for op in schema.get_all_operations()}
    split = {op.ok().label for s in (POS, ADMIN) for op in s.get_all_operations()}
    assert every == split


def test_every_admin_call_done_has_its_audit_row(fuzzed: Fuzzed, engine: Engine) -> None:
    """Runs after the generated calls (pytest keeps the order of a module)."""
    done = sorted(action for action, status in answered if 200 <= status < 300)
    assert done, "the generated calls reached no admin action"
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action FROM audit_log WHERE user_id = :u AND outcome ~ '^2[0-9][0-9]$'"),
            {"u": fuzzed.admin_id},
        ).scalars()
        assert sorted(rows) == done
        assert audit.verify(conn, scope=EVERYTHING).intact
