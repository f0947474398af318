"""The vault's authenticated encryption: round trip, wrong key or voucher refused, no leaks."""

from __future__ import annotations

import pytest

from scrip import crypto


def _ring(*ids: str) -> crypto.Keyring:
    return crypto.parse_keyring(",".join(f"{i}:{crypto.new_secret_key()}" for i in ids))


def test_round_trip() -> None:
    ring = _ring("k1")
    key_id, sealed = crypto.encrypt_secret("123456", "k1", ring.key("k1"), aad=crypto.secret_aad(7))
    assert key_id == "k1" and b"123456" not in sealed
    assert crypto.decrypt_secret(sealed, ring.key("k1"), aad=crypto.secret_aad(7)) == "123456"


def test_wrong_key_or_other_voucher_is_refused() -> None:
    ring = _ring("k1", "k2")
    _, sealed = crypto.encrypt_secret("123456", "k1", ring.key("k1"), aad=crypto.secret_aad(7))
    with pytest.raises(crypto.SecretDecryptError) as wrong_key:
        crypto.decrypt_secret(sealed, ring.key("k2"), aad=crypto.secret_aad(7))
    with pytest.raises(crypto.SecretDecryptError):
        crypto.decrypt_secret(sealed, ring.key("k1"), aad=crypto.secret_aad(8))
    assert "123456" not in str(wrong_key.value)


def test_keyring_never_shows_keys_and_current_is_last_or_chosen() -> None:
    ring = _ring("k1", "k2")
    assert ring.current_id == "k2"
    assert crypto.parse_keyring("a:" + crypto.new_secret_key(), None).current_id == "a"
    for key in ring.keys.values():
        assert key.hex() not in repr(ring)
    with pytest.raises(crypto.SecretKeyError):
        crypto.parse_keyring("k1:" + crypto.new_secret_key(), "k9")
    with pytest.raises(crypto.SecretKeyError):
        crypto.parse_keyring("k1:c2hvcnQ=")
