"""Outgoing email: the outbox table, composing messages and delivering them."""
