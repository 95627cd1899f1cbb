# Generated from users_async.py (tools/generate_sync.py): edit that instead.
"""PostgreSQL user repository."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.postgres.errors import A_CHECK, NEVER_SUPPLIED, ConstraintErrors
from adapters.postgres.rows import columns, mapper
from adapters.postgres.session import Session, returned, write
from domain.errors import EmailTaken, UsernameTaken, UserNotFound
from domain.model import NewUser, User
from domain.validation import check, every, identifier, instance, string
from domain.values import Email, email_key, searchable_key
from ports.users import UserRepository

COLUMNS = columns(User, "id, username, email, password_hash, created_at, updated_at")

# A user and its keys in the lookup tables of usernames and emails, in one statement: the
# keys' primary keys are the unique rules, and on a Citus cluster each is checked on the node
# that holds the key. The email's key is made from the username's, so the username is checked
# first wherever the statement runs (PostgreSQL runs the parts no other part reads last to
# first, Citus first to last).
INSERT = (
    "WITH u AS (INSERT INTO users (username, email, password_hash) VALUES (%s, %s, %s)"
    " RETURNING " + COLUMNS + "),"
    " n AS (INSERT INTO usernames (username_lower, user_id) SELECT lower(username), id FROM u"
    " RETURNING user_id),"
    " e AS (INSERT INTO emails (email_lower, user_id) SELECT lower(email), id FROM u, n)"
    " SELECT " + COLUMNS + " FROM u"
)
# Archived users (deleted_at set) are never read or changed, and have no keys in the lookup
# tables, which hold live users only.
LIVE = " AND deleted_at IS NULL"
BY_ID = "SELECT " + COLUMNS + " FROM users WHERE id = %s" + LIVE
BY_USERNAME = (
    "SELECT " + COLUMNS + " FROM users"
    " WHERE id = (SELECT user_id FROM usernames WHERE username_lower = lower(%s))" + LIVE
)
BY_EMAIL = (
    "SELECT " + COLUMNS + " FROM users"
    " WHERE id = (SELECT user_id FROM emails WHERE email_lower = lower(%s))" + LIVE
)
# The new address's key replaces the old one (none changes when only the case does); a key
# another user holds fails the insert (EmailTaken).
_PREFIXED = ", ".join("n." + column.strip() for column in COLUMNS.split(","))
CHANGE_EMAIL = (
    "WITH u AS (UPDATE users n SET email = %(email)s FROM users o"
    " WHERE n.id = %(id)s AND o.id = n.id AND o.deleted_at IS NULL"
    " RETURNING " + _PREFIXED + ", lower(o.email) AS old_key, lower(n.email) AS new_key),"
    " gone AS (DELETE FROM emails WHERE user_id = %(id)s"
    " AND email_lower = (SELECT old_key FROM u WHERE old_key <> new_key)),"
    " added AS (INSERT INTO emails (email_lower, user_id)"
    " SELECT new_key, id FROM u WHERE old_key <> new_key)"
    " SELECT " + COLUMNS + " FROM u"
)
# Archiving, in two statements: the first marks the row and drops its password hash, holding
# the row lock that creating a cart takes (carts.LOCK_USER), so no cart is created meanwhile;
# the second, whose snapshot is taken once that lock is held, deletes the user's carts (their
# items cascade), waiting for a unit of work that is adding to one, and frees its username and
# email. Orders are not touched.
ARCHIVE = (
    "UPDATE users SET deleted_at = now(), password_hash = NULL WHERE id = %s"
    + LIVE
    + " RETURNING lower(username), lower(email)"
)
DELETE_CARTS = (
    "WITH n AS (DELETE FROM usernames WHERE username_lower = %(username)s AND user_id = %(id)s),"
    " e AS (DELETE FROM emails WHERE email_lower = %(email)s AND user_id = %(id)s)"
    " DELETE FROM carts WHERE user_id = %(id)s"
)


to_user = mapper(User)


# Raised by these statements, with the values each passes to `writing`: the primary keys of the
# lookup tables, named as the unique indexes they replaced. Users are archived, never deleted,
# so the order tables' foreign keys meet no statement here.
CONSTRAINT_ERRORS: ConstraintErrors = {
    "users_username_lower_key": lambda c: UsernameTaken(c["username"]),
    "users_email_lower_key": lambda c: EmailTaken(c["email"]),
}

# This repository's constraints that need no domain error, each with the reason.
UNMAPPED: Mapping[str, str] = {
    "users_pkey": NEVER_SUPPLIED,
    "users_username_length_check": A_CHECK,
    "users_password_hash_not_empty_check": A_CHECK,
    "users_password_hash_archived_check": (  # pragma: allowlist secret
        "a CHECK that only the archiving statement meets"
    ),
}


class PostgresUserRepository:
    __slots__ = ("_s",)

    def __init__(self, session: Session) -> None:
        self._s = session

    @write
    def add(self, user: NewUser) -> User:
        instance(user, NewUser, "user")
        with self._s.writing(one_statement=True, username=user.username, email=user.email) as cur:
            row = cur.execute(INSERT, (user.username, user.email, user.password_hash)).fetchone()
        return to_user(returned(row))

    def _one(self, query: str, key: object) -> User:
        with self._s.reading() as cur:
            row = cur.execute(query, (key,)).fetchone()
        if row is None:
            raise UserNotFound(key)
        return to_user(row)

    def get(self, user_id: int) -> User:
        return self._one(BY_ID, identifier(user_id, "user_id"))

    def get_by_username(self, username: str) -> User:
        if not searchable_key(string(username, "username")):
            raise UserNotFound(username)
        return self._one(BY_USERNAME, username)

    def get_by_email(self, email: str) -> User:
        key = email_key(string(email, "email"))
        if key is None:
            raise UserNotFound(email)
        return self._one(BY_EMAIL, key)

    @write
    def change_email(self, user_id: int, email: str) -> User:
        _, address = every(
            lambda: identifier(user_id, "user_id"), lambda: check(email, Email, "email")
        )
        with self._s.writing(one_statement=True, email=address) as cur:
            row = cur.execute(CHANGE_EMAIL, {"email": address, "id": user_id}).fetchone()
            if row is None:
                raise UserNotFound(user_id)
        return to_user(row)

    @write
    def delete(self, user_id: int) -> None:
        identifier(user_id, "user_id")
        with self._s.writing(user_id=user_id) as cur:
            keys = cur.execute(ARCHIVE, (user_id,)).fetchone()
            if keys is None:
                raise UserNotFound(user_id)
            cur.execute(DELETE_CARTS, {"username": keys[0], "email": keys[1], "id": user_id})


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[UserRepository] = PostgresUserRepository
