"""Validation boundaries of the entities and value objects: what the schema would refuse."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.model import NewProduct, NewUser, ProductChanges
from domain.search import ProductQuery
from domain.validation import build, quantity
from domain.values import DESCRIPTION_MAX

CANARY = "CANARY-hash-5f1b0c"


def _user(**overrides: object) -> NewUser:
    data: dict[str, object] = {
        "username": "alice",
        "email": "alice@example.com",
        "password_hash": CANARY,
    }
    return build(NewUser, **{**data, **overrides})


def _product(**overrides: object) -> NewProduct:
    data: dict[str, object] = {"name": "Lamp", "price": "1.00"}
    return build(NewProduct, **{**data, **overrides})


@pytest.mark.parametrize("username", ["abc", "a" * 50, "a.b_c-d", "Alice99"])
def test_valid_usernames(username: str) -> None:
    assert _user(username=username).username == username


@pytest.mark.parametrize("username", ["ab", "a" * 51, "al ice", "alice!", "ålice", "al\x00ice", ""])
def test_invalid_usernames(username: str) -> None:
    with pytest.raises(InvalidInput, match="username"):
        _user(username=username)


def test_email_is_normalized_to_ascii_with_lowercase_domain() -> None:
    assert _user(email="Alice@EXAMPLE.com").email == "Alice@example.com"
    assert _user(email="bob@exämple.com").email == "bob@xn--exmple-cua.com"


@pytest.mark.parametrize(
    "email",
    [
        "alice",
        "alice@",
        "@example.com",
        "a b@example.com",
        "ä@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_invalid_emails(email: str) -> None:
    with pytest.raises(InvalidInput, match="email"):
        _user(email=email)


def test_email_of_254_characters_is_the_longest_accepted() -> None:
    address = "l" * 64 + "@" + ".".join(["d" * 61] * 3) + ".com"
    assert len(address) == 254
    assert _user(email=address).email == address
    longer = "l" * 64 + "@" + ".".join(["d" * 61, "d" * 61, "d" * 62]) + ".com"
    with pytest.raises(InvalidInput, match="email"):
        _user(email=longer)


@pytest.mark.parametrize(
    ("price", "stored"),
    [
        ("0", "0.00"),
        ("0.5", "0.50"),
        ("99999999.99", "99999999.99"),
        ("1.230", "1.23"),
        (7, "7.00"),
    ],
)
def test_prices_keep_exactly_two_places(price: object, stored: str) -> None:
    value = _product(price=price).price
    assert value == Decimal(stored)
    assert str(value) == stored


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("1.234", "2 decimal places"),
        ("0.001", "2 decimal places"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        ("-0.01", "greater than or equal to 0"),
        ("100000000.00", "less than or equal to"),
        # Past the decimal context's 28 digits: checked before quantizing, never a raw
        # decimal.InvalidOperation.
        ("1e26", "less than or equal to 99999999.99"),
        (10**27, "less than or equal to 99999999.99"),
        ("9" * 40, "less than or equal to 99999999.99"),
        ("-1e26", "greater than or equal to"),
        (Decimal("1E+999999999"), "less than or equal to"),
        (1e308, "not a float"),
        (19.99, "not a float"),  # a float already lost digits: never money
        (True, "not a bool"),
    ],
)
def test_invalid_prices_are_refused_never_rounded(price: object, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        _product(price=price)
    with pytest.raises(InvalidInput, match=reason):
        build(ProductChanges, price=price)
    with pytest.raises(InvalidInput, match=reason):
        build(ProductQuery, min_price=price)
    with pytest.raises(InvalidInput, match=reason):
        build(ProductQuery, max_price=price)


@pytest.mark.parametrize("name", ["", " ", "\t\n", "\x0b\x0c", "x" * 256, "La\x00mp", "\ud800"])
def test_invalid_product_names(name: str) -> None:
    with pytest.raises(InvalidInput, match="name"):
        _product(name=name)


def test_product_name_of_255_characters_and_unicode_are_fine() -> None:
    assert _product(name="ü" * 255).name == "ü" * 255
    assert _product(name=" Lamp ").name == " Lamp "
    assert _product(name="v").name == "v"


def test_description_may_not_hold_nul() -> None:
    with pytest.raises(InvalidInput, match="description"):
        _product(description="a\x00b")


def test_descriptions_hold_at_most_ten_thousand_characters() -> None:
    longest = "\U0001f600" * DESCRIPTION_MAX  # characters, not bytes
    assert _product(description=longest).description == longest
    for too_long in ("x" * (DESCRIPTION_MAX + 1), "x" * 200_000_000):
        with pytest.raises(InvalidInput, match="description: String should have at most"):
            _product(description=too_long)
        with pytest.raises(InvalidInput, match="description"):
            build(ProductChanges, description=too_long)


@pytest.mark.parametrize("inventory", [-1, 2**31, 1.5, "3"])
def test_invalid_inventory(inventory: object) -> None:
    with pytest.raises(InvalidInput, match="inventory_count"):
        _product(inventory_count=inventory)


@pytest.mark.parametrize("value", [0, -1, 2**31, True, 1.0])
def test_invalid_quantities(value: object) -> None:
    with pytest.raises(InvalidInput, match="quantity"):
        quantity(value)  # type: ignore[arg-type]


def test_entities_are_immutable() -> None:
    product = _product()
    with pytest.raises(ValueError, match="frozen"):
        product.name = "Desk"  # type: ignore[misc]


def test_password_hash_never_shows() -> None:
    user = _user()
    assert user.password_hash == CANARY
    for shown in (repr(user), str(user), str(user.model_dump()), user.model_dump_json()):
        assert CANARY not in shown


def test_password_hash_never_shows_in_validation_errors() -> None:
    too_long = CANARY * 40
    with pytest.raises(InvalidInput) as info:
        _user(password_hash=too_long, username="x")
    assert CANARY not in str(info.value)
    assert CANARY not in repr(info.value)
    assert "password_hash" in str(info.value)


def test_product_changes_list_only_what_was_given() -> None:
    assert build(ProductChanges, price="2.50").changed() == {"price": Decimal("2.50")}
    assert build(ProductChanges, description=None).changed() == {"description": None}
    assert build(ProductChanges).changed() == {}
    with pytest.raises(InvalidInput, match="price"):
        build(ProductChanges, price="-1")
