"""Every business failure the persistence layer reports, under one base class."""

from __future__ import annotations

from domain.messages import PROBLEM_MAX, PROBLEMS_MAX, bounded, safe, shown


class DomainError(Exception):
    """Base of every error shopdb raises on purpose. The message is safe to show and log:
    one line (every character that is not printable escaped), at most MESSAGE_MAX
    characters, repeating at most a short excerpt of any input."""

    def __init__(self, *args: object) -> None:
        # The net under every message, whoever built it (a driver's text, a library's).
        super().__init__(*(safe(a) if isinstance(a, str) else a for a in args))


class NotFound(DomainError):
    entity = "entity"

    def __init__(self, key: object) -> None:
        self.key = key
        super().__init__(f"{self.entity} {shown(key)} not found")


class UserNotFound(NotFound):
    entity = "user"


class ProductNotFound(NotFound):
    entity = "product"


class CartNotFound(NotFound):
    entity = "cart"


class OrderNotFound(NotFound):
    """No such order, or it belongs to another user: the two are not told apart."""

    entity = "order"


class CartItemNotFound(NotFound):
    entity = "cart item"

    def __init__(self, cart_id: int | None, product_id: int) -> None:
        """`cart_id` is None when the user has no cart at all."""
        self.cart_id = cart_id
        self.product_id = product_id
        super().__init__((cart_id, product_id))
        where = "the user's cart (there is none)" if cart_id is None else f"cart {cart_id}"
        self.args = (f"product {product_id} is not in {where}",)


class UsernameTaken(DomainError):
    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"username {shown(username)} is already taken")


class EmailTaken(DomainError):
    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(f"email {shown(email)} is already registered")


class InsufficientInventory(DomainError):
    def __init__(self, product_id: int, requested: int, available: int) -> None:
        self.product_id = product_id
        self.requested = requested
        self.available = available
        super().__init__(
            f"product {product_id}: {requested} requested but only {available} available"
        )


class ConcurrencyConflict(DomainError):
    """The entity changed since it was read: reload it and decide again."""

    def __init__(self, product_id: int, expected_version: int) -> None:
        self.product_id = product_id
        self.expected_version = expected_version
        super().__init__(
            f"product {product_id} is no longer at version {expected_version}: "
            "it was changed by someone else; reload and retry"
        )


class InvalidInput(DomainError):
    """Input that breaks a rule of the domain; nothing was stored."""

    def __init__(self, *problems: str) -> None:
        """Every problem found, each escaped and bounded; past PROBLEMS_MAX, how many more."""
        self.problems = tuple(bounded(problem, PROBLEM_MAX) for problem in problems)
        listed = list(self.problems[:PROBLEMS_MAX])
        if len(self.problems) > PROBLEMS_MAX:
            listed.append(f"and {len(self.problems) - PROBLEMS_MAX} more")
        super().__init__("invalid input: " + "; ".join(listed))


class AuthenticationFailed(DomainError):
    def __init__(self) -> None:
        super().__init__("unknown user or wrong password")


class EmptyCart(DomainError):
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        super().__init__(f"the cart of user {user_id} is empty")


class CartFull(DomainError):
    def __init__(self, cart_id: int | None, limit: int) -> None:
        """`cart_id` None: the statement that found the cart full did not name it."""
        self.cart_id = cart_id
        self.limit = limit
        cart = "the cart" if cart_id is None else f"cart {cart_id}"
        super().__init__(f"{cart} already holds {limit} lines, the most a cart may hold")


class IdempotencyKeyReused(DomainError):
    """No longer raised: a repeated key returns the order it names, whatever the cart holds
    now (the key names the checkout that happened). Kept so that code catching it imports."""

    def __init__(self, user_id: int, order_id: int) -> None:
        self.user_id = user_id
        self.order_id = order_id
        super().__init__(
            f"this idempotency key was used for order {order_id} of user {user_id}, of other"
            " lines than the cart holds now: use a new key for a new checkout"
        )


class TransientConflict(DomainError):
    """The database aborted the transaction to keep it serializable (deadlock or serialization
    failure). The whole unit of work may be run again."""


class StorageUnavailable(DomainError):
    """The database could not be reached, did not answer in time, or failed the work for a
    reason of its own (the message says which; ServerOutOfResources for a lack of disk,
    memory or connections). Nothing of the unit of work's transaction was committed (see
    CommitOutcomeUnknown for the one exception)."""


class ServerOutOfResources(StorageUnavailable):
    """The server answered, but lacked a resource to do the work (SQLSTATE class 53): its disk
    is full, it ran out of memory, it has no connection slot left, or a configured limit
    was reached. `resource` names which. Nothing of the unit of work's transaction was
    committed; the same work can succeed once the resource is freed."""

    def __init__(self, resource: str, message: str) -> None:
        self.resource = resource
        super().__init__(message)


class CommitOutcomeUnknown(StorageUnavailable):
    """The connection was lost while a commit was in flight: the transaction may or may not
    have been committed. Read the data again before deciding; repeat a non-idempotent write only
    with an idempotency key."""


class TransactionAborted(DomainError):
    """The database had already aborted the transaction, so `commit()` stored nothing."""

    def __init__(self) -> None:
        super().__init__("the transaction was aborted by the database: nothing was committed")


class RollbackRequired(TransactionAborted):
    """A call inside the unit of work failed and rolled back what it was written in: the whole
    transaction, or the savepoint block it ran in. Until the caller acknowledges that with
    `rollback()` (or by leaving the block), every further write and `commit()` raise this, so
    that nothing is committed that the caller did not see succeed."""

    def __init__(self, failed: str, *, savepoint: bool = False) -> None:
        self.failed = failed
        self.savepoint = savepoint
        DomainError.__init__(
            self,
            f"{failed} failed and rolled back its savepoint block: nothing written in the block"
            " is kept; leave the block before writing again"
            if savepoint
            else f"{failed} failed and rolled back the unit of work: nothing written since the"
            " last commit is kept; call rollback() before writing again, or leave the block",
        )


class UnitOfWorkMisuse(DomainError):
    """A call that the unit of work's state does not allow: `commit()` inside a savepoint
    block, or a savepoint in an autocommit unit of work (each call commits by itself there)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)


class UnitOfWorkBusy(DomainError):
    """The unit of work was used from inside one of its own bulk imports (by the iterable that
    `add_many` is consuming): use another unit of work there."""

    def __init__(self) -> None:
        super().__init__(
            "this unit of work is busy importing: the rows' iterable cannot use it meanwhile"
        )


class UnitOfWorkNotActive(DomainError):
    """A repository or the unit of work was used before `with` entered it or after it exited."""

    def __init__(self) -> None:
        super().__init__(
            "this unit of work is not active: use it and its repositories inside its `with` block"
        )


class ReadOnlyViolation(DomainError):
    def __init__(self) -> None:
        super().__init__("this unit of work is read-only and cannot change data")
