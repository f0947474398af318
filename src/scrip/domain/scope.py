"""Whose records a user may see and act on (S13): a scope of issuers and stores.

Rights (``domain.rights``) say *what* a user may do; the scope says *to whose records*. A
user's scope has two parts, each ``None`` for "every one":

- ``issuer_ids``: the issuers (tenants) whose records the user may see at all;
- ``store_ids``: the stores. A user limited to stores is a *store user*: they see the records
  that belong to one of their stores and none that belong to head office.

What a record belongs to (the policy, also in ``docs/architecture.md``):

- a **voucher** belongs to its issuer and to the store where it was sold or activated
  (``vouchers.activated_store_id``); a voucher never sold (stock, a lot not yet activated)
  belongs to its issuer's head office;
- a **store** and its **registers** belong to the store (and its issuer);
- **lots**, **bulk operations** made at head office, **holders**, **issuers** and the
  **audit trail** belong to head office; a bulk operation made by a store user belongs to the
  stores it was limited to;
- **voucher types**, **code templates** and **promotions** are the issuer's *catalogue*: a
  store user of the issuer may read them, only head office may change them;
- a **report** is computed over the records in the scope of whoever runs it: issuers outside
  it are left out (naming one is refused), and for a store user only what happened at their
  stores (sold, used, reversed there) and the vouchers sold there are counted.

An issuer scope is never wider than the issuers of the user's stores: a store user of issuer
A sees nothing of issuer B (``Scope.of`` derives it). The checks raise ``Forbidden`` with a
stable code: ``issuer_out_of_scope``, ``store_out_of_scope``, ``head_office_only``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scrip.domain.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Scope:
    issuer_ids: frozenset[int] | None = None
    store_ids: frozenset[int] | None = None

    @classmethod
    def of(
        cls,
        issuer_ids: Iterable[int] | None,
        store_ids: Iterable[int] | None,
        store_issuer_ids: Iterable[int] = (),
    ) -> Scope:
        """A user's effective scope: stored issuers narrowed to the issuers of the stored
        stores (``store_issuer_ids``), when the user is limited to stores."""
        issuers = None if issuer_ids is None else frozenset(issuer_ids)
        stores = None if store_ids is None else frozenset(store_ids)
        if stores is not None:
            of_stores = frozenset(store_issuer_ids)
            issuers = of_stores if issuers is None else issuers & of_stores
        return cls(issuers, stores)

    @property
    def head_office(self) -> bool:
        """Not limited to stores: sees head office's records too."""
        return self.store_ids is None

    @property
    def everything(self) -> bool:
        return self.issuer_ids is None and self.store_ids is None

    def sees_issuer(self, issuer_id: int) -> bool:
        return self.issuer_ids is None or issuer_id in self.issuer_ids

    def sees_store(self, store_id: int | None) -> bool:
        """A record of store ``store_id`` (None: head office's)."""
        if self.store_ids is None:
            return True
        return store_id is not None and store_id in self.store_ids

    def within(self, other: Scope) -> bool:
        """Everything this scope sees, ``other`` sees too."""
        return _subset(self.issuer_ids, other.issuer_ids) and _subset(
            self.store_ids, other.store_ids
        )


EVERYTHING = Scope()


def _subset(part: frozenset[int] | None, whole: frozenset[int] | None) -> bool:
    if whole is None:
        return True
    return part is not None and part <= whole


def check_issuer(scope: Scope, issuer_id: int) -> None:
    if not scope.sees_issuer(issuer_id):
        raise Forbidden(
            "this issuer is outside the user's scope",
            code="issuer_out_of_scope",
            issuer_id=issuer_id,
        )


def check_store(scope: Scope, issuer_id: int, store_id: int | None) -> None:
    """A record of ``issuer_id`` belonging to ``store_id`` (None: to head office)."""
    check_issuer(scope, issuer_id)
    if store_id is None:
        check_head_office(scope, issuer_id)
    elif not scope.sees_store(store_id):
        raise Forbidden(
            "this store is outside the user's stores", code="store_out_of_scope", store_id=store_id
        )


def check_head_office(scope: Scope, issuer_id: int | None = None) -> None:
    """A head-office record of ``issuer_id`` (None: of the whole installation, such as a new
    issuer or the audit trail, which only a user with every issuer may touch)."""
    if issuer_id is None:
        if scope.issuer_ids is not None:
            raise Forbidden("only a user with every issuer may do this", code="issuer_out_of_scope")
    else:
        check_issuer(scope, issuer_id)
    if not scope.head_office:
        raise Forbidden(
            "head office's records are for users not limited to stores", code="head_office_only"
        )
