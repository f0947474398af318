"""HTTP entry points (FastAPI), thin: they own the transaction, services do the work."""
