"""PostgreSQL user repository."""

from __future__ import annotations

from adapters.postgres.rows import columns, mapper
from adapters.postgres.session import Session, returned, write
from domain.errors import UserNotFound
from domain.model import NewUser, User
from domain.validation import check, identifier, instance
from domain.values import Email, email_key, searchable_key

COLUMNS = columns(User, "id, username, email, password_hash, created_at, updated_at")

INSERT = (
    "INSERT INTO users (username, email, password_hash) VALUES (%s, %s, %s) RETURNING " + COLUMNS
)
BY_ID = "SELECT " + COLUMNS + " FROM users WHERE id = %s"
BY_USERNAME = "SELECT " + COLUMNS + " FROM users WHERE lower(username) = lower(%s)"
BY_EMAIL = "SELECT " + COLUMNS + " FROM users WHERE lower(email) = lower(%s)"
CHANGE_EMAIL = "UPDATE users SET email = %s WHERE id = %s RETURNING " + COLUMNS
DELETE = "DELETE FROM users WHERE id = %s"


to_user = mapper(User)


class PostgresUserRepository:
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
        if not searchable_key(username):
            raise UserNotFound(username)
        return self._one(BY_USERNAME, username)

    def get_by_email(self, email: str) -> User:
        key = email_key(email)
        if key is None:
            raise UserNotFound(email)
        return self._one(BY_EMAIL, key)

    @write
    def change_email(self, user_id: int, email: str) -> User:
        identifier(user_id, "user_id")
        address = check(email, Email, "email")
        with self._s.writing(one_statement=True, email=address) as cur:
            row = cur.execute(CHANGE_EMAIL, (address, user_id)).fetchone()
            if row is None:
                raise UserNotFound(user_id)
        return to_user(row)

    @write
    def delete(self, user_id: int) -> None:
        identifier(user_id, "user_id")
        with self._s.writing(one_statement=True, user_id=user_id) as cur:
            if cur.execute(DELETE, (user_id,)).rowcount == 0:
                raise UserNotFound(user_id)
