"""The HTTP edge every service shares: app factory, security dependencies, pagination,
idempotency keys, errors and metrics."""
