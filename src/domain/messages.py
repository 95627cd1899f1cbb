"""What an error message may repeat of its input: a bounded, escaped excerpt, never the whole."""

from __future__ import annotations

from typing import Final

# Characters of one input a message repeats (a field name, a username looked up): enough to
# recognise it, too few to carry a payload.
SHOWN_MAX: Final = 40
# The longest message any DomainError carries; InvalidInput lists at most PROBLEMS_MAX
# problems of at most PROBLEM_MAX characters each and says how many more there were.
MESSAGE_MAX: Final = 2_000
PROBLEM_MAX: Final = 150
PROBLEMS_MAX: Final = 12


def escaped(text: str) -> str:
    """`text` with every character that is not printable (newlines, terminal escapes, bidi
    controls, lone surrogates, anything Python's repr() escapes) written as its escape, so
    that a message stays one line that shows what it says."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def bounded(text: str, most: int) -> str:
    """`text`, escaped, cut to about `most` characters, saying how long it was."""
    text = escaped(text[: most + 1])
    if len(text) <= most:
        return text
    return f"{text[:most]}… (cut)"


def shown(value: object) -> str:
    """`value` as a message repeats it: repr() of at most SHOWN_MAX characters of a string
    (longer ones end in "…" and their length), of anything else at most as long."""
    if isinstance(value, str):
        if len(value) <= SHOWN_MAX:
            return escaped(repr(value))
        return f"{escaped(repr(value[:SHOWN_MAX]))}… ({len(value)} characters)"
    if isinstance(value, int | tuple) and len(text := repr(value)) <= SHOWN_MAX:
        return escaped(text)
    return f"a value of type {type(value).__name__}"


def safe(message: str) -> str:
    """A whole message, escaped and at most MESSAGE_MAX characters."""
    return bounded(message, MESSAGE_MAX)
