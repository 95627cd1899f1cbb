# Generated from users_async.py (tools/generate_sync.py): edit that instead.
"""The user repository port."""

from __future__ import annotations

from typing import Protocol

from domain.model import NewUser, User


class UserRepository(Protocol):
    """Every method that takes an id raises InvalidInput for one that is not an int from 1 to
    2**63 - 1 (a bool, float or string is not an id), before any statement runs.

    A deleted user is archived, never removed: from then on every method here, and the cart
    repository's writes for the user, raise UserNotFound for it (it has no cart: reads of
    its cart find none), and its username and email are free to register again."""

    def add(self, user: NewUser) -> User:
        """Store a new user and return it with its id and timestamps.

        Raises UsernameTaken or EmailTaken when another user (not archived) has the same
        username or email, compared case-insensitively."""
        ...

    def get(self, user_id: int) -> User:
        """Raises UserNotFound."""
        ...

    def get_by_username(self, username: str) -> User:
        """Case-insensitive exact match. Raises UserNotFound, or InvalidInput for anything but
        a str (bytes are not decoded)."""
        ...

    def get_by_email(self, email: str) -> User:
        """Case-insensitive exact match, after normalizing `email` as registration stores it
        (an internationalized domain becomes punycode). Raises UserNotFound, also for an
        address that cannot be normalized, or InvalidInput for anything but a str."""
        ...

    def change_email(self, user_id: int, email: str) -> User:
        """Raises UserNotFound, EmailTaken, or InvalidInput for an invalid address."""
        ...

    def delete(self, user_id: int) -> None:
        """Archive the user (soft delete), whether or not it ever ordered: its carts and their
        items are deleted, its password hash is dropped (the row keeps no way to log in), and
        it can no longer be found. Its orders stay as they were, and the order repository
        still returns them by its id. Raises UserNotFound, also for a user archived already."""
        ...
