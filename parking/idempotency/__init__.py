"""Idempotency keys: a request sent again with the same key gets the first answer, once."""
