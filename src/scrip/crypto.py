"""Secrets at rest: register API keys and voucher PINs are stored only as hashes.

API keys are 256-bit random strings, so one SHA-256 is enough to make the stored column
useless to a thief. PINs have little entropy; they are salted and stretched with scrypt and
additionally protected by the wrong-PIN lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_KEY_PREFIX = "sk_reg_"


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_hint(key: str) -> str:
    """The few characters shown in lists so an operator can tell keys apart."""
    return key[: len(API_KEY_PREFIX) + 4]


_SCRYPT = {"n": 2**12, "r": 8, "p": 1, "dklen": 32}


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    scheme, salt_hex, digest_hex = stored.split("$")
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def request_fingerprint(canonical: bytes) -> str:
    """Fingerprint of an idempotent request, to refuse a reused key with another body."""
    return hashlib.sha256(canonical).hexdigest()
