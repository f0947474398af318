"""Settings read from the environment. Only entry points (cli, server) read them.

Secret vault keys: ``SCRIP_SECRET_KEYS="k1:<base64 of 32 bytes>,k2:<…>"`` and
``SCRIP_SECRET_KEY_ID=k2`` (the key new secrets are sealed with; default: the last listed).
Without ``SCRIP_SECRET_KEYS`` (``make run``, tests) a development key is generated once into
``$SCRIP_HOME/secret-keys`` (mode 600) and used from there: fine for a demo, never for
production, where keys come from the environment (or a secret manager filling it).
``SCRIP_ADMIN_TOKEN``, when set, is a break-glass Bearer token of the admin API acting as a full
administrator (users hold their own API tokens; see ``api.auth``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scrip import crypto

DEV_KEYS_FILE = "secret-keys"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    host: str
    port: int
    workers: int
    pool_size: int
    log_level: str
    secret_keys: str | None = None
    secret_key_id: str | None = None
    admin_token: str | None = None

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pgdata"


def load() -> Settings:
    env = os.environ
    return Settings(
        home=Path(env.get("SCRIP_HOME", ".scrip")).resolve(),
        database_url=env.get("SCRIP_DATABASE_URL") or None,
        host=env.get("SCRIP_HOST", "127.0.0.1"),
        port=int(env.get("SCRIP_PORT", "8000")),
        workers=int(env.get("SCRIP_WORKERS", "2")),
        pool_size=int(env.get("SCRIP_DB_POOL_SIZE", "10")),
        log_level=env.get("SCRIP_LOG_LEVEL", "info"),
        secret_keys=env.get("SCRIP_SECRET_KEYS") or None,
        secret_key_id=env.get("SCRIP_SECRET_KEY_ID") or None,
        admin_token=env.get("SCRIP_ADMIN_TOKEN") or None,
    )


def keyring(config: Settings) -> crypto.Keyring:
    """The vault's keys from settings, or the development key under ``home`` (made once)."""
    if config.secret_keys:
        return crypto.parse_keyring(config.secret_keys, config.secret_key_id)
    path = config.home / DEV_KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"dev1:{crypto.new_secret_key()}\n")
        path.chmod(0o600)
    return crypto.parse_keyring(path.read_text().strip(), config.secret_key_id)
