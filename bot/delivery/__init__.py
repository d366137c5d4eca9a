"""Delivery: the outbox worker, the outbox kinds, and rendering each row at send time."""
