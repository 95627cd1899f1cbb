"""The user repository port."""

from __future__ import annotations

from typing import Protocol

from domain.model import NewUser, User


class UserRepository(Protocol):
    """Every method that takes an id raises InvalidInput for one that is not an int from 1 to
    2**63 - 1 (a bool, float or string is not an id), before any statement runs."""

    def add(self, user: NewUser) -> User:
        """Store a new user and return it with its id and timestamps.

        Raises UsernameTaken or EmailTaken when another user has the same username or email,
        compared case-insensitively."""
        ...

    def get(self, user_id: int) -> User:
        """Raises UserNotFound."""
        ...

    def get_by_username(self, username: str) -> User:
        """Case-insensitive exact match. Raises UserNotFound."""
        ...

    def get_by_email(self, email: str) -> User:
        """Case-insensitive exact match, after normalizing `email` as registration stores it
        (an internationalized domain becomes punycode). Raises UserNotFound, also for an
        address that cannot be normalized."""
        ...

    def change_email(self, user_id: int, email: str) -> User:
        """Raises UserNotFound, EmailTaken, or InvalidInput for an invalid address."""
        ...

    def delete(self, user_id: int) -> None:
        """Delete the user with its carts and their items. Raises UserNotFound."""
        ...
