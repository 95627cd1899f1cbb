"""Accounts: registration, authentication, email changes and deletion (archiving)."""

from __future__ import annotations

from domain.errors import AuthenticationFailed, InvalidInput, UserNotFound
from domain.model import NewUser, User
from domain.validation import build, check, every
from domain.values import Email, Username
from ports.hashing import PasswordHasher
from ports.observation import Observer
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from services.observed_async import UNOBSERVED, use_case
from services.offload import HASHING_THREADS, Offload, OffloadedHasher

MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def _check_password(password: str) -> None:
    # The message never repeats the password.
    if not isinstance(password, str):
        raise InvalidInput("password: must be a string")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if "\x00" in password:
        raise InvalidInput("password: must not contain NUL characters")
    if not _encodable(password):
        raise InvalidInput("password: must be valid Unicode text")


def _encodable(text: str) -> bool:
    """Whether `text` has a UTF-8 form (no lone surrogates): the hasher hashes those bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class AsyncAccountService:
    if True:  # ASYNC
        _decoy: str | None  # declared once here, for mypy, rather than by both `__init__`s

        # The hasher's calls run in `hashing`'s threads (shared by every service an application
        # takes: the container passes its one), or else in `hashing_threads` of the service's
        # own: the event loop never waits for a hash, and a burst of logins queues instead of
        # taking 64 MiB of memory each. A cancelled caller's hash finishes in its thread, unused.
        def __init__(
            self,
            uow: AsyncUnitOfWorkFactory,
            hasher: PasswordHasher,
            observer: Observer = UNOBSERVED,
            *,
            hashing: Offload | None = None,
            hashing_threads: int = HASHING_THREADS,
        ) -> None:
            self._uow = uow
            self._observer = observer
            if hashing is None:
                hashing = Offload(threads=hashing_threads, name="password-hashing")
            self._hasher = OffloadedHasher(hasher, hashing)
            self._decoy = None
    else:

        def __init__(
            self,
            uow: AsyncUnitOfWorkFactory,
            hasher: PasswordHasher,
            observer: Observer = UNOBSERVED,
        ) -> None:
            self._uow = uow
            self._observer = observer
            self._hasher = hasher
            self._decoy: str | None = None

    @use_case
    async def register(self, username: str, email: str, password: str) -> User:
        """Raises InvalidInput, UsernameTaken or EmailTaken. Only a hash of the password is kept."""
        # Cheap checks first: hashing is deliberately slow. Every bad argument is named.
        every(
            lambda: check(username, Username, "username"),
            lambda: check(email, Email, "email"),
            lambda: _check_password(password),
        )
        if True:  # ASYNC
            password_hash = await self._hasher.hash(password)
            new = build(NewUser, username=username, email=email, password_hash=password_hash)
        else:
            new = build(
                NewUser, username=username, email=email, password_hash=self._hasher.hash(password)
            )
        async with self._uow(autocommit=True) as uow:
            return await uow.users.add(new)

    @use_case
    async def authenticate(self, login: str, password: str) -> User:
        """`login` is a username or an email. Raises AuthenticationFailed, saying no more (also
        for a deleted user: it can never log in again)."""
        if not (isinstance(login, str) and isinstance(password, str) and _encodable(password)):
            login, password = "", ""  # matches no user: refused like an unknown login
        async with self._uow(read_only=True) as uow:
            try:
                user = (
                    await uow.users.get_by_email(login)
                    if "@" in login
                    else await uow.users.get_by_username(login)
                )
            except UserNotFound:
                user = None
        if user is None:
            # Verify against a decoy so an unknown login takes as long as a wrong password.
            if self._decoy is None:
                self._decoy = await self._hasher.hash("decoy password")
            await self._hasher.verify(self._decoy, password)
            raise AuthenticationFailed()
        if not await self._hasher.verify(user.password_hash, password):
            raise AuthenticationFailed()
        return user

    @use_case
    async def change_email(self, user_id: int, email: str) -> User:
        """Raises UserNotFound, EmailTaken or InvalidInput."""
        async with self._uow(autocommit=True) as uow:
            return await uow.users.change_email(user_id, email)

    @use_case
    async def delete_user(self, user_id: int) -> None:
        """Archive the user: it cannot log in or be found again (UserNotFound), its cart is
        gone, its password hash is dropped, its username and email may be registered again.
        Its orders stay as they were (OrderService still returns them by its id). Raises
        UserNotFound or InvalidInput."""
        async with self._uow(autocommit=True) as uow:
            await uow.users.delete(user_id)
