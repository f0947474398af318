"""What an audit row keeps of a request body: everything but fields named like secrets."""

from __future__ import annotations

from scrip.api.audit import without_secrets


def test_secret_fields_are_dropped_at_any_depth() -> None:
    body = {
        "name": "lot 7",
        "password": "hunter2",
        "items": [{"code": "GC-1", "pin": "1234"}, {"code": "GC-2", "secret_number": "99"}],
        "holder": {"card": "C1", "api_key": "sk_x", "nested": [[{"csrf_token": "t"}]]},
    }

    assert without_secrets(body) == {
        "name": "lot 7",
        "items": [{"code": "GC-1"}, {"code": "GC-2"}],
        "holder": {"card": "C1", "nested": [[{}]]},
    }


def test_a_list_body_is_cleaned_too() -> None:
    assert without_secrets([{"otp": "123456", "reason": "audit"}, 5]) == [{"reason": "audit"}, 5]
