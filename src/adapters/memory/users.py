"""In-memory user repository: case-insensitive uniqueness, cascading delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.memory.database import write
from domain.errors import EmailTaken, UserHasOrders, UsernameTaken, UserNotFound
from domain.model import NewUser, User
from domain.validation import build, check, identifier, instance
from domain.values import Email, email_key, searchable_key

if TYPE_CHECKING:
    from adapters.memory.database import Tables
    from adapters.memory.unit_of_work import MemoryTransaction


def _taken(tables: Tables, field: str, value: str, except_id: int | None = None) -> bool:
    folded = value.lower()
    return any(
        str(getattr(user, field)).lower() == folded and user.id != except_id
        for user in tables.users.values()
    )


class MemoryUserRepository:
    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction

    @write
    def add(self, user: NewUser) -> User:
        instance(user, NewUser, "user")
        with self._tx.writing() as tables:
            user_id = self._tx.database.next_id("users")
            # The same order as PostgreSQL checks its unique indexes: username, then email.
            if _taken(tables, "username", user.username):
                raise UsernameTaken(user.username)
            if _taken(tables, "email", user.email):
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
            return stored

    def get(self, user_id: int) -> User:
        identifier(user_id, "user_id")
        user = self._tx.read().users.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user

    def _find(self, field: str, value: str) -> User:
        if not searchable_key(value):
            raise UserNotFound(value)
        folded = value.lower()
        for user in self._tx.read().users.values():
            if str(getattr(user, field)).lower() == folded:
                return user
        raise UserNotFound(value)

    def get_by_username(self, username: str) -> User:
        return self._find("username", username)

    def get_by_email(self, email: str) -> User:
        key = email_key(email)
        if key is None:
            raise UserNotFound(email)
        return self._find("email", key)

    @write
    def change_email(self, user_id: int, email: str) -> User:
        identifier(user_id, "user_id")
        address = check(email, Email, "email")
        with self._tx.writing() as tables:
            user = tables.users.get(user_id)
            if user is None:
                raise UserNotFound(user_id)
            if _taken(tables, "email", address, except_id=user_id):
                raise EmailTaken(address)
            changed = user.model_copy(update={"email": address, "updated_at": self._tx.now()})
            tables.users[user_id] = changed
            return changed

    @write
    def delete(self, user_id: int) -> None:
        identifier(user_id, "user_id")
        with self._tx.writing() as tables:
            if tables.users.pop(user_id, None) is None:
                raise UserNotFound(user_id)
            if any(order.user_id == user_id for order in tables.orders.values()):
                raise UserHasOrders(user_id)
            carts = {cart.id for cart in tables.carts.values() if cart.user_id == user_id}
            for cart_id in carts:
                del tables.carts[cart_id]
            for item in [i for i in tables.items.values() if i.cart_id in carts]:
                del tables.items[item.id]
