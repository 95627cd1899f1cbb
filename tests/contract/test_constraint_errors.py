"""Every named constraint of the migrated schema is mapped to a domain error by exactly one
PostgreSQL repository (beside the SQL that can violate it), or declared unmapped with a reason."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest

from adapters.postgres import constraints
from adapters.postgres.constraints import BY_CONSTRAINT, BY_REPOSITORY, UNMAPPED
from domain.errors import EmailTaken
from shopdb.migrations import upgrade
from shopdb.testdb import scratch_database
from tests.contract.test_drift import SCHEMA_RULES


def unaccounted(url: str) -> dict[str, int]:
    """Constraints of the schema not accounted for exactly once, and those accounted for that
    the schema lacks: each with the number of places (repository maps, UNMAPPED) naming it."""
    with psycopg.connect(url) as conn:
        in_schema = {str(row[0]) for row in conn.execute(SCHEMA_RULES)}
    places = Counter(name for errors in BY_REPOSITORY.values() for name in errors)
    places.update(list(UNMAPPED))
    return {
        name: places[name]
        for name in in_schema | set(places)
        if places[name] != 1 or name not in in_schema
    }


def test_every_constraint_is_mapped_once_or_declared_unmapped(database_url: str) -> None:
    assert unaccounted(database_url) == {}
    assert all(reason.strip() for reason in UNMAPPED.values())


def test_a_new_constraint_or_a_dropped_one_is_noticed(admin_url: str) -> None:
    with scratch_database(admin_url, prefix="shopdb_mapped") as url:
        upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE UNIQUE INDEX products_name_key ON products (name)")
            conn.execute("ALTER TABLE orders DROP CONSTRAINT orders_status_check")
        # One the schema lost is named still: a reason kept for nothing.
        assert unaccounted(url) == {"products_name_key": 0, "orders_status_check": 1}


def test_the_global_map_is_the_repositories_maps_joined() -> None:
    assert dict(BY_CONSTRAINT) == {
        name: error for errors in BY_REPOSITORY.values() for name, error in errors.items()
    }
    error = BY_CONSTRAINT["users_email_lower_key"]({"email": "a@example.com"})
    assert isinstance(error, EmailTaken)


def test_a_constraint_mapped_by_two_repositories_is_refused() -> None:
    twice = {
        "users": {"users_email_lower_key": lambda c: EmailTaken(c["email"])},
        "carts": {"users_email_lower_key": lambda c: EmailTaken(c["email"])},
    }
    with pytest.raises(ValueError, match="users_email_lower_key"):
        constraints._joined(twice)
