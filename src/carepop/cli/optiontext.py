"""The text of command-line options turned into values, each malformed value an error naming its
option: lists (``a,b``), repeatable values, numbers (``1`` or ``1,0.5``), ``VAR=VALUE`` pairs,
bounds (``L,U``) and ``METHOD[:R]``."""

from __future__ import annotations

from carepop.errors import CarepopError, opt


def split_list(text: str | None, name: str, metavar: str = "COL[,COL...]") -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; an empty name (``","``, ``"a,,b"``, ``""``) is an error
    naming the option ``name``."""
    if text is None:
        return None
    items = [c.strip() for c in text.split(",")]
    if not all(items):
        raise CarepopError(
            f"Empty name in {text!r}.",
            code="bad_option",
            got=text,
            expected=metavar,
            fix=("give ", opt(name, metavar=metavar), " with no empty names"),
        )
    return items


def no_empty(values: list[str] | None, name: str, metavar: str = "COL") -> list[str]:
    """The values of a repeatable option; an empty one (``--allow-column ""``) is an error."""
    for v in values or []:
        if not v.strip():
            raise CarepopError(
                "An empty value was given.",
                code="bad_option",
                got=v,
                expected=metavar,
                fix=("give ", opt(name, metavar=metavar), " a non-empty value, or leave it out"),
            )
    return [v.strip() for v in values or []]


def numbers(text: str | None, name: str) -> float | tuple[float, ...] | None:
    """``"1"`` -> 1.0, ``"1,0.5"`` -> (1.0, 0.5)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    values = []
    for p in parts:
        try:
            values.append(float(p))
        except ValueError:
            raise CarepopError(
                f"{name} must be numbers; {p!r} is not a number.",
                code="bad_option",
                got=text,
                expected="one number, or numbers separated by commas",
                fix=("give ", opt(name, metavar="R1,R2,..."), " as numbers, e.g. 0.5,0.5,0.5"),
            ) from None
    return values[0] if len(values) == 1 else tuple(values)


def pairs(values: list[str] | None, name: str, form: str) -> list[tuple[str, str]]:
    """``["a=x", "b=y"]`` -> ``[("a", "x"), ("b", "y")]`` (``form`` names it, e.g. ``VAR=FILE``)."""
    out = []
    for v in values or []:
        key, eq, val = v.partition("=")
        if not eq or not key.strip() or not val.strip():
            raise CarepopError(
                f"Expected {form}, got {v!r}.",
                code="bad_option",
                got=v,
                expected=form,
                fix=("give ", opt(name, metavar=form)),
            )
        out.append((key.strip(), val.strip()))
    return out


def number_pairs(values: list[str] | None, name: str, form: str) -> list[tuple[str, float]]:
    """``["a=1.5"]`` -> ``[("a", 1.5)]``."""
    out = []
    for key, val in pairs(values, name, form):
        try:
            out.append((key, float(val)))
        except ValueError:
            raise CarepopError(
                f"The value of {key!r} is not a number: {val!r}.",
                code="bad_option",
                got=val,
                expected="a number",
                fix=("give ", opt(name, metavar=form), " with a number after '='"),
            ) from None
    return out


def bounds(text: str | None, name: str) -> tuple[float, float] | None:
    """``"0.5,2"`` -> ``(0.5, 2.0)``, the lower bound first."""
    if text is None:
        return None
    values = numbers(text, name)
    if not isinstance(values, tuple) or len(values) != 2:
        raise CarepopError(
            f"Expected two numbers L,U, got {text!r}.",
            code="bad_option",
            got=text,
            expected="L,U",
            fix=("give ", opt(name, metavar="L,U"), ", e.g. 0.5,2"),
        )
    lo, hi = values
    if not lo <= hi:
        raise CarepopError(
            f"The lower bound {lo:g} is above the upper bound {hi:g}.",
            code="bad_option",
            got=text,
            expected="L,U with L <= U",
            fix=("give ", opt(name, metavar="L,U"), " with the lower bound first, e.g. 0.5,2"),
        )
    return lo, hi


def method_count(text: str | None, name: str) -> tuple[str | None, int | None]:
    """``"bootstrap:200"`` -> ``("bootstrap", 200)``; ``"jk1"`` -> ``("jk1", None)``."""
    if not text:
        return None, None
    method, _, count = text.partition(":")
    if not count:
        return method, None
    try:
        return method, int(count)
    except ValueError:
        raise CarepopError(
            f"The count {count!r} is not a whole number.",
            code="bad_option",
            got=text,
            expected="METHOD or METHOD:R, e.g. bootstrap:200",
            fix=("give ", opt(name, metavar="METHOD[:R]"), ", e.g. bootstrap:200"),
        ) from None
