"""The search's case rule is Unicode's simple case folding, kept as a frozen table."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from domain.folding import FOLDS, UNICODE_VERSION, fold


def _simple_folding(character: str) -> str:
    """CaseFolding.txt's C and S mappings, from what Python exposes: casefold() gives the full
    folding (F where there is one); the simple one is then the lowercase letter with the same
    full folding, if there is one, or the character itself (İ, ß, ŉ)."""
    full = character.casefold()
    if len(full) == 1:
        return full
    lower = character.lower()
    return lower if len(lower) == 1 and lower.casefold() == full else character


def test_the_table_is_unicode_simple_case_folding() -> None:
    derived = {}
    for point in range(1, sys.maxunicode + 1):
        if 0xD800 <= point <= 0xDFFF:
            continue
        folded = _simple_folding(chr(point))
        if folded != chr(point):
            derived[point] = ord(folded)
    if unicodedata.unidata_version == UNICODE_VERSION:
        assert derived == FOLDS
    else:  # a newer Unicode folds more characters, never differently (its stability policy)
        assert {point: derived[point] for point in FOLDS} == FOLDS


@given(st.text())
def test_folding_is_one_character_for_one_and_idempotent(text: str) -> None:
    folded = fold(text)
    assert len(folded) == len(text)
    assert fold(folded) == folded


@given(st.text(st.characters(codec="ascii")))
def test_ascii_folds_a_to_z_only(text: str) -> None:
    assert fold(text) == text.translate(FOLDS) == text.lower()


def test_examples() -> None:
    assert fold("CRÈME Brûlée") == "crème brûlée"
    assert fold("ÖL") == fold("öl") == "öl"
    assert fold("ΟΔΟΣ") == fold("οδος") == "οδοσ"
    assert fold("STRAẞE") == fold("Straße") == "straße"
    assert fold("İstanbul") == "İstanbul"
    assert fold("\u212a") == "k"
