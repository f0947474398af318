"""``POST /v1/admin/vouchers/{code}/secret``: a voucher's secret number, for an entitled user
giving a reason; every retrieval and every refused attempt is written to its history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from scrip.api.admin import ERRORS, _issuer_id, _keyring, _now, admin
from scrip.api.deps import EngineDep
from scrip.services import secrets
from scrip.wire.admin import SecretOut, SecretRetrievalIn

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=ERRORS)


@router.post("/vouchers/{code}/secret", response_model=SecretOut)
def retrieve_secret(
    code: str,
    body: SecretRetrievalIn,
    engine: EngineDep,
    request: Request,
    response: Response,
    role: str = Depends(admin),
) -> SecretOut:
    """The secret number of a voucher; refused (403 ``secret_access_denied``) without the
    right and (422 ``reason_required``) without a reason, the attempt recorded either way."""
    found = secrets.retrieve_committed(
        engine,
        issuer_id=_issuer_id(engine, body.issuer),
        voucher_code=code,
        user=body.user,
        reason=body.reason,
        entitled=secrets.entitled(role),
        keyring=_keyring(request),
        now=_now(),
    )
    response.headers["Cache-Control"] = "no-store"
    return SecretOut(code=found.code, secret=found.secret)
