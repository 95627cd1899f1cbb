"""Adapters: the PostgreSQL implementation of the ports, the in-memory fakes, password hashing."""
