"""The instrument schema (pydantic): what a questionnaire YAML file may say, checked on load.

An :class:`Instrument` has shared ``choice_lists``, named ``conditions`` (reusable routing
expressions), ``sections`` of :class:`Item` s and ``derived`` variables. Each item has a name,
a type, a question, codes and labels (``choices``), routing (``relevant``: asked only when the
expression is true), validity rules (``range``, ``pattern``, ``rules``) and whether an answer is
``required`` when the item is asked.

Loading checks more than types: names are unique and usable in SPSS and Stata (<= 32
characters, no reserved words), codes are unique whole numbers, every expression parses, refers
only to items asked *earlier* (routing cannot look ahead or loop), compares single-choice items
only with their own codes, and has the right type (conditions are true/false, values numbers;
text is compared with =, != and ``in`` but never ordered, as XPath 1.0 cannot order text).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from carepop.errors import CarepopError
from carepop.questionnaires import routing as rt

ItemType = Literal["select_one", "select_multiple", "integer", "decimal", "text", "date", "note"]
DerivedType = Literal["select_one", "integer", "decimal"]
CHOICE_TYPES = ("select_one", "select_multiple")
NUMERIC_TYPES = ("integer", "decimal")
MAX_NAME = 32  # Stata's limit on variable names (SPSS allows 64)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# words SPSS reserves as variable names, and the expression language's keywords
_SPSS_RESERVED = {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"}
_RESERVED = _SPSS_RESERVED | {"in", "true", "false"} | set(rt.FUNCTIONS)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Model):
    """One answer category: a whole-number ``code`` and its ``label``.

    ``missing``: a non-substantive answer (don't know, prefer not to say) — SPSS user-missing.
    ``exclusive``: cannot be chosen with other options of a multiple-choice item ("none of these").
    ``maps_to``: the category it corresponds to in other sources, e.g.
    ``{"Census 2021 TS039": "Provides 9 hours or less unpaid care a week"}``.
    """

    code: int
    label: str = Field(min_length=1)
    missing: bool = False
    exclusive: bool = False
    maps_to: dict[str, str] = Field(default_factory=dict)


class ChoiceList(_Model):
    """A list of choices shared by several items (``choices: <list name>``)."""

    choices: list[Choice] = Field(min_length=1)
    ordered: bool = False


class Range(_Model):
    """Inclusive bounds of a numeric answer."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range min {self.min} is above max {self.max}")
        return self


class Rule(_Model):
    """A validity rule: ``expr`` must be true for every row where the item is answered."""

    expr: str
    message: str


class Item(_Model):
    """One question (or a ``note`` shown to the respondent, which has no answer)."""

    name: str
    type: ItemType
    label: str = Field(min_length=1)
    variable_label: str | None = Field(default=None, max_length=80)
    hint: str | None = None
    choices: str | list[Choice] | None = None
    required: bool = True
    relevant: str | None = None
    range: Range | None = None
    pattern: str | None = None
    rules: list[Rule] = Field(default_factory=list)
    unique: bool = False
    prefilled: bool = False
    harmonised_with: str | None = None

    @property
    def has_value(self) -> bool:
        return self.type != "note"

    @property
    def short_label(self) -> str:
        """Variable label for SPSS/Stata (<= 80 characters)."""
        return self.variable_label or _shorten(self.label)


class Section(_Model):
    """A group of items; its ``relevant`` applies to every item in it."""

    name: str
    label: str
    description: str | None = None
    relevant: str | None = None
    items: list[Item] = Field(min_length=1)


class Case(_Model):
    """One case of a derived variable: when ``when`` is true the value is ``value`` (a number, or
    an arithmetic expression as a string). Cases are tried in order; the first true one wins."""

    when: str
    value: int | float | str


class Derived(_Model):
    """A variable computed from the answers, defined once here and used by ``derive``, the
    XLSForm (as a ``calculate``), the codebook and the SPSS/Stata templates."""

    name: str
    type: DerivedType
    label: str
    variable_label: str | None = Field(default=None, max_length=80)
    description: str | None = None
    choices: str | list[Choice] | None = None
    cases: list[Case] = Field(min_length=1)
    harmonised_with: str | None = None

    @property
    def short_label(self) -> str:
        return self.variable_label or _shorten(self.label)


class Instrument(_Model):
    """A questionnaire: sections of items, shared choice lists, conditions and derived variables."""

    name: str
    title: str
    version: str
    description: str | None = None
    population: str | None = None
    choice_lists: dict[str, ChoiceList] = Field(default_factory=dict)
    conditions: dict[str, str] = Field(default_factory=dict)
    sections: list[Section] = Field(min_length=1)
    derived: list[Derived] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: object) -> object:
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="after")
    def _check(self) -> Instrument:
        _check_instrument(self)
        return self

    # ------------------------------------------------------------------ lookups
    @cached_property
    def items(self) -> tuple[Item, ...]:
        """Every item, in questionnaire order."""
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def data_items(self) -> tuple[Item, ...]:
        """Items that have an answer (not notes)."""
        return tuple(item for item in self.items if item.has_value)

    @cached_property
    def by_name(self) -> dict[str, Item | Derived]:
        """Every item and derived variable, by name."""
        out: dict[str, Item | Derived] = {item.name: item for item in self.items}
        out.update({d.name: d for d in self.derived})
        return out

    @cached_property
    def section_of(self) -> dict[str, Section]:
        """The section of each item, by item name."""
        return {item.name: s for s in self.sections for item in s.items}

    def get(self, name: str) -> Item | Derived:
        try:
            return self.by_name[name]
        except KeyError:
            raise CarepopError(
                f"Instrument {self.name!r} has no item or derived variable {name!r}.",
                code="unknown_item",
                column=name,
                fix="see `carepop questionnaire show " + self.name + "`",
            ) from None

    def choices_of(self, obj: Item | Derived) -> tuple[Choice, ...]:
        """The choices of an item or derived variable (shared lists resolved)."""
        if obj.choices is None:
            return ()
        if isinstance(obj.choices, str):
            return tuple(self.choice_lists[obj.choices].choices)
        return tuple(obj.choices)

    def list_name(self, obj: Item | Derived) -> str:
        """The XLSForm choice-list name: the shared list's name, or the item's own name."""
        return obj.choices if isinstance(obj.choices, str) else obj.name

    def is_ordered(self, obj: Item | Derived) -> bool:
        return isinstance(obj.choices, str) and self.choice_lists[obj.choices].ordered

    def value_labels(self, obj: Item | Derived) -> dict[int, str]:
        return {c.code: c.label for c in self.choices_of(obj)}

    @cached_property
    def _conditions(self) -> dict[str, rt.Node]:
        out: dict[str, rt.Node] = {}
        for name, text in self.conditions.items():
            out[name] = rt.substitute(rt.parse_expression(text), out)
        return out

    def expression(self, text: str) -> rt.Node:
        """Parse ``text`` with the instrument's named conditions inlined."""
        return rt.substitute(rt.parse_expression(text), self._conditions)

    def relevance(self, name: str) -> rt.Node | None:
        """When item ``name`` is asked: its section's ``relevant`` and its own, combined."""
        item = self.get(name)
        section = self.section_of.get(name)
        parts = [
            self.expression(s) if s else None
            for s in ((section.relevant if section else None), getattr(item, "relevant", None))
        ]
        return rt.conjunction(*parts)

    def relevance_text(self, name: str) -> str | None:
        """When item ``name`` is asked, as written in the instrument (named conditions kept)."""
        item = self.get(name)
        section = self.section_of.get(name)
        parts = [" ".join(t.split()) for t in (section.relevant if section else None, item.relevant) if t]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)

    def multi_codes(self, item: Item) -> list[int]:
        return [c.code for c in self.choices_of(item)]

    def multi_columns(self, item: Item) -> list[str]:
        """Indicator columns of a multiple-choice item in SPSS/Stata form: ``<name>_<code>``."""
        return [f"{item.name}_{c.code}" for c in self.choices_of(item)]


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------- checks on load
class _Where:
    """Names visible to an expression, and what they are."""

    def __init__(self, instrument: Instrument, kinds: dict[str, tuple[str, frozenset[int]]]) -> None:
        self.instrument = instrument
        self.kinds = kinds  # name -> (type, codes)


def _check_instrument(ins: Instrument) -> None:
    names: dict[str, str] = {}

    def claim(name: str, what: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"{what} name {name!r} must start with a letter and use only letters, digits, _")
        if len(name) > MAX_NAME:
            raise ValueError(f"{what} name {name!r} is longer than {MAX_NAME} characters (Stata's limit)")
        if name.lower() in _RESERVED:
            raise ValueError(f"{what} name {name!r} is a reserved word")
        if name.lower() in names:
            raise ValueError(f"{what} name {name!r} is already used by {names[name.lower()]}")
        names[name.lower()] = what

    for lname, clist in ins.choice_lists.items():
        _check_codes(clist.choices, f"choice list {lname!r}")
    section_names = [s.name for s in ins.sections]
    if len(set(section_names)) != len(section_names):
        repeated = sorted({n for n in section_names if section_names.count(n) > 1})
        raise ValueError(f"section names repeat: {repeated}")
    for item in ins.items:
        claim(item.name, "item")
    for d in ins.derived:
        claim(d.name, "derived variable")
    for cname in ins.conditions:
        claim(cname, "condition")

    for obj in (*ins.items, *ins.derived):
        what = f"{'item' if isinstance(obj, Item) else 'derived variable'} {obj.name!r}"
        if isinstance(obj.choices, str) and obj.choices not in ins.choice_lists:
            raise ValueError(f"{what} uses choice list {obj.choices!r}, which is not in choice_lists")
        needs = obj.type in CHOICE_TYPES
        if needs and obj.choices is None:
            raise ValueError(f"{what} is {obj.type} but has no choices")
        if not needs and obj.choices is not None:
            raise ValueError(f"{what} is {obj.type} and cannot have choices")
        if isinstance(obj.choices, list):
            _check_codes(obj.choices, what)
        if obj.type == "select_multiple":
            for c in ins.choices_of(obj):
                if c.code < 0:
                    raise ValueError(f"{what}: codes of a multiple-choice item must be >= 0 (got {c.code})")
            for col in ins.multi_columns(obj):
                if len(col) > MAX_NAME:
                    raise ValueError(f"{what}: indicator column {col!r} is over {MAX_NAME} characters")
                if col.lower() in names:
                    raise ValueError(f"{what}: indicator column {col!r} clashes with {names[col.lower()]}")
        if isinstance(obj, Item):
            if obj.range is not None and obj.type not in NUMERIC_TYPES:
                raise ValueError(f"{what}: only integer and decimal items have a range")
            if obj.pattern is not None:
                if obj.type != "text":
                    raise ValueError(f"{what}: only text items have a pattern")
                try:
                    re.compile(obj.pattern)
                except re.error as exc:
                    raise ValueError(
                        f"{what}: pattern {obj.pattern!r} is not a regular expression: {exc}"
                    ) from None
            if obj.type == "note" and (obj.rules or obj.unique or obj.range):
                raise ValueError(f"{what} is a note and cannot have rules")
            if obj.unique and obj.type not in ("text", "integer"):
                raise ValueError(f"{what}: only text and integer items can be unique identifiers")

    # expressions: parse, type-check, only look back
    kinds: dict[str, tuple[str, frozenset[int]]] = {}
    try:
        for text in ins.conditions.values():
            rt.parse_expression(text)
        for item in ins.items:
            codes = frozenset(c.code for c in ins.choices_of(item))
            section = ins.section_of[item.name]
            for label, text in (("section relevant", section.relevant), ("relevant", item.relevant)):
                if text:
                    _expect(ins.expression(text), _Where(ins, kinds), "bool", f"{label} of {item.name!r}")
            if item.has_value:
                kinds[item.name] = (item.type, codes)
            for rule in item.rules:
                _expect(ins.expression(rule.expr), _Where(ins, kinds), "bool", f"a rule of {item.name!r}")
        for d in ins.derived:
            codes = frozenset(c.code for c in ins.choices_of(d))
            for case in d.cases:
                _expect(ins.expression(case.when), _Where(ins, kinds), "bool", f"a case of {d.name!r}")
                if isinstance(case.value, str):
                    _expect(ins.expression(case.value), _Where(ins, kinds), "num", f"a value of {d.name!r}")
                elif d.type == "select_one" and case.value not in codes:
                    raise ValueError(f"derived {d.name!r}: value {case.value} is not one of its codes")
                elif d.type == "integer" and not float(case.value).is_integer():
                    raise ValueError(f"derived {d.name!r} is integer but a case gives {case.value}")
            kinds[d.name] = (d.type, codes)
    except CarepopError as err:
        raise ValueError(err.message) from None


def _check_codes(choices: list[Choice], what: str) -> None:
    codes = [c.code for c in choices]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise ValueError(f"{what} repeats code(s) {dup}")


def _expect(node: rt.Node, where: _Where, want: str, what: str) -> None:
    got = _type_of(node, where, what)
    if got != want:
        kind = "a condition (true/false)" if want == "bool" else "a number"
        raise ValueError(f"{what} must be {kind}: {rt.to_text(node)!r}")


def _type_of(node: rt.Node, where: _Where, what: str) -> str:
    """Type of an expression: bool, num, str, multi or date; errors name ``what``."""

    def fail(msg: str) -> ValueError:
        return ValueError(f"{what}: {msg} in {rt.to_text(node)!r}")

    def ref_kind(name: str) -> tuple[str, frozenset[int]]:
        if name not in where.kinds:
            if name in where.instrument.by_name:
                raise fail(f"{name!r} is not asked before this point (routing can only look back)")
            raise fail(f"unknown name {name!r}")
        return where.kinds[name]

    def literal_codes(ref: rt.Node, lits: tuple[rt.Node, ...]) -> None:
        if not isinstance(ref, rt.Ref):
            return
        kind, codes = where.kinds[ref.name]
        if kind != "select_one" or not codes:
            return
        for lit in lits:
            if isinstance(lit, rt.Num) and lit.value not in codes:
                raise fail(f"{lit.value:g} is not a code of {ref.name!r} (codes: {sorted(codes)})")

    def t(n: rt.Node) -> str:
        if isinstance(n, rt.Num):
            return "num"
        if isinstance(n, rt.Str):
            return "str"
        if isinstance(n, rt.Bool):
            return "bool"
        if isinstance(n, rt.Ref):
            kind = ref_kind(n.name)[0]
            return {"text": "str", "select_multiple": "multi", "date": "date"}.get(kind, "num")
        if isinstance(n, rt.Call):
            name = n.args[0].name  # type: ignore[union-attr]
            kind, codes = ref_kind(name)
            if n.func == "answered":
                return "bool"
            if n.func == "count_selected":
                if kind != "select_multiple":
                    raise fail(f"count_selected() needs a multiple-choice item, {name!r} is {kind}")
                return "num"
            if kind not in CHOICE_TYPES:
                raise fail(f"selected() needs a choice item, {name!r} is {kind}")
            code = n.args[1]
            value = code.value if isinstance(code, (rt.Num, rt.Str)) else None
            try:
                ok = value is not None and float(value).is_integer() and int(float(value)) in codes
            except ValueError:
                ok = False
            if not ok:
                raise fail(f"selected({name}, ...) needs one of its codes {sorted(codes)}")
            return "bool"
        if isinstance(n, (rt.Neg, rt.Arith)):
            for c in rt.children(n):
                if t(c) != "num":
                    raise fail("arithmetic needs numbers")
            return "num"
        if isinstance(n, rt.Compare):
            a, b = t(n.left), t(n.right)
            if "multi" in (a, b):
                raise fail("compare a multiple-choice item with selected(item, code)")
            if "date" in (a, b) or "bool" in (a, b) or a != b:
                raise fail(f"cannot compare {a} with {b}")
            if a == "str" and n.op in ("<", "<=", ">", ">="):
                # pandas would order text alphabetically, XPath 1.0 as numbers (always false)
                raise fail(
                    f"text cannot be ordered with {n.op!r}: XPath 1.0 orders numbers only (use =, != or 'in')"
                )
            literal_codes(n.left, (n.right,))
            literal_codes(n.right, (n.left,))
            return "bool"
        if isinstance(n, rt.In):
            a = t(n.operand)
            if a not in ("num", "str"):
                raise fail(f"'in' needs a number or text, not {a}")
            for v in n.values:
                if t(v) != a:
                    raise fail("the values of 'in' must match the item's type")
            literal_codes(n.operand, n.values)
            return "bool"
        if isinstance(n, rt.Not):
            if t(n.operand) != "bool":
                raise fail("'not' needs a condition")
            return "bool"
        for o in n.operands:  # BoolOp
            if t(o) != "bool":
                raise fail(f"'{n.op}' needs conditions on both sides")
        return "bool"

    return t(node)
