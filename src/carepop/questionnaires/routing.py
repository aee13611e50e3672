"""A small, safe expression language for routing (``relevant``), validity rules and derived
variables — written once, evaluated two ways.

An expression is parsed into an AST (never ``eval``). The same AST is

- evaluated vectorised over a frame of responses (:func:`evaluate`), for validation and for
  derived variables, and
- translated to XPath for XLSForm ``relevant`` / ``constraint`` / ``calculation`` columns
  (:func:`to_xpath`), so ODK / KoboToolbox route the form exactly as carepop checks it.

Grammar (keywords are lower case)::

    expr     := or
    or       := and ('or' and)*
    and      := not ('and' not)*
    not      := 'not' not | compare
    compare  := sum (('=' | '==' | '!=' | '<' | '<=' | '>' | '>=') sum
                     | ['not'] 'in' '(' literal (',' literal)* ')')?
    sum      := product (('+' | '-') product)*
    product  := unary (('*' | '/') unary)*
    unary    := '-' unary | atom
    atom     := NUMBER | 'text' | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')' | true | false

Functions: ``selected(q, code)`` (a multiple-choice answer includes ``code``; for a single
choice, equals it), ``count_selected(q)`` (how many options were chosen; 0 when unanswered) and
``answered(q)`` (the item has an answer).

Missing values: a comparison with a missing operand is **false** (``q != 1`` included), arithmetic
with a missing operand is missing, division by 0 is missing, and ``not`` negates. :func:`to_xpath`
reproduces this in XPath, where ``'' != 1`` would be true and ``x div 0`` is Infinity: ``!=`` and
``not in`` are guarded with ``string-length(${q}) > 0`` for each item whose value they compare
(and ``den != 0`` for each divisor), and ``a / b`` becomes ``if(b = 0, '', a div b)``.

The functions are never missing: ``answered()`` and ``selected()`` are false and
``count_selected()`` is 0 for an unanswered (or not asked) item — as in ODK, where
``count-selected('')`` is 0. So ``count_selected(q) != 2`` and ``count_selected(q) not in (1, 2)``
are *true* when ``q`` has no answer, in both readers (no answer guard on ``q``).

Text can be compared with ``=``, ``!=`` and ``in`` only: XPath 1.0 orders values as numbers, so
``<``, ``<=``, ``>`` and ``>=`` on text are refused when an instrument is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError

__all__ = [
    "Multi",
    "Node",
    "evaluate",
    "parse_expression",
    "references",
    "substitute",
    "to_text",
    "to_xpath",
    "value_references",
]


# ---------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    op: str  # = != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class In:
    operand: Node
    values: tuple[Num | Str, ...]
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    operands: tuple[Node, ...]


Node = Num | Str | Bool | Ref | Call | Neg | Arith | Compare | In | Not | BoolOp

#: function name -> number of arguments
FUNCTIONS = {"selected": 2, "count_selected": 1, "answered": 1}
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}


# ---------------------------------------------------------------------------- tokenizer
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d+)?)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|!=|==|=|<|>|\+|-|\*|/|\(|\)|,)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos:].lstrip()[:1]
            at = len(text) - len(text[pos:].lstrip())
            raise _syntax(text, at, f"unexpected character {bad!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


def _syntax(text: str, at: int, what: str) -> CarepopError:
    return CarepopError(
        f"Cannot read the expression {text!r}: {what} at character {at + 1}.",
        code="bad_expression",
        fix="expressions look like: q1 = 1 and (age >= 18 or selected(tasks, 3)); "
        "use and/or/not, = != < <= > >=, in (1, 2), + - * /, selected(), count_selected(), answered()",
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    # helpers
    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        kind, val, _ = self.peek()
        return kind in ("op", "name") and val in values

    def expect(self, value: str) -> None:
        kind, val, pos = self.take()
        if val != value or kind not in ("op", "name"):
            raise _syntax(self.text, pos, f"expected {value!r}, found {val or 'the end'!r}")

    # grammar
    def parse(self) -> Node:
        node = self.or_()
        kind, val, pos = self.peek()
        if kind != "end":
            raise _syntax(self.text, pos, f"unexpected {val!r}")
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.at("or"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.at("and"):
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_(self) -> Node:
        if self.at("not"):
            self.take()
            return Not(self.not_())
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        if self.at("=", "==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            return Compare("=" if op == "==" else op, left, self.sum_())
        negated = False
        if self.at("not") and self.toks[self.i + 1][1] == "in":
            self.take()
            negated = True
        if self.at("in"):
            self.take()
            self.expect("(")
            values = [self.literal()]
            while self.at(","):
                self.take()
                values.append(self.literal())
            self.expect(")")
            return In(left, tuple(values), negated)
        return left

    def literal(self) -> Num | Str:
        kind, val, pos = self.take()
        if kind == "op" and val == "-" and self.peek()[0] == "num":
            return Num(-float(self.take()[1]))
        if kind == "num":
            return Num(float(val))
        if kind == "str":
            return Str(val[1:-1])
        raise _syntax(self.text, pos, f"expected a number or 'text' in the list, found {val or 'the end'!r}")

    def sum_(self) -> Node:
        node = self.product()
        while self.at("+", "-"):
            op = self.take()[1]
            node = Arith(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.at("*", "/"):
            op = self.take()[1]
            node = Arith(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            operand = self.unary()
            return Num(-operand.value) if isinstance(operand, Num) else Neg(operand)
        return self.atom()

    def atom(self) -> Node:
        kind, val, pos = self.take()
        if kind == "num":
            return Num(float(val))
        if kind == "str":
            return Str(val[1:-1])
        if kind == "op" and val == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "name":
            if val in ("true", "false"):
                return Bool(val == "true")
            if val in _KEYWORDS:
                raise _syntax(self.text, pos, f"unexpected keyword {val!r}")
            if self.at("("):
                self.take()
                args = [self.or_()]
                while self.at(","):
                    self.take()
                    args.append(self.or_())
                self.expect(")")
                if val not in FUNCTIONS:
                    raise _syntax(self.text, pos, f"unknown function {val!r} (known: {', '.join(FUNCTIONS)})")
                if len(args) != FUNCTIONS[val]:
                    raise _syntax(self.text, pos, f"{val}() takes {FUNCTIONS[val]} argument(s)")
                if not isinstance(args[0], Ref):
                    raise _syntax(self.text, pos, f"the first argument of {val}() must be an item name")
                return Call(val, tuple(args))
            return Ref(val)
        raise _syntax(self.text, pos, f"unexpected {val or 'end of expression'!r}")


@lru_cache(maxsize=4096)
def parse_expression(text: str) -> Node:
    """Parse ``text`` into an AST; a :class:`CarepopError` (``bad_expression``) if it is not valid."""
    if not isinstance(text, str) or not text.strip():
        raise CarepopError("An expression is empty.", code="bad_expression", fix="write e.g. q1 = 1")
    return _Parser(text).parse()


# ---------------------------------------------------------------------------- walking the AST
def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, (Neg, Not)):
        return (node.operand,)
    if isinstance(node, (Arith, Compare)):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.operand, *node.values)
    if isinstance(node, BoolOp):
        return node.operands
    return ()


def references(node: Node) -> set[str]:
    """Names an expression refers to."""
    if isinstance(node, Ref):
        return {node.name}
    out: set[str] = set()
    for child in children(node):
        out |= references(child)
    return out


def value_references(node: Node) -> set[str]:
    """Names whose *values* an expression uses — those that can make it missing. A name that
    is only the item of ``selected()`` / ``count_selected()`` / ``answered()`` is left out: those
    functions have a value (false / 0) when the item is unanswered."""
    if isinstance(node, Ref):
        return {node.name}
    out: set[str] = set()
    for child in node.args[1:] if isinstance(node, Call) else children(node):
        out |= value_references(child)
    return out


def _divisors(node: Node) -> list[Node]:
    """Divisors of the divisions in ``node`` (outside function calls), outermost first."""
    if isinstance(node, Call):
        return []
    out: list[Node] = [node.right] if isinstance(node, Arith) and node.op == "/" else []
    for child in children(node):
        out += _divisors(child)
    return out


def _nonzero_number(node: Node) -> bool:
    return isinstance(node, Num) and node.value != 0


def substitute(node: Node, names: dict[str, Node]) -> Node:
    """``node`` with every reference to a name in ``names`` replaced by that AST (named
    conditions are inlined this way, so the XPath and the validator see the same logic)."""
    if isinstance(node, Ref):
        return names.get(node.name, node)
    if isinstance(node, Call):
        return Call(node.func, (node.args[0], *(substitute(a, names) for a in node.args[1:])))
    if isinstance(node, Neg):
        return Neg(substitute(node.operand, names))
    if isinstance(node, Not):
        return Not(substitute(node.operand, names))
    if isinstance(node, Arith):
        return Arith(node.op, substitute(node.left, names), substitute(node.right, names))
    if isinstance(node, Compare):
        return Compare(node.op, substitute(node.left, names), substitute(node.right, names))
    if isinstance(node, In):
        return In(substitute(node.operand, names), node.values, node.negated)
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(substitute(o, names) for o in node.operands))
    return node


def conjunction(*nodes: Node | None) -> Node | None:
    """``a and b and ...`` of the nodes given (None ignored); None when there are none."""
    parts: list[Node] = []
    for node in nodes:
        if isinstance(node, BoolOp) and node.op == "and":
            parts.extend(node.operands)
        elif node is not None:
            parts.append(node)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))


def _num_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _lit_text(v: Num | Str) -> str:
    return _num_text(v.value) if isinstance(v, Num) else f"'{v.value}'"


_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "atom": 8}


def _prec(node: Node) -> int:
    if isinstance(node, BoolOp):
        return _PREC[node.op]
    if isinstance(node, Not):
        return _PREC["not"]
    if isinstance(node, (Compare, In)):
        return _PREC["cmp"]
    if isinstance(node, Arith):
        return _PREC[node.op]
    if isinstance(node, Neg):
        return _PREC["neg"]
    return _PREC["atom"]


def to_text(node: Node) -> str:
    """The expression in carepop's own syntax (for codebooks and messages)."""

    def wrap(child: Node, parent: int, strict: bool = False) -> str:
        text = to_text(child)
        p = _prec(child)
        return f"({text})" if p < parent or (strict and p == parent) else text

    if isinstance(node, Num):
        return _num_text(node.value)
    if isinstance(node, Str):
        return f"'{node.value}'"
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, Ref):
        return node.name
    if isinstance(node, Call):
        return f"{node.func}({', '.join(to_text(a) for a in node.args)})"
    if isinstance(node, Neg):
        return f"-{wrap(node.operand, _PREC['neg'])}"
    if isinstance(node, Arith):
        p = _PREC[node.op]
        return f"{wrap(node.left, p)} {node.op} {wrap(node.right, p, strict=True)}"
    if isinstance(node, Compare):
        p = _PREC["cmp"]
        return f"{wrap(node.left, p + 1)} {node.op} {wrap(node.right, p + 1)}"
    if isinstance(node, In):
        vals = ", ".join(_lit_text(v) for v in node.values)
        return f"{wrap(node.operand, _PREC['cmp'] + 1)} {'not in' if node.negated else 'in'} ({vals})"
    if isinstance(node, Not):
        return f"not {wrap(node.operand, _PREC['not'])}"
    # and/or inside one another are always bracketed, for readers who do not know precedence
    return f" {node.op} ".join(
        f"({to_text(o)})" if isinstance(o, BoolOp) else wrap(o, _PREC[node.op], strict=True)
        for o in node.operands
    )


# ---------------------------------------------------------------------------- XPath
def to_xpath(node: Node, self_name: str | None = None) -> str:
    """The expression as XLSForm XPath: ``${q} = 1``, ``selected(${q}, '3')``, ... A reference to
    ``self_name`` becomes ``.`` (for constraints). Missing-value semantics match :func:`evaluate`."""

    def ref(name: str) -> str:
        return "." if name == self_name else "${" + name + "}"

    def guards(n: Node) -> list[str]:
        """What makes ``!=`` / ``not in`` false in evaluate(): an item value missing, a divisor 0."""
        out = [f"string-length({ref(r)}) > 0" for r in sorted(value_references(n))]
        for den in _divisors(n):
            if not _nonzero_number(den):
                out.append(f"{x(den)} != 0")
        return list(dict.fromkeys(out))

    def x(n: Node) -> str:
        if isinstance(n, Num):
            return _num_text(n.value)
        if isinstance(n, Str):
            return f"'{n.value}'"
        if isinstance(n, Bool):
            return "true()" if n.value else "false()"
        if isinstance(n, Ref):
            return ref(n.name)
        if isinstance(n, Call):
            target = ref(n.args[0].name)  # type: ignore[union-attr]
            if n.func == "selected":
                code = n.args[1]
                lit = _num_text(code.value) if isinstance(code, Num) else x(code).strip("'")
                return f"selected({target}, '{lit}')"
            if n.func == "count_selected":
                return f"count-selected({target})"
            return f"string-length({target}) > 0"
        if isinstance(n, Neg):
            return f"-({x(n.operand)})"
        if isinstance(n, Arith):
            if n.op != "/":
                return f"({x(n.left)} {n.op} {x(n.right)})"
            if _nonzero_number(n.right):
                return f"({x(n.left)} div {x(n.right)})"
            # x div 0 is Infinity in XPath; evaluate() makes it missing: no value ('')
            return f"if({x(n.right)} = 0, '', {x(n.left)} div {x(n.right)})"
        if isinstance(n, Compare):
            text = f"{x(n.left)} {n.op} {x(n.right)}"
            if n.op == "!=":
                return "(" + " and ".join([text, *guards(n)]) + ")"
            return text
        if isinstance(n, In):
            left = x(n.operand)
            anyof = " or ".join(f"{left} = {_lit_text(v)}" for v in n.values)
            if not n.negated:
                return f"({anyof})"
            return "(" + " and ".join([*guards(n.operand), f"not({anyof})"]) + ")"
        if isinstance(n, Not):
            return f"not({x(n.operand)})"
        return "(" + f" {n.op} ".join(x(o) for o in n.operands) + ")"

    out = x(node)
    if out.startswith("(") and _balanced_outer(out):
        out = out[1:-1]
    return out


def _balanced_outer(s: str) -> bool:
    """True when the first '(' of ``s`` closes at its last character."""
    depth = 0
    for i, ch in enumerate(s):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i == len(s) - 1
    return False


# ---------------------------------------------------------------------------- evaluation
class Multi:
    """A multiple-choice column for fast evaluation: ``has[code]`` says which rows chose each
    code, ``answered`` which rows have an answer. ``np.asarray`` gives the space-separated text."""

    __slots__ = ("has", "answered", "_text")

    def __init__(self, has: dict[int, np.ndarray], answered: np.ndarray) -> None:
        self.has = has
        self.answered = np.asarray(answered, dtype=bool)
        self._text: np.ndarray | None = None

    def __len__(self) -> int:
        return self.answered.shape[0]

    @property
    def text(self) -> np.ndarray:
        """Codes chosen, in code order, separated by spaces; None where unanswered."""
        if self._text is None:
            text = np.full(len(self), "", dtype=object)
            for code in sorted(self.has):
                text = text + np.where(self.has[code], f"{code} ", "")
            stripped = np.char.strip(text.astype(str)).astype(object)
            self._text = np.where(self.answered, stripped, None).astype(object)
        return self._text

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.text if dtype is None else self.text.astype(dtype)

    def count(self) -> np.ndarray:
        """Number of options chosen per row (0 when unanswered)."""
        if not self.has:
            return np.zeros(len(self))
        return np.sum([h & self.answered for h in self.has.values()], axis=0).astype(float)

    def blank(self, mask: np.ndarray) -> Multi:
        """The same answers with rows where ``mask`` is true made unanswered."""
        return Multi({c: h & ~mask for c, h in self.has.items()}, self.answered & ~mask)


def _missing(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return np.isnan(a)
    if a.dtype.kind in "iub":
        return np.zeros(a.shape, dtype=bool)
    return np.asarray(pd.isna(a), dtype=bool) | (a == "")


def _as_float(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return a
    if a.dtype.kind in "iub":
        return a.astype(float)
    return pd.to_numeric(pd.Series(a), errors="coerce").to_numpy(dtype=float)


def evaluate(node: Node, frame: Any, n: int | None = None) -> np.ndarray:
    """Evaluate ``node`` over every row of ``frame`` at once.

    ``frame`` maps names to columns (a pandas DataFrame or a dict of arrays): numeric columns as
    floats with NaN for missing, text and multiple-choice columns (space-separated codes) as
    objects. Conditions return boolean arrays, numeric expressions float arrays.
    """
    if n is None:
        n = len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values())))

    def col(name: str) -> np.ndarray:
        try:
            values = frame[name]
        except KeyError:
            raise CarepopError(
                f"The expression needs column {name!r}, which is not in the data.",
                code="missing_column",
                column=name,
                fix="add the column, or check the instrument",
            ) from None
        return np.asarray(values)

    def ev(nd: Node) -> np.ndarray:
        if isinstance(nd, Num):
            return np.full(n, float(nd.value))
        if isinstance(nd, Str):
            return np.full(n, nd.value, dtype=object)
        if isinstance(nd, Bool):
            return np.full(n, nd.value, dtype=bool)
        if isinstance(nd, Ref):
            return col(nd.name)
        if isinstance(nd, Call):
            name = nd.args[0].name  # type: ignore[union-attr]
            if isinstance(frame.get(name) if isinstance(frame, dict) else None, Multi):
                return _multi_call(nd, frame[name])
            values = col(name)
            if nd.func == "answered":
                return ~_missing(values)
            if nd.func == "count_selected":
                s = pd.Series(values, dtype=object).where(~_missing(values), None)
                return s.str.split().str.len().fillna(0).to_numpy(dtype=float)
            code = nd.args[1]
            token = _num_text(code.value) if isinstance(code, Num) else str(code.value)
            if values.dtype.kind in "fiu":
                return _as_float(values) == float(token)
            s = pd.Series(values, dtype=object).where(~_missing(values), None).astype("string")
            hit = s.str.contains(rf"(?:^|\s){re.escape(token)}(?:\s|$)", regex=True)
            return hit.fillna(False).to_numpy(dtype=bool)
        if isinstance(nd, Neg):
            return -_as_float(ev(nd.operand))
        if isinstance(nd, Arith):
            a, b = _as_float(ev(nd.left)), _as_float(ev(nd.right))
            with np.errstate(divide="ignore", invalid="ignore"):
                if nd.op == "+":
                    return a + b
                if nd.op == "-":
                    return a - b
                if nd.op == "*":
                    return a * b
                return np.where(b == 0, np.nan, a / np.where(b == 0, 1.0, b))
        if isinstance(nd, Compare):
            return _compare(nd.op, ev(nd.left), ev(nd.right))
        if isinstance(nd, In):
            a = ev(nd.operand)
            hit = np.zeros(n, dtype=bool)
            for v in nd.values:
                hit |= _compare("=", a, ev(v))
            return (~hit & ~_missing(a)) if nd.negated else hit
        if isinstance(nd, Not):
            return ~_truth(ev(nd.operand))
        parts = [_truth(ev(o)) for o in nd.operands]
        return np.logical_and.reduce(parts) if nd.op == "and" else np.logical_or.reduce(parts)

    return ev(node)


def _multi_call(nd: Call, m: Multi) -> np.ndarray:
    if nd.func == "answered":
        return m.answered.copy()
    if nd.func == "count_selected":
        return m.count()
    code = nd.args[1]
    try:
        key = int(float(code.value))  # type: ignore[union-attr]
    except ValueError:
        return np.zeros(len(m), dtype=bool)
    hit = m.has.get(key)
    return (hit & m.answered) if hit is not None else np.zeros(len(m), dtype=bool)


def _truth(a: np.ndarray) -> np.ndarray:
    if a.dtype == bool:
        return a
    return ~_missing(a) & (_as_float(a) != 0)


def _compare(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    present = ~_missing(a) & ~_missing(b)
    numeric = a.dtype.kind in "fiub" or b.dtype.kind in "fiub"
    if numeric:
        x, y = _as_float(a), _as_float(b)
        present &= ~np.isnan(x) & ~np.isnan(y)
        x, y = np.where(present, x, 0.0), np.where(present, y, 0.0)
    else:
        x = np.where(present, a, "").astype(str)
        y = np.where(present, b, "").astype(str)
    if op == "=":
        out = x == y
    elif op == "!=":
        out = x != y
    elif op == "<":
        out = x < y
    elif op == "<=":
        out = x <= y
    elif op == ">":
        out = x > y
    else:
        out = x >= y
    return np.asarray(out, dtype=bool) & present
