"""Driver errors become domain errors here, at the edge: by constraint name, then by SQLSTATE."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import TypedDict

import psycopg
from psycopg import errors
from psycopg_pool import PoolTimeout

from domain.errors import (
    DomainError,
    InvalidInput,
    ServerOutOfResources,
    StorageUnavailable,
    TransientConflict,
)


class ErrorContext(TypedDict, total=False):
    """The values of a statement that its errors name: what a repository passes to
    `Session.writing(...)` and a constraint's error reads back. Typed, so that a misspelt
    name fails mypy where it is written or read, not at run time on the failure path."""

    user_id: int | None
    cart_id: int | None
    product_id: int | None
    username: str
    email: str
    field: str  # the column a value out of range goes to


# Constraint name -> domain error, built from the values of the statement that failed. Each
# repository keeps the map for its SQL beside it (CONSTRAINT_ERRORS); constraints.py joins them.
ConstraintError = Callable[[ErrorContext], DomainError]
ConstraintErrors = Mapping[str, ConstraintError]

# Why a constraint needs no domain error of its own (the repositories' UNMAPPED).
NEVER_SUPPLIED = "an identity column: ids are never supplied, so never duplicated"
A_CHECK = "a CHECK: InvalidInput by SQLSTATE 23514; the domain refuses such values first"
NEVER_DELETED = (
    "users and products are archived, never deleted: it refuses only a hand-written DELETE"
)

# Only these say that the schema is behind the code. An UndefinedFunction (42883) also means
# an operator applied to a value of the wrong type, so it stays a generic database error.
SCHEMA_MISSING = (errors.UndefinedTable, errors.UndefinedColumn)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# SQLSTATE class 53, insufficient resources: the server answered and refused the work. What
# each condition always means, and what the caller is told; any other code of the class
# keeps the generic wording. The server's own first line follows, for the operator.
RESOURCES: Mapping[str, tuple[str, str]] = {
    "53100": ("disk", "the database server's disk is full"),
    "53200": ("memory", "the database server ran out of memory"),
    "53300": ("connections", "the database server has no connection slot left"),
    "53400": ("configured limit", "the work exceeded a limit set in the server's configuration"),
}


def _out_of_resources(exc: psycopg.Error) -> ServerOutOfResources:
    sqlstate = exc.sqlstate or "53000"
    resource, said = RESOURCES.get(sqlstate, ("resources", "the database server lacks resources"))
    return ServerOutOfResources(
        resource,
        f"{said} (SQLSTATE {sqlstate}: {_first_line(exc)}); nothing was stored",
    )


# Through a Citus coordinator, an error a worker raised arrives without its constraint name,
# and its message names the shard's constraint (the name with the shard's id appended,
# `users_email_lower_key_102225`); on some INSERT ... SELECT paths even the SQLSTATE becomes
# XX000. Identifiers are never translated, so the name is found among the words of the message
# whatever the server's lc_messages: a word that is a known name, or one followed by a shard id.
# Only integrity violations (class 23) and XX000 are read so: no other message can name one.
RELAYED = ("23", "XX000")
_WORD = re.compile(r"[a-z_][a-z0-9_$]*")
_SHARD_ID = re.compile(r"_[0-9]+$")


def constraint_of(exc: psycopg.Error, known: Collection[str]) -> str | None:
    """The constraint `exc` names: the server's field, or else the first of `known` that its
    message names (as a Citus coordinator relays a worker's error)."""
    name: str | None = exc.diag.constraint_name
    if name is not None or not (exc.sqlstate or "").startswith(RELAYED):
        return name
    words: list[str] = _WORD.findall(exc.diag.message_primary or "")
    for word in words:
        if word in known:
            return word
        if (bare := _SHARD_ID.sub("", word)) != word and bare in known:
            return bare
    return None


def _named_check(exc: psycopg.Error) -> str | None:
    """The check constraint a relayed error names, for the message (any word ending in
    `_check`, less a shard id)."""
    if not (exc.sqlstate or "").startswith(RELAYED):
        return None
    for word in _WORD.findall(exc.diag.message_primary or ""):
        bare = _SHARD_ID.sub("", word)
        if bare.endswith("_check"):
            return bare
    return None


def translate(
    exc: Exception, context: ErrorContext, by_constraint: ConstraintErrors | None = None
) -> DomainError:
    """The domain error for a driver or pool error; `context` holds the statement's values,
    `by_constraint` the errors of named constraints."""
    if isinstance(exc, PoolTimeout):
        return StorageUnavailable(f"no database connection available: {_first_line(exc)}")
    if not isinstance(exc, psycopg.Error):
        return StorageUnavailable(f"database error: {_first_line(exc)}")
    constraint = constraint_of(exc, by_constraint or ())
    if constraint is not None and by_constraint and constraint in by_constraint:
        return by_constraint[constraint](context)
    relayed = exc.sqlstate == "XX000" and exc.diag.constraint_name is None
    if isinstance(exc, errors.CheckViolation) or (relayed and _named_check(exc)):
        return InvalidInput(f"violates the rule {constraint or _named_check(exc)}")
    if isinstance(exc, errors.NumericValueOutOfRange):
        return InvalidInput(f"{context.get('field', 'value')}: out of range")
    if isinstance(exc, psycopg.DataError):
        # SQLSTATE class 22, data exception: always a value the database refused. Its message
        # may quote the value, so only the condition's name is kept.
        return InvalidInput(f"a value was refused by the database ({type(exc).__name__})")
    if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
        return TransientConflict(f"transaction aborted by the database: {_first_line(exc)}")
    if isinstance(exc, errors.QueryCanceled):
        return StorageUnavailable("statement cancelled: it ran longer than statement_timeout")
    if isinstance(exc, errors.IdleInTransactionSessionTimeout):
        return StorageUnavailable(
            "transaction closed by the server: idle longer than"
            " idle_in_transaction_session_timeout; nothing was committed"
        )
    if isinstance(exc, errors.LockNotAvailable):
        return StorageUnavailable("gave up waiting for a lock (lock_timeout)")
    if isinstance(exc, SCHEMA_MISSING):
        return StorageUnavailable(
            f"database schema is not at the expected version ({_first_line(exc)}):"
            " run `shopdb migrate`"
        )
    if exc.sqlstate is not None and exc.sqlstate.startswith("53"):
        return _out_of_resources(exc)
    if isinstance(exc, psycopg.OperationalError):
        return StorageUnavailable(f"database unavailable: {_first_line(exc)}")
    return StorageUnavailable(f"database error {exc.sqlstate}: {_first_line(exc)}")
