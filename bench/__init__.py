"""Benchmarks: shopdb against raw psycopg and the SQLAlchemy ORM, side by side in one run."""
