"""Secrets at rest: register API keys and voucher PINs hashed, secret numbers encrypted.

API keys are 256-bit random strings, so one SHA-256 is enough to make the stored column
useless to a thief. PINs have little entropy; they are salted and stretched with scrypt and
additionally protected by the wrong-PIN lock. Secret numbers that entitled users may read
back live in the vault: AES-256-GCM with a key id (see the vault section below). Back-office
passwords are argon2id; user session and API tokens are random and stored as SHA-256; the
audit trail's rows are chained by SHA-256 (the last two sections).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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


# --- secret vault -------------------------------------------------------------------------
# Secret numbers (the PIN or "secret number" printed under a scratch panel) must be shown
# again to entitled users, so they are encrypted, not hashed: AES-256-GCM, a fresh 96-bit
# nonce per row, and the voucher's identity as associated data so that a ciphertext copied
# onto another voucher's row fails to decrypt. The key id is stored beside the ciphertext so
# keys can be rotated: old ids stay readable until every row is re-encrypted.

NONCE_BYTES = 12
KEY_BYTES = 32


class SecretKeyError(Exception):
    """A key id that is not configured, or a key of the wrong size (never shows key bytes)."""


class SecretDecryptError(Exception):
    """Ciphertext, key or associated data do not belong together."""


@dataclass(frozen=True)
class Keyring:
    """The vault's keys by id and the id new ciphertexts use; ``repr`` never shows a key."""

    keys: Mapping[str, bytes] = field(repr=False)
    current_id: str

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise SecretKeyError(f"the current key id {self.current_id!r} has no key")
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES or not key_id or ":" in key_id or "," in key_id:
                raise SecretKeyError(f"key {key_id!r} must be {KEY_BYTES} bytes under a plain id")

    def key(self, key_id: str) -> bytes:
        if key_id not in self.keys:
            raise SecretKeyError(f"no secret key with id {key_id!r} is configured")
        return self.keys[key_id]

    def cipher(self, key_id: str) -> AESGCM:
        return AESGCM(self.key(key_id))

    @property
    def current(self) -> AESGCM:
        return self.cipher(self.current_id)


def parse_keyring(keys: str, current_id: str | None = None) -> Keyring:
    """``"k1:<base64 32 bytes>,k2:<…>"``; the current id defaults to the last one listed."""
    parsed: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in keys.split(","))):
        key_id, _, encoded = item.partition(":")
        try:
            parsed[key_id.strip()] = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise SecretKeyError(f"key {key_id!r} is not valid base64") from None
    if not parsed:
        raise SecretKeyError("no secret keys are configured")
    return Keyring(parsed, current_id or list(parsed)[-1])


def new_secret_key() -> str:
    """A fresh key, base64, for ``SCRIP_SECRET_KEYS``."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def secret_aad(voucher_id: int) -> bytes:
    """The associated data binding a ciphertext to one voucher."""
    return b"scrip-voucher-secret:%d" % voucher_id


def encrypt_secret(plaintext: str, key_id: str, key: bytes, *, aad: bytes) -> tuple[str, bytes]:
    """``(key_id, nonce + ciphertext)`` of ``plaintext`` under ``key`` bound to ``aad``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return key_id, nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), aad)


def seal(cipher: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """The hot-loop form of :func:`encrypt_secret` with a cipher built once per batch."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, plaintext, aad)


def decrypt_secret(sealed: bytes, key: bytes, *, aad: bytes) -> str:
    """The plaintext of ``nonce + ciphertext``; refuses a wrong key or associated data."""
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad).decode()
    except InvalidTag:
        raise SecretDecryptError("the secret does not decrypt with this key and voucher") from None


# --- back-office users -------------------------------------------------------------------
# Passwords are argon2id (argon2-cffi's defaults, RFC 9106's second recommendation). Session
# and API tokens are 256-bit random strings stored as SHA-256, like register keys.

USER_TOKEN_PREFIX = "sk_usr_"
_PASSWORDS = PasswordHasher()


def hash_password(password: str) -> str:
    return _PASSWORDS.hash(password)


def verify_password(password: str, stored: str) -> bool:
    try:
        return _PASSWORDS.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_user_token() -> str:
    return USER_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


# --- audit chain -------------------------------------------------------------------------
# Each audit row's hash covers the previous row's hash and its own canonical JSON, so changing,
# removing or reordering any row breaks every link from there on.

AUDIT_GENESIS = "0" * 64


def audit_hash(prev_hash: str, content: Mapping[str, object]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical.encode()).hexdigest()
