"""Background work: receipt time-outs (and later expiry, outbox)."""
