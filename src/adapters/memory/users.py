# Generated from users_async.py (tools/generate_sync.py): edit that instead.
"""In-memory user repository: case-insensitive uniqueness among live users, archiving.

As in the schema, a live user's lowered username and email are keys of two lookup tables,
written with the user, deleted when it is archived."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from adapters.memory import cascade
from adapters.memory.database import ArchivedUserRow
from adapters.memory.transaction import write
from domain.errors import EmailTaken, UsernameTaken, UserNotFound
from domain.model import NewUser, User
from domain.validation import build, check, every, identifier, instance, string
from domain.values import Email, email_key, searchable_key
from ports.users import UserRepository

if TYPE_CHECKING:
    from adapters.memory.transaction import MemoryTransaction

# The schema's rules on this repository's tables, by the names the migrations give them, and
# how the fake enforces each (tests/contract/test_drift.py, test_claims.py).
ENFORCED: Mapping[str, str] = {
    "users_pkey": "MemoryDatabase.next_id: ids are drawn once, never reused",
    "users_username_length_check": "domain.values.Username: 3 to 50 characters",
    "users_password_hash_not_empty_check": (  # pragma: allowlist secret
        "domain.values.PasswordHash: 1 to 255 characters"
    ),
    "users_password_hash_archived_check": (  # pragma: allowlist secret
        "MemoryUserRepository.delete keeps no hash"
    ),
    "users_username_lower_key": "Tables.usernames: live users' lowered usernames, as keys",
    "users_email_lower_key": "Tables.emails: live users' lowered emails (add, change_email)",
}


def _taken(keys: dict[str, int], value: str, except_id: int | None = None) -> bool:
    owner = keys.get(value.lower())
    return owner is not None and owner != except_id


class MemoryUserRepository:
    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction

    @write
    def add(self, user: NewUser) -> User:
        instance(user, NewUser, "user")
        with self._tx.writing() as tables:
            user_id = self._tx.database.next_id("users")
            # The same order as PostgreSQL checks its unique indexes: username, then email.
            if _taken(tables.usernames, user.username):
                raise UsernameTaken(user.username)
            if _taken(tables.emails, user.email):
                raise EmailTaken(user.email)
            now = self._tx.now()
            stored = build(
                User,
                id=user_id,
                username=user.username,
                email=user.email,
                password_hash=user.password_hash,
                created_at=now,
                updated_at=now,
            )
            tables.users[user_id] = stored
            tables.usernames[user.username.lower()] = user_id
            tables.emails[user.email.lower()] = user_id
            return stored

    def get(self, user_id: int) -> User:
        identifier(user_id, "user_id")
        user = self._tx.read().users.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user

    def _find(self, table: str, value: str) -> User:
        if not searchable_key(value):
            raise UserNotFound(value)
        tables = self._tx.read()
        user_id = tables.rows(table).get(value.lower())
        if user_id is None:
            raise UserNotFound(value)
        return tables.users[user_id]

    def get_by_username(self, username: str) -> User:
        return self._find("usernames", string(username, "username"))

    def get_by_email(self, email: str) -> User:
        key = email_key(string(email, "email"))
        if key is None:
            raise UserNotFound(email)
        return self._find("emails", key)

    @write
    def change_email(self, user_id: int, email: str) -> User:
        _, address = every(
            lambda: identifier(user_id, "user_id"), lambda: check(email, Email, "email")
        )
        with self._tx.writing() as tables:
            user = tables.users.get(user_id)
            if user is None:
                raise UserNotFound(user_id)
            if _taken(tables.emails, address, except_id=user_id):
                raise EmailTaken(address)
            changed = user.model_copy(update={"email": address, "updated_at": self._tx.now()})
            tables.users[user_id] = changed
            del tables.emails[user.email.lower()]
            tables.emails[address.lower()] = user_id
            return changed

    @write
    def delete(self, user_id: int) -> None:
        identifier(user_id, "user_id")
        with self._tx.writing() as tables:
            user = tables.users.pop(user_id, None)
            if user is None:
                raise UserNotFound(user_id)
            del tables.usernames[user.username.lower()]
            del tables.emails[user.email.lower()]
            tables.archived_users[user_id] = ArchivedUserRow(
                user.id, user.username, user.email, user.created_at, self._tx.now()
            )
            # As the PostgreSQL adapter's statement does: its carts go, with their lines.
            for cart_id in [c.id for c in tables.carts.values() if c.user_id == user_id]:
                cascade.delete(tables, "carts", cart_id)


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[UserRepository] = MemoryUserRepository
