"""Value objects: money, quantities, usernames, emails and text, validated as the schema demands."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints

INT4_MAX: Final = 2_147_483_647
INT8_MAX: Final = 9_223_372_036_854_775_807
CENT: Final = Decimal("0.01")
PRICE_MAX: Final = Decimal("99999999.99")  # NUMERIC(10, 2)
# Descriptions are a few paragraphs of shop copy; 10,000 characters (~1,500 words, at most
# 40 KB of UTF-8) leaves room for the longest spec sheet while keeping a row, a page of search
# results and an import batch bounded. The schema's products_description_length_check agrees.
DESCRIPTION_MAX: Final = 10_000
# Lines a cart may hold: bounds what one checkout sells in one statement, and with the
# largest price and quantity keeps an order's total within orders.total's NUMERIC(30, 2).
CART_LINES_MAX: Final = 1_000
IDEMPOTENCY_KEY_MAX: Final = 100
BLANK: Final = " \t\n\r\f\v"  # the schema's btrim() set


def text_storable(value: str) -> str:
    """PostgreSQL stores neither NUL characters nor lone surrogates; refuse them up front."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def not_blank(value: str) -> str:
    if value.strip(BLANK) == "":
        raise ValueError("must not be blank")
    return value


def money(value: Decimal) -> Decimal:
    """An exact amount with at most two decimal places that a NUMERIC(10, 2) column holds;
    never rounded."""
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    # Before quantizing: 1E+26 needs more digits than the context's precision, and quantize
    # would raise decimal.InvalidOperation instead of saying what is wrong.
    if value > PRICE_MAX:
        raise ValueError(f"must be less than or equal to {PRICE_MAX}")
    if value < -PRICE_MAX:
        raise ValueError(f"must be greater than or equal to -{PRICE_MAX}")
    quantized = value.quantize(CENT)
    if quantized != value:
        raise ValueError("must have at most 2 decimal places")
    return quantized + Decimal("0.00")  # folds -0.00 into 0.00


def not_a_float(value: object) -> object:
    """Money is a Decimal, a str or an int: a float already lost digits (0.1 + 0.2), and a
    bool is not an amount."""
    if isinstance(value, float | bool):
        raise ValueError("must be a Decimal, a string or an integer, not a " + type(value).__name__)
    return value


def email_address(value: str) -> str:
    """Syntax checked by email-validator; stored in its ASCII form, so that case-insensitive
    uniqueness means the same on every database locale."""
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address ({exc})") from None
    normalized = result.ascii_email or result.normalized
    if len(normalized) > 254:
        raise ValueError("must be at most 254 characters")
    return normalized


# Strict(): text is a str, never bytes decoded on the way (b"name" is not a name), on every
# field and both adapters alike.
Text = Annotated[str, Strict(), AfterValidator(text_storable)]
Description = Annotated[
    str, Strict(), StringConstraints(max_length=DESCRIPTION_MAX), AfterValidator(text_storable)
]
Id = Annotated[int, Strict(), Field(ge=1, le=INT8_MAX)]
# Chosen by the caller, once per checkout it means to make (a UUID fits): the same key again
# is the same checkout.
IdempotencyKey = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=IDEMPOTENCY_KEY_MAX),
    AfterValidator(text_storable),
]
Version = Annotated[int, Strict(), Field(ge=1, le=INT4_MAX)]
Quantity = Annotated[int, Strict(), Field(ge=1, le=INT4_MAX)]
Inventory = Annotated[int, Strict(), Field(ge=0, le=INT4_MAX)]
Money = Annotated[
    Decimal, Field(allow_inf_nan=True), BeforeValidator(not_a_float), AfterValidator(money)
]
Price = Annotated[Money, Field(ge=0, le=PRICE_MAX)]
Username = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9._-]+$"),
]
Email = Annotated[str, Strict(), StringConstraints(max_length=320), AfterValidator(email_address)]
ProductName = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(text_storable),
    AfterValidator(not_blank),
]
PasswordHash = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=255), AfterValidator(text_storable)
]


def searchable_key(value: str) -> bool:
    """Whether a username or email lookup can match anything: stored ones are ASCII without NUL,
    and ASCII case folding is the same in Python and in every database locale."""
    return isinstance(value, str) and value.isascii() and "\x00" not in value


def email_key(value: object) -> str | None:
    """The form `Email` stores `value` in (internationalized domains as punycode), or None when
    no stored email can be it: a lookup then matches nothing."""
    if not isinstance(value, str) or len(value) > 320:
        return None
    if value.isascii() and "\x00" not in value:
        # Stored emails are ASCII, and for ASCII input normalizing changes only the case, which
        # the lookup ignores: skip email-validator on the hot path of every login.
        return value
    try:
        return email_address(text_storable(value))
    except ValueError:
        return None
