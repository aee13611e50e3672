"""Codebook of an instrument, in Markdown or as a standalone HTML page.

For each section: when it is asked; for each item: its name, the question, its type, the codes
and labels (non-substantive codes marked), when it is asked, whether it is required and its
validity checks; then the derived variables with their definitions, the named conditions, and
what each item is harmonised with (Census 2021 tables, CLD fields) category by category.
"""

from __future__ import annotations

import html
from typing import Literal

from carepop.questionnaires import routing as rt
from carepop.questionnaires.load import load_instrument
from carepop.questionnaires.schema import Derived, Instrument, Item

__all__ = ["codebook", "codebook_html", "codebook_markdown"]

# a document is a list of blocks: ("h", level, text), ("p", text), ("table", headers, rows)
Block = tuple


def codebook(instrument: Instrument | str, format: Literal["markdown", "html"] = "markdown") -> str:
    """The codebook as Markdown (default) or HTML text."""
    ins = load_instrument(instrument)
    blocks = _blocks(ins)
    return _html(blocks, f"{ins.title} — codebook") if format == "html" else _markdown(blocks)


def codebook_markdown(instrument: Instrument | str) -> str:
    return codebook(instrument, "markdown")


def codebook_html(instrument: Instrument | str) -> str:
    return codebook(instrument, "html")


# ---------------------------------------------------------------------------- content
def _blocks(ins: Instrument) -> list[Block]:
    out: list[Block] = [("h", 1, f"{ins.title} — codebook")]
    out.append(("p", f"Instrument `{ins.name}`, version {ins.version}."))
    if ins.population:
        out.append(("p", f"Population: {ins.population}"))
    if ins.description:
        out.append(("p", ins.description))
    out.append(
        (
            "p",
            "Codes marked (missing) are non-substantive answers (SPSS user-missing). A question is "
            "asked only when its condition holds; an answer where it is not asked, or no answer "
            "where it is asked and required, is a validation error. Multiple-choice answers are "
            "space-separated codes, or one 0/1 column per option named <item>_<code>.",
        )
    )
    out.append(("h", 2, "Sections"))
    out.append(
        (
            "table",
            ["Section", "Asked when", "Items"],
            [
                [s.label, _expr(ins, s.relevant) or "always", ", ".join(i.name for i in s.items)]
                for s in ins.sections
            ],
        )
    )
    if ins.conditions:
        out.append(("h", 2, "Named conditions"))
        out.append(("p", "Used by name in routing and derived variables."))
        out.append(
            ("table", ["Condition", "Definition"], [[k, v.strip()] for k, v in ins.conditions.items()])
        )
    for section in ins.sections:
        out.append(("h", 2, section.label))
        if section.description:
            out.append(("p", section.description))
        if section.relevant:
            out.append(("p", f"Asked when: {_expr(ins, section.relevant)}"))
        out.append(
            (
                "table",
                ["Variable", "Question", "Type", "Answers", "Asked when", "Required", "Checks"],
                [_item_row(ins, item) for item in section.items],
            )
        )
    if ins.derived:
        out.append(("h", 2, "Derived variables"))
        out.append(
            ("p", "Computed by `carepop questionnaire` from the answers: the first case that holds wins.")
        )
        out.append(
            (
                "table",
                ["Variable", "Label", "Type", "Values", "Definition"],
                [_derived_row(ins, d) for d in ins.derived],
            )
        )
    rows = _harmonisation_rows(ins)
    if rows:
        out.append(("h", 2, "Harmonisation"))
        out.append(
            (
                "p",
                "Answer categories (not question wording) aligned with Census 2021 and the Adult "
                "Social Care Client Level Data (CLD).",
            )
        )
        out.append(("table", ["Variable", "Harmonised with", "Categories"], rows))
    return out


def _expr(ins: Instrument, text: str | None) -> str:
    return text.strip() if text else ""


def _answers(ins: Instrument, obj: Item | Derived) -> str:
    choices = ins.choices_of(obj)
    if choices:
        lines = [f"{c.code} = {c.label}" + (" (missing)" if c.missing else "") for c in choices]
        if obj.type == "select_multiple":
            cols = ins.multi_columns(obj)  # type: ignore[arg-type]
            lines.append(f"0/1 columns: {cols[0]} … {cols[-1]}")
        return "\n".join(lines)
    if isinstance(obj, Item):
        if obj.range is not None:
            lo = "" if obj.range.min is None else f"{obj.range.min:g}"
            hi = "" if obj.range.max is None else f"{obj.range.max:g}"
            return f"{lo} to {hi}".strip()
        if obj.pattern:
            return f"text matching {obj.pattern}"
    return ""


def _item_row(ins: Instrument, item: Item) -> list[str]:
    checks = [f"{r.expr} ({r.message})" for r in item.rules]
    if item.unique:
        checks.append("unique")
    if item.prefilled:
        checks.append("from the sample")
    if any(c.exclusive for c in ins.choices_of(item)):
        checks.append("'none' option alone")
    return [
        item.name,
        item.label.strip(),
        item.type,
        _answers(ins, item),
        _expr(ins, item.relevant) or "—",
        "yes" if item.required and item.has_value else "no",
        "\n".join(checks),
    ]


def _derived_row(ins: Instrument, d: Derived) -> list[str]:
    lines = []
    for case in d.cases:
        value = case.value if isinstance(case.value, str) else f"{case.value:g}"
        lines.append(f"{value} if {rt.to_text(rt.parse_expression(case.when))}")
    lines.append("otherwise missing")
    if d.description:
        lines.append(d.description.strip())
    return [d.name, d.label, d.type, _answers(ins, d), "\n".join(lines)]


def _harmonisation_rows(ins: Instrument) -> list[list[str]]:
    rows = []
    for obj in (*ins.items, *ins.derived):
        mapped = [f"{c.code} → {src}: {cat}" for c in ins.choices_of(obj) for src, cat in c.maps_to.items()]
        if obj.harmonised_with or mapped:
            rows.append([obj.name, obj.harmonised_with or "", "\n".join(mapped)])
    return rows


# ---------------------------------------------------------------------------- rendering
def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def _markdown(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if block[0] == "h":
            parts.append(f"{'#' * block[1]} {block[2]}")
        elif block[0] == "p":
            parts.append(" ".join(str(block[1]).split()))
        else:
            _, headers, rows = block
            lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:90rem;color:#222}"
    "table{border-collapse:collapse;margin:1rem 0;width:100%}"
    "th,td{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left;font-size:.9rem}"
    "th{background:#f3f3f3}td:first-child{font-family:monospace;white-space:nowrap}"
)


def _html(blocks: list[Block], title: str) -> str:
    def cell(text: str) -> str:
        return html.escape(str(text)).replace("\n", "<br>")

    body = []
    for block in blocks:
        if block[0] == "h":
            body.append(f"<h{block[1]}>{cell(block[2])}</h{block[1]}>")
        elif block[0] == "p":
            body.append(f"<p>{cell(' '.join(str(block[1]).split()))}</p>")
        else:
            _, headers, rows = block
            head = "".join(f"<th>{cell(h)}</th>" for h in headers)
            trs = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
