"""The secret a voucher is presented with at the till (S3, S7.4): a PIN set one at a time is
kept as a scrypt hash (``pin_hash``); the secret number of a lot voucher lives in the vault,
AES-GCM sealed (``secret_sealed``). :func:`verifier` says which one applies and how to check an
entry against it; ``till.check_pin`` counts failures and locks the same way for both.

A vault secret is asked for only when the voucher's type sets a secret length (``pin_length``):
a type that doesn't keeps its lot secrets for print and retrieval alone. It is compared in
constant time (``hmac.compare_digest``) and decrypted only when an entry is made.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from scrip import crypto
from scrip.db.vouchers import VoucherRow
from scrip.domain.errors import Busy

Verifier = Callable[[str], bool]


def verifier(voucher: VoucherRow, keyring: crypto.Keyring | None) -> Verifier | None:
    """How to check an entered secret for ``voucher``, or None when it needs none."""
    pin_hash = voucher.pin_hash
    if pin_hash is not None:
        return lambda entered: crypto.verify_pin(entered, pin_hash)
    sealed, key_id = voucher.secret_sealed, voucher.secret_key_id
    if voucher.pin_length is None or sealed is None or key_id is None:
        return None
    if keyring is None:
        raise Busy("the secret vault has no keys configured", code="vault_not_configured")
    vault = keyring

    def matches(entered: str) -> bool:
        secret = crypto.decrypt_secret(sealed, vault.key(key_id), aad=crypto.secret_aad(voucher.id))
        return hmac.compare_digest(entered.encode(), secret.encode())

    return matches
