"""Use cases: one transaction's worth of work each. Services never commit.

A mutating service does, in the caller's transaction: lock → decide (pure domain) → apply →
history row → ledger transfers. It returns a small frozen dataclass, not a row.
"""
