"""``POST /v1/admin/vouchers/{code}/secret``: a voucher's secret number, for an entitled user
giving a reason; every retrieval and every refused attempt is written to its history."""

from __future__ import annotations

from fastapi import Request, Response

from scrip.api.admin import admin_router, issuer_id_of, utc_now, vault_keyring
from scrip.api.audit import unit
from scrip.api.auth import PrincipalDep, anyone
from scrip.services import secrets
from scrip.wire.admin import SecretOut, SecretRetrievalIn

router = admin_router()


# Open to every user on purpose: the service decides (``secrets.entitled``), so an attempt
# without the right is refused *and* written to the voucher's history, not stopped before it.
@router.post("/vouchers/{code}/secret", response_model=SecretOut, dependencies=[anyone()])
def retrieve_secret(
    code: str,
    body: SecretRetrievalIn,
    request: Request,
    response: Response,
    principal: PrincipalDep,
) -> SecretOut:
    """The secret number of a voucher; refused (403 ``secret_access_denied``) without the
    right and (422 ``reason_required``) without a reason, the attempt recorded either way;
    refused (403) for a voucher outside the user's issuers or stores."""
    work = unit(request)
    conn = work.connection()
    try:
        found = secrets.retrieve(
            conn,
            scope=principal.scope,
            issuer_id=issuer_id_of(conn, body.issuer),
            voucher_code=code,
            user=principal.username,
            reason=body.reason,
            entitled=secrets.entitled(principal),
            keyring=vault_keyring(request),
            now=utc_now(),
        )
    except secrets.SecretRefused as refused:
        work.keep_refusal()  # the attempt's history row commits with the refusal's audit row
        raise refused.cause from None
    response.headers["Cache-Control"] = "no-store"
    return SecretOut(code=found.code, secret=found.secret)
