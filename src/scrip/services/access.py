"""Who may give whom which access (S13, issue 13 item 8): the checks ``services.users`` runs
before it creates or changes a user, a role, a token or a second factor.

A security officer manages users, but managing users must not be a way to more rights:

- a role is grantable only by a user whose own grants reach every grant of it
  (``role_not_grantable``); the same holds for editing a role, before and after the edit;
- a scope (issuers, stores) is grantable only within the granter's own
  (``scope_not_grantable``), and must name existing stores and issuers that agree
  (``store_not_found``, ``issuer_not_found``, ``invalid_scope``);
- a user whose role or scope reaches beyond the manager's is not theirs to change, disable,
  give tokens or a second factor (``user_not_manageable``);
- nobody changes their own role, scope or active flag (``own_access``);
- the last active full administrator is never disabled, demoted or limited
  (``last_administrator``), and roles (installation-wide) are edited only by a user with every
  issuer and store.

Each refusal is a ``Forbidden`` (403) or, for the last administrator, a ``Conflict`` (409),
and is raised before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection

from scrip.db import users as users_db
from scrip.db.users import UserRow
from scrip.domain import rights
from scrip.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from scrip.domain.rights import Area, Grants, Level, Principal, Right
from scrip.domain.scope import Scope

# The installation itself (``scrip up`` making the first administrator, the CLI run by whoever
# holds the server): every right and every issuer, and no user of its own.
INSTALLATION = Principal(
    user_id=None, username="installation", role="admin", grants=rights.ALL_WRITE
)

_MANAGE = (Right(Area.users, Level.write),)


def check_manager(actor: Principal) -> None:
    if not rights.allows(actor.grants, _MANAGE):
        raise Forbidden(
            f"the role {actor.role} lacks write on users",
            code="right_missing",
            area="users",
            level="write",
        )


def role(conn: Connection, name: str) -> tuple[int, dict[Area, Level]]:
    found = users_db.find_role(conn, name)
    if found is None:
        raise NotFound("no role with this name", code="role_not_found", role=name[:32])
    return found[0], rights.grants_of(found[1])


def check_grantable(actor: Principal, name: str, grants: Grants) -> None:
    beyond = rights.first_beyond(grants, actor.grants)
    if beyond is not None:
        raise Forbidden(
            f"the role {name} gives {beyond.level.name} on {beyond.area.value}, beyond the"
            f" granter's own rights",
            code="role_not_grantable",
            role=name[:32],
            area=beyond.area.value,
            level=beyond.level.name,
        )


def scope_of(
    conn: Connection, *, issuer_ids: Iterable[int] | None, store_ids: Iterable[int] | None
) -> Scope:
    """The effective scope of stored ``issuer_ids`` / ``store_ids``, checked: every store and
    issuer exists, a list is never empty, and the stores belong to the issuers given."""
    issuers = None if issuer_ids is None else sorted(set(issuer_ids))
    stores = None if store_ids is None else sorted(set(store_ids))
    if issuers == [] or stores == []:
        raise InvalidInput(
            "a limit names at least one issuer or store (none: every one)", code="invalid_scope"
        )
    of_stores: dict[int, int] = {}
    if stores is not None:
        of_stores = users_db.issuers_of_stores(conn, stores)
        missing = sorted(set(stores) - set(of_stores))
        if missing:
            raise NotFound("no store with this id", code="store_not_found", stores=missing)
    if issuers is not None:
        missing = sorted(set(issuers) - users_db.existing_issuers(conn, issuers))
        if missing:
            raise NotFound("no issuer with this id", code="issuer_not_found", issuers=missing)
        outside = sorted(s for s, i in of_stores.items() if i not in issuers)
        if outside:
            raise InvalidInput(
                "these stores belong to issuers the user is not limited to",
                code="invalid_scope",
                stores=outside,
            )
    return Scope.of(issuers, stores, of_stores.values())


def check_scope_grantable(actor: Principal, scope: Scope) -> None:
    if not scope.within(actor.scope):
        raise Forbidden(
            "a user can be limited only within the granter's own issuers and stores",
            code="scope_not_grantable",
        )


def principal_of(user: UserRow) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        grants=rights.grants_of(user.grants),
        scope=Scope.of(user.issuer_ids, user.store_ids, user.store_issuer_ids),
    )


def check_manageable(actor: Principal, target: UserRow) -> None:
    """The actor may manage ``target``: its rights and scope are within the actor's."""
    check_manager(actor)
    if actor.user_id == target.id:
        return
    them = principal_of(target)
    if rights.first_beyond(them.grants, actor.grants) is not None or not them.scope.within(
        actor.scope
    ):
        raise Forbidden(
            "this user has rights or a scope beyond the manager's", code="user_not_manageable"
        )


def check_not_own(actor: Principal, target: UserRow, what: str) -> None:
    if actor.user_id == target.id:
        raise Forbidden(
            f"nobody changes their own {what}; ask another administrator", code="own_access"
        )


def keep_an_administrator(
    conn: Connection, *, losing_users: Iterable[int] = (), losing_role: str | None = None
) -> None:
    """Refuse when no active full administrator would remain once ``losing_users`` (or every
    holder of ``losing_role``) stop being one. Takes the access lock first."""
    users_db.lock_access(conn)
    losing = set(losing_users)
    remaining = [
        user_id
        for user_id, held, grants in users_db.unscoped_active_users(conn)
        if user_id not in losing
        and held != losing_role
        and rights.full_administrator(rights.grants_of(grants), Scope())
    ]
    if not remaining:
        raise Conflict("this would leave no active full administrator", code="last_administrator")


def stays_full_administrator(grants: Mapping[Area, Level], scope: Scope, active: bool) -> bool:
    return active and rights.full_administrator(grants, scope)
