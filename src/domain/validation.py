"""Turn pydantic's validation report into the domain's InvalidInput, without echoing inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Context, Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from domain.errors import InvalidInput
from domain.messages import SHOWN_MAX, shown
from domain.model import NewProduct
from domain.search import ProductQuery
from domain.values import INT4_MAX, INT8_MAX

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _place(part: str | int) -> str:
    """One step of an error's location: a field's name as is, unless it came from the caller
    (an unknown field's name, a mapping's key), which is shown bounded and escaped."""
    if isinstance(part, int) or (part.isidentifier() and len(part) <= SHOWN_MAX):
        return str(part)
    return shown(part)


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_input=False):
        where = ".".join(_place(part) for part in error["loc"]) or "value"
        problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return problems


def build(model: type[M], **data: Any) -> M:
    """Construct `model` from `data`, raising InvalidInput that names each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(*_problems(exc)) from None


def every(*checks: Callable[[], Any]) -> list[Any]:
    """Run every check of a call's arguments and return their results; when any refuses,
    raise one InvalidInput naming every problem of every check, not only the first."""
    results: list[Any] = []
    problems: list[str] = []
    for run in checks:
        try:
            results.append(run())
        except InvalidInput as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidInput(*problems)
    return results


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def check(value: T, kind: Any, name: str) -> T:
    """Validate one value against an annotated type such as `Quantity`."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    try:
        result: T = adapter.validate_python(value)
    except ValidationError as exc:
        raise InvalidInput(*(f"{name}: {p.split(': ', 1)[1]}" for p in _problems(exc))) from None
    return result


def instance(value: object, kind: type[T], name: str) -> T:
    """`value` if it is a `kind` (an entity the caller built and validated), else InvalidInput."""
    if not isinstance(value, kind):
        raise InvalidInput(f"{name}: must be a {kind.__name__}")
    return value


def string(value: object, name: str) -> str:
    """`value` if it is a str; bytes (never decoded), numbers and None are InvalidInput."""
    if isinstance(value, str):
        return value
    raise InvalidInput(f"{name}: must be a string")


def flag(value: object, name: str) -> bool:
    """`value` if it is a bool; 1, "yes" and None are InvalidInput, never read as truth."""
    if value is True or value is False:
        return value
    raise InvalidInput(f"{name}: must be a bool")


def product_query(value: object) -> ProductQuery:
    """`value` as validation makes a ProductQuery. One built with `model_construct` skipped
    validation, and a bad field would reach the adapters: a text the database refuses (which
    aborts the transaction around the read), a sort no statement has. Validated again, every
    bad field is InvalidInput on both adapters before anything runs."""
    query = instance(value, ProductQuery, "query")
    return build(ProductQuery, **{name: getattr(query, name) for name in PRODUCT_QUERY_FIELDS})


PRODUCT_QUERY_FIELDS = tuple(ProductQuery.model_fields)


def _whole(value: object, name: str, low: int, high: int) -> int:
    # type() and not isinstance(): a bool is an int to Python, never an id or a count to us.
    # A plain comparison rather than pydantic: it runs before every statement that takes an id.
    if type(value) is int and low <= value <= high:
        return value
    if type(value) is int:
        raise InvalidInput(f"{name}: must be from {low} to {high}")
    raise InvalidInput(f"{name}: must be an integer")


def quantity(value: int, name: str = "quantity") -> int:
    """A count of units (`Quantity`): an int from 1 to 2**31 - 1."""
    return _whole(value, name, 1, INT4_MAX)


_NO_QUANTITY: Any = object()


def line_arguments(
    owner_id: int, product_id: int, units: int = _NO_QUANTITY, owner: str = "cart_id"
) -> None:
    """A cart line's arguments: the ids (a cart's or a user's, a product's) and, when the call
    takes one, the quantity (None too is refused), every bad one named."""
    checks = [lambda: identifier(owner_id, owner), lambda: identifier(product_id, "product_id")]
    if units is not _NO_QUANTITY:
        checks.append(lambda: quantity(units))
    every(*checks)


def version(value: int, name: str = "expected_version") -> int:
    """A product version (`Version`): an int from 1 to 2**31 - 1."""
    return _whole(value, name, 1, INT4_MAX)


def identifier(value: int, name: str = "id") -> int:
    """An id as the BIGINT identity columns hold it (`Id`): an int from 1 to 2**63 - 1, never
    a bool, float or string. Raises InvalidInput."""
    if type(value) is int and 0 < value <= INT8_MAX:  # `_whole`'s test, one call fewer per read
        return value
    return _whole(value, name, 1, INT8_MAX)


def identifiers(values: object, name: str = "ids") -> list[int]:
    """A sequence of ids (not a string or a mapping), each checked by `identifier`."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidInput(f"{name}: must be a sequence of ids")
    return [_whole(v, name, 1, INT8_MAX) for v in values]


def new_products(products: Iterable[NewProduct]) -> Iterator[NewProduct]:
    """The products of a bulk import, each checked to be one as it streams: anything else is
    InvalidInput naming its row (not an AttributeError from the middle of a COPY)."""
    if isinstance(products, str | bytes) or not isinstance(products, Iterable):
        raise InvalidInput("products: must be an iterable of NewProduct")
    for number, product in enumerate(products, start=1):
        if not isinstance(product, NewProduct):
            raise InvalidInput(f"products: row {number} is not a NewProduct")
        exact_price(product, f"products: row {number}")
        yield product


def exact_price(product: NewProduct, where: str = "product") -> None:
    """The one check an unvalidated entity (made with model_construct) could pass to the
    database wrongly: NUMERIC(10, 2) would round a third decimal place, or a float; every other
    bad field the schema refuses itself. It runs on every row of a bulk import, hence quantize
    rather than `as_tuple()`, which builds a named tuple."""
    price = product.price
    if type(price) is Decimal:
        try:
            if price.quantize(_CENT) == price:  # the thread's context: the fast path
                return
        except InvalidOperation:
            pass
        try:  # a context of its own, which the caller's precision cannot make refuse
            if price.quantize(_CENT, context=_EXACT) == price:  # NaN equals nothing
                return
        except InvalidOperation:  # infinities, signalling NaN, more digits than _EXACT holds
            pass
    raise InvalidInput(f"{where}: price must be a Decimal with at most 2 places")


_CENT = Decimal("0.01")
# Its own context: the caller's (a thread's decimal.getcontext()) might hold fewer digits than
# a price, and this check must not depend on it. Far wider than NUMERIC(10, 2): too large a
# price reaches the schema, which refuses it.
_EXACT = Context(prec=100, traps=[InvalidOperation])
