"""The `scrip` command line against real PostgreSQL: migrate, demo, registers, vouchers.

The demo issuer's code (DEMO) is global, so these tests run in a database of their own, made
on the test server beside the session's database, and dropped afterwards.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import Result
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from scrip import crypto
from scrip.cli.main import app
from scrip.db.engine import make_engine, upgrade
from scrip.db.registers import find_register_by_key_hash
from scrip.domain.scope import EVERYTHING

KEY = re.compile(r"sk_reg_[A-Za-z0-9_-]+")


def _database(database_url: str, name: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(path="/" + name))


@dataclass(frozen=True)
class Cli:
    """Runs `scrip` with its settings pointing at one database and one home folder."""

    dsn: str
    home: Path

    def __call__(self, *args: str) -> Result:
        env = {"SCRIP_DATABASE_URL": self.dsn, "SCRIP_HOME": str(self.home), "COLUMNS": "200"}
        return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture(scope="module")
def own_database(database_url: str) -> Iterator[str]:
    """An empty database on the test server, dropped after the module."""
    name = f"scrip_cli_{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield _database(database_url, name)
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def cli_engine(own_database: str) -> Iterator[Engine]:
    upgrade(own_database)
    engine = make_engine(own_database, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def first_demo(
    cli_engine: Engine, own_database: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Cli, Result]:
    """`scrip demo`, run once for the module: (the runner, its first result)."""
    cli = Cli(own_database, tmp_path_factory.mktemp("scrip-home"))
    return cli, cli("demo")


@pytest.fixture
def cli(first_demo: tuple[Cli, Result]) -> Cli:
    return first_demo[0]


def _count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _a_demo_code(engine: Engine, type_code: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT v.code FROM vouchers v JOIN voucher_types t ON t.id = v.type_id"
                    " JOIN issuers i ON i.id = v.issuer_id"
                    " WHERE i.code = 'DEMO' AND t.code = :t ORDER BY v.id LIMIT 1"
                ),
                {"t": type_code},
            ).scalar_one()
        )


def test_db_upgrade_migrates_an_empty_database_and_is_repeatable(
    database_url: str, own_database: str, tmp_path: Path
) -> None:
    name = f"scrip_cli_empty_{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        cli = Cli(_database(database_url, name), tmp_path)
        first, second = cli("db", "upgrade"), cli("db", "upgrade")
        assert first.exit_code == 0, first.output
        assert second.exit_code == 0, second.output
        assert "schema is up to date" in second.output
        engine = make_engine(cli.dsn, pool_size=1)
        try:
            assert _count(engine, "SELECT count(*) FROM alembic_version") == 1
            assert _count(engine, "SELECT count(*) FROM vouchers") == 0
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_db_upgrade_on_the_session_database_is_a_no_op(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    before = _count(engine, "SELECT count(*) FROM alembic_version")
    result = Cli(database_url, tmp_path)("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert _count(engine, "SELECT count(*) FROM alembic_version") == before == 1


def test_demo_loads_once_and_keeps_the_register_keys(
    first_demo: tuple[Cli, Result], cli_engine: Engine
) -> None:
    cli, first = first_demo
    assert first.exit_code == 0, first.output
    for type_code in ("GC", "CERT50", "PV20"):
        assert type_code in first.output
    vouchers_before = _count(cli_engine, "SELECT count(*) FROM vouchers")
    assert vouchers_before == 15

    second = cli("demo")

    assert second.exit_code == 0, second.output
    assert "already loaded" in second.output
    assert _count(cli_engine, "SELECT count(*) FROM issuers WHERE code = 'DEMO'") == 1
    assert _count(cli_engine, "SELECT count(*) FROM vouchers") == vouchers_before
    assert _count(cli_engine, "SELECT count(*) FROM registers") == 2
    keys_file = cli.home / "demo-register-keys.json"
    assert keys_file.stat().st_mode & 0o777 == 0o600
    keys = json.loads(keys_file.read_text())
    assert set(keys) == {"S001-R1", "S002-R1"}
    with cli_engine.connect() as conn:
        for serial, key in keys.items():
            till = find_register_by_key_hash(conn, crypto.hash_api_key(key))
            assert till is not None and till.serial_number == serial


def test_register_create_prints_the_key_once_and_stores_only_its_hash(
    cli: Cli, cli_engine: Engine
) -> None:
    result = cli("register", "create", "--store", "S001", "--serial", "S001-R7")

    assert result.exit_code == 0, result.output
    found = KEY.findall(result.output)
    assert len(found) == 1
    key = found[0]
    with cli_engine.connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM registers WHERE serial_number = 'S001-R7'"))
            .mappings()
            .one()
        )
        assert row["api_key_hash"] == crypto.hash_api_key(key)
        assert not any(key in str(value) for value in row.values())
        assert find_register_by_key_hash(conn, crypto.hash_api_key(key)) is not None


def test_register_create_refuses_an_unknown_store_and_a_taken_serial(
    cli: Cli, cli_engine: Engine
) -> None:
    before = _count(cli_engine, "SELECT count(*) FROM registers")

    unknown = cli("register", "create", "--store", "S999", "--serial", "X1")
    taken = cli("register", "create", "--store", "S001", "--serial", "S001-R1")

    assert unknown.exit_code == 2 and "no store S999" in unknown.output
    assert taken.exit_code == 2 and "already exists" in taken.output
    assert _count(cli_engine, "SELECT count(*) FROM registers") == before


def test_voucher_show_prints_state_and_history(cli: Cli, cli_engine: Engine) -> None:
    code = _a_demo_code(cli_engine, "GC")

    result = cli("voucher", "show", code.lower())

    assert result.exit_code == 0, result.output
    assert code in result.output
    assert "state prepared" in result.output
    assert "balance 0" in result.output
    assert "voucher.created" in result.output


def test_voucher_show_of_an_unknown_code_fails(cli: Cli) -> None:
    result = cli("voucher", "show", "NO-SUCH-CODE")

    assert result.exit_code != 0
    assert "no voucher NO-SUCH-CODE" in result.output


def test_voucher_show_at_an_unknown_issuer_fails(cli: Cli, cli_engine: Engine) -> None:
    result = cli("voucher", "show", _a_demo_code(cli_engine, "GC"), "--issuer", "NOPE")

    assert result.exit_code != 0


def test_lot_generate_and_secret_rotation(cli: Cli, cli_engine: Engine) -> None:
    with cli_engine.begin() as conn:
        conn.execute(text("UPDATE voucher_types SET pin_length = 4 WHERE code = 'GC'"))
    made = cli("lot", "generate", "--type", "GC", "--count", "300")
    assert made.exit_code == 0, made.output
    assert "300 vouchers" in made.output and "done" in made.output
    sealed = "SELECT count(*) FROM vouchers WHERE secret_key_id = :k"
    assert _count(cli_engine, sealed, k="dev1") == 300
    refused = cli("lot", "generate", "--type", "GC", "--count", "5", "--state", "draft")
    assert refused.exit_code == 2 and "invalid_initial_state" in refused.output
    dev_key = (cli.home / "secret-keys").read_text().strip()
    env_cli = _KeyedCli(cli.dsn, cli.home, f"{dev_key},k2:{crypto.new_secret_key()}")
    result = env_cli("secrets", "rotate")
    assert result.exit_code == 0, result.output
    assert "re-encrypted 300 secrets under key k2" in result.output
    assert _count(cli_engine, sealed, k="k2") == 300


@dataclass(frozen=True)
class _KeyedCli(Cli):
    keys: str = ""

    def __call__(self, *args: str) -> Result:
        env = {
            "SCRIP_DATABASE_URL": self.dsn,
            "SCRIP_HOME": str(self.home),
            "SCRIP_SECRET_KEYS": self.keys,
            "COLUMNS": "200",
        }
        return CliRunner().invoke(app, list(args), env=env)


def test_bulk_run_activates_a_lot_and_reports_refusals(cli: Cli, cli_engine: Engine) -> None:
    made = cli("lot", "generate", "--type", "GC", "--count", "40", "--state", "prepared")
    assert made.exit_code == 0, made.output
    match = re.search(r"lot (\d+):", made.output)
    assert match is not None
    lot = match.group(1)
    activated = cli("bulk", "run", "--action", "activate", "--lot", lot)
    assert activated.exit_code == 0, activated.output
    assert "done — 40 selected, 40 done, 0 refused" in activated.output
    again = cli("bulk", "run", "--action", "activate", "--lot", lot, "--all-or-nothing")
    assert again.exit_code == 1 and "bulk_refused" in again.output
    assert "active, transition_not_allowed" in again.output
    no_reason = cli("bulk", "run", "--action", "cancel", "--lot", lot)
    assert no_reason.exit_code == 2 and "reason_required" in no_reason.output
    active = "SELECT count(*) FROM vouchers WHERE lot_id = :l AND state = 'active'"
    assert _count(cli_engine, active, l=int(lot)) == 40
    edited = cli(
        "bulk", "run", "--action", "change_validity", "--lot", lot, "--valid-until-on", "2031-03-31"
    )
    assert edited.exit_code == 0, edited.output
    assert "done — 40 selected, 40 done, 0 refused" in edited.output
    ends = "SELECT count(*) FROM vouchers WHERE lot_id = :l AND valid_until > '2031-03-31'"
    assert _count(cli_engine, ends, l=int(lot)) == 40


def test_type_create_and_list(cli: Cli, cli_engine: Engine) -> None:
    made = cli(
        "type", "create", "--code", "RF", "--name", "Refund voucher",
        "--classification", "refund_voucher", "--value-mode", "variable",
        "--refund-method", "cash", "--validity-basis", "from_issue", "--validity-days", "90",
        "--stores", "S001",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "voucher type RF (refund_voucher) defined" in made.output
    listed = cli("type", "list")
    assert listed.exit_code == 0 and "refund_voucher" in listed.output and "GC" in listed.output
    refused = cli(
        "type", "create", "--code", "BAD", "--name", "Bad", "--classification",
        "gift_certificate", "--value-mode", "variable",
    )  # fmt: skip
    assert refused.exit_code == 2 and "certificate_fixed_denomination" in refused.output
    stores = (
        "SELECT count(*) FROM voucher_types WHERE code = 'RF' AND allowed_store_ids IS NOT NULL"
    )
    assert _count(cli_engine, stores) == 1


def test_secret_show_is_audited(cli: Cli, cli_engine: Engine) -> None:
    with cli_engine.begin() as conn:
        conn.execute(text("UPDATE voucher_types SET pin_length = 4 WHERE code = 'GC'"))
    made = cli("lot", "generate", "--type", "GC", "--count", "2")
    assert made.exit_code == 0, made.output
    code = _a_sealed_code(cli_engine)
    shown = cli("secret", "show", code, "--reason", "customer call 4711", "--user", "bob")
    assert shown.exit_code == 0, shown.output
    assert re.search(rf"{code}: \d{{4}}\b", shown.output)
    refused = cli("secret", "show", code, "--user", "bob")
    assert refused.exit_code == 2 and "reason_required" in refused.output
    audited = (
        "SELECT count(*) FROM voucher_history h JOIN vouchers v ON v.id = h.voucher_id"
        " WHERE v.code = :c AND h.type LIKE 'secret.%' AND h.operator_code = 'bob'"
    )
    assert _count(cli_engine, audited, c=code) == 2


def _a_sealed_code(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT code FROM vouchers WHERE secret_sealed IS NOT NULL"
                    " ORDER BY id DESC LIMIT 1"
                )
            ).scalar_one()
        )


def test_user_create_token_and_audit_verify(cli: Cli, cli_engine: Engine) -> None:
    made = cli("user", "create", "carla", "--role", "finance")
    assert made.exit_code == 0, made.output
    password = re.search(r"password: (\S+)", made.output)
    assert password is not None
    with cli_engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE username = 'carla'"))
        assert crypto.verify_password(password.group(1), stored.scalar_one())
    token = cli("user", "token", "carla")
    assert token.exit_code == 0 and "sk_usr_" in token.output
    assert cli("user", "token", "nobody").exit_code == 2
    totp = cli("user", "totp", "carla")
    assert totp.exit_code == 0 and "otpauth://totp/scrip:carla" in totp.output, totp.output
    verified = cli("audit", "verify")
    assert verified.exit_code == 0 and "intact" in verified.output, verified.output
    with cli_engine.begin() as conn:  # a superuser rewrites history
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        first = conn.execute(text("SELECT min(id) FROM audit_log")).scalar_one()
        conn.execute(text("UPDATE audit_log SET actor = 'someone' WHERE id = :i"), {"i": first})
    broken = cli("audit", "verify")
    assert broken.exit_code == 1 and f"broken at row {first}" in broken.output, broken.output


def test_user_change_sets_scope_and_keeps_the_last_administrator(
    cli: Cli, cli_engine: Engine
) -> None:
    """The CLI acts as the installation, and the rules of services.users still hold."""
    with cli_engine.connect() as conn:
        store, issuer = conn.execute(
            text("SELECT s.id, s.issuer_id FROM stores s ORDER BY s.id LIMIT 1")
        ).one()
    assert cli("user", "create", "ada", "--role", "admin").exit_code == 0
    made = cli("user", "create", "zoe", "--role", "viewer", "--issuer", str(issuer))
    assert made.exit_code == 0, made.output
    changed = cli("user", "change", "zoe", "--role", "operator", "--store", str(store))
    assert changed.exit_code == 0, changed.output
    with cli_engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT r.name, u.store_ids, u.issuer_ids FROM users u JOIN roles r"
                " ON r.id = u.role_id WHERE u.username = 'zoe'"
            )
        ).one()
    assert tuple(row) == ("operator", [store], [issuer])
    unknown = cli("user", "change", "zoe", "--store", "999999999")
    assert unknown.exit_code == 2 and "store_not_found" in unknown.output, unknown.output
    with cli_engine.begin() as conn:  # ada alone is left as a full administrator
        conn.execute(text("UPDATE users SET active = false WHERE username <> 'ada' AND active"))
    try:
        last = cli("user", "change", "ada", "--disable")
        assert last.exit_code == 2 and "last_administrator" in last.output, last.output
        demoted = cli("user", "change", "ada", "--role", "viewer")
        assert demoted.exit_code == 2 and "last_administrator" in demoted.output
    finally:
        with cli_engine.begin() as conn:
            conn.execute(text("UPDATE users SET active = true"))


def test_up_makes_a_first_admin_once_and_shows_the_same_login_again(
    first_demo: tuple[Cli, Result], cli_engine: Engine, own_database: str
) -> None:
    from scrip import settings
    from scrip.cli.main import _ensure_first_admin

    cli = first_demo[0]
    with cli_engine.begin() as conn:  # the module's other tests made users; start from none
        conn.execute(text("DELETE FROM api_tokens; DELETE FROM user_sessions; DELETE FROM users"))
    config = settings.Settings(
        home=cli.home, database_url=own_database, host="127.0.0.1", port=0, workers=1,
        pool_size=1, log_level="info",
    )  # fmt: skip
    first = _ensure_first_admin(config, own_database)
    assert first[0] == "admin" and _ensure_first_admin(config, own_database) == first
    with cli_engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE username = 'admin'"))
        assert crypto.verify_password(first[1], stored.scalar_one())
        assert (
            _count(cli_engine, "SELECT count(*) FROM audit_log WHERE action = 'first admin'") == 1
        )


def test_promotion_list_and_evaluate_a_receipt_file(
    cli: Cli, cli_engine: Engine, tmp_path: Path
) -> None:
    from scrip.services import catalog, promotions

    with cli_engine.begin() as conn:
        demo = conn.execute(text("SELECT id FROM issuers WHERE code = 'DEMO'")).scalar_one()
        catalog.create_voucher_type(
            conn,
            issuer_id=demo,
            code="CLIGIFT",
            name="Gift",
            face_value_minor=500,
            classification="promotional_voucher",
        )
        promotions.create_promotion(
            conn,
            scope=EVERYTHING,
            issuer_id=demo,
            code="DRINKS",
            name="Six drinks, one gift",
            kind="purchased_goods",
            type_code="CLIGIFT",
            status="active",
            params={"group": "drinks", "quantity": 6, "value_minor": 300},
            receipt_text="Cheers!",
        )
    listed = cli("promotion", "list")
    assert listed.exit_code == 0, listed.output
    assert "DRINKS" in listed.output and "purchased_goods" in listed.output
    assert "SPEND50" in listed.output  # the demo's own promotion

    receipt = tmp_path / "receipt.json"
    receipt.write_text(
        json.dumps(
            {
                "lines": [
                    {
                        "item_code": "COLA",
                        "item_group": "drinks",
                        "quantity": 12,
                        "amount_minor": 1800,
                    }
                ]
            }
        )
    )
    earned = cli("promotion", "evaluate", str(receipt))
    assert earned.exit_code == 0, earned.output
    assert earned.output.count("Cheers!") == 2  # twelve drinks, two vouchers of 3.00
    assert _count(cli_engine, "SELECT count(*) FROM promotion_issues") == 0  # a preview

    receipt.write_text(json.dumps({"amount_minor": 12_000}))
    assert "1000" in cli("promotion", "evaluate", str(receipt)).output  # SPEND50's top step
    receipt.write_text(json.dumps({"lines": []}))
    assert "earns no vouchers" in cli("promotion", "evaluate", str(receipt)).output
    receipt.write_text("{not json")
    assert cli("promotion", "evaluate", str(receipt)).exit_code == 2
