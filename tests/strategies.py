"""Hypothesis strategies for the domain's values, in one place."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from domain.model import NewProduct
from domain.values import PRICE_MAX

USERNAME_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

usernames = st.text(USERNAME_ALPHABET, min_size=3, max_size=50)
emails = st.builds(
    "{}@{}.example".format,
    st.text("abcdefghij0123456789", min_size=1, max_size=20),
    st.text("abcdefghij", min_size=1, max_size=20),
)
prices = st.decimals(min_value=Decimal(0), max_value=PRICE_MAX, places=2)
storable_text = st.text(
    st.characters(
        categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Co"), blacklist_characters="\x00"
    ),
    max_size=80,
)
product_names = storable_text.filter(lambda s: s.strip(" \t\n\r\f\v") != "").map(lambda s: s[:255])
# Where case folding rules differ: Turkish dotted/dotless i, Greek final sigma, German sharp s
# (which upper-cases to "SS") and its capital, precomposed against combining accents, the
# Kelvin sign (which Unicode folds to an ASCII k), the long s, titlecase digraphs, and the
# accented capitals of a catalog in French or German. Search folds by Unicode's simple case
# folding (domain.folding).
CASE_TRAPS = [
    "İstanbul",
    "ISTANBUL",
    "\u0131i",  # dotless i
    "\u039f\u0394\u039f\u03a3",
    "\u03bf\u03b4\u03bf\u03c2",  # final sigma
    "\u03bf\u03b4\u03bf\u03c3",
    "Straße",
    "STRASSE",
    "Café",
    "Cafe\u0301",
    "\u212a",
    "Kelvin",
    "ǅ",
    "Lamp",
    "lamp",
    "CRÈME",
    "crème",
    "ÖL",
    "öl",
    "STRAẞE",
    "\u017ftar",
    "µ\u03bc",
]
CASE_ALPHABET = "".join(sorted(set("".join(CASE_TRAPS)) | {"%", "_", "\\"}))
case_text = st.text(CASE_ALPHABET, min_size=1, max_size=4)
search_texts = st.sampled_from([t.lower() for t in CASE_TRAPS] + CASE_TRAPS) | case_text
case_names = st.sampled_from(CASE_TRAPS) | case_text.filter(lambda s: s.strip(" \t\n\r\f\v") != "")
inventories = st.integers(min_value=0, max_value=1000)
quantities = st.integers(min_value=1, max_value=20)

new_products = st.builds(
    NewProduct,
    name=product_names,
    description=st.none() | storable_text,
    price=prices,
    inventory_count=inventories,
)
