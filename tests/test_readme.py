"""The README's examples, run as written (issue 10: "The README's shell and Python examples run as
written in the test suite").

README.md is read when the tests are collected, so the examples tested are the ones it holds now:

- shell: every line starting with ``carepop `` in a fenced or indented code block (joined with the
  lines that follow it while it ends with ``\\``), run with bash in the order of the README, one
  test each;
- Python: every ```` ```python ```` block, run in the order of the README in one interpreter (one
  namespace, as a reader would type them one after the other), one test each.

They run in a temporary working folder laid out as the examples assume: ``tests/data/`` and
``examples/`` copied from the repository, the files of ``examples/`` also at the top (an example
that says ``responses.csv`` means a file of that name in the folder it is run from), and the
output of ``carepop demo`` (the README's set-up runs it) in ``carepop-demo/``. Every output goes
there; the repository is only read.

A command passes when it exits 0 (or 1 for a check that found problems, ``cld check`` and
``questionnaire validate``: "exit 1 problems found" in DESIGN.md), prints no traceback and writes
every ``--out``/``--report`` file it names. A code block is left out only when the line before it
(blank lines aside) is ``<!-- not-run: REASON -->``; the README uses that for synopses (option
lists with placeholders), which are not commands.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: folders of the repository the examples may read (copied into the working folder)
COPIED = ("tests/data", "examples")
#: commands whose exit status 1 means "problems found" (DESIGN.md, CLI conventions)
CHECK_COMMANDS = {("cld", "check"), ("questionnaire", "validate")}
#: options naming a file the command writes
OUTPUT_OPTIONS = {"--out", "--report"}
TIMEOUT = 300

MARKER = re.compile(r"^\s*<!--\s*not-run:(.*?)-->\s*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")


@dataclass(frozen=True)
class Example:
    kind: str  # "shell" or "python"
    line: int  # 1-based line of README.md where the command or the code starts
    text: str

    @property
    def id(self) -> str:
        first = " ".join(self.text.strip().splitlines()[0].split())
        return f"L{self.line}: {first[:70]}"


@dataclass(frozen=True)
class OptOut:
    line: int
    reason: str
    block: str


class ReadmeError(ValueError):
    pass


def _blocks(lines: list[str]) -> list[tuple[str, int, list[str]]]:
    """Code blocks as (language, line of the first code line, code lines); language is the fence's
    info string ('' for a bare fence, 'indented' for an indented block)."""
    out = []
    i = 0
    prev_blank = True
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            fence, lang = m.group(1), m.group(2).lower()
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith(fence):
                j += 1
            if j == len(lines):
                raise ReadmeError(f"README.md:{i + 1}: fence {fence} is never closed")
            out.append((lang, i + 2, lines[i + 1 : j]))
            i, prev_blank = j + 1, False
            continue
        if prev_blank and lines[i].startswith(("    ", "\t")) and lines[i].strip():
            j = i
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith(("    ", "\t"))):
                j += 1
            while not lines[j - 1].strip():
                j -= 1
            body = [
                ln[4:] if ln.startswith("    ") else ln[1:] if ln.startswith("\t") else ln
                for ln in lines[i:j]
            ]
            out.append(("indented", i + 1, body))
            i, prev_blank = j, False
            continue
        prev_blank = not lines[i].strip()
        i += 1
    return out


def _marker_before(lines: list[str], first_code_line: int, lang: str) -> str | None:
    """The reason of a not-run marker on the last non-blank line before the block, if any."""
    k = first_code_line - 2 - (0 if lang == "indented" else 1)  # index of the line before the block
    while k >= 0 and not lines[k].strip():
        k -= 1
    if k >= 0 and (m := MARKER.match(lines[k])):
        reason = m.group(1).strip()
        if not reason:
            raise ReadmeError(f"README.md:{k + 1}: a not-run marker must say why")
        return reason
    return None


def parse(markdown: str) -> tuple[list[Example], list[OptOut]]:
    """The examples of a README and the blocks it opts out."""
    lines = markdown.splitlines()
    examples: list[Example] = []
    optouts: list[OptOut] = []
    used_markers = set()
    for lang, start, body in _blocks(lines):
        reason = _marker_before(lines, start, lang)
        if reason is not None:
            optouts.append(OptOut(start, reason, "\n".join(body)))
            k = start - 2 - (0 if lang == "indented" else 1)
            while not lines[k].strip():
                k -= 1
            used_markers.add(k)
            continue
        if lang == "python":
            examples.append(Example("python", start, "\n".join(body) + "\n"))
            continue
        j = 0
        while j < len(body):
            if body[j].lstrip().startswith("carepop "):
                first = j
                parts = [body[j].strip()]
                while parts[-1].endswith("\\") and j + 1 < len(body):
                    j += 1
                    parts[-1] = parts[-1][:-1].rstrip()
                    parts.append(body[j].strip())
                examples.append(Example("shell", start + first, " ".join(parts)))
            j += 1
    stray = [k + 1 for k, ln in enumerate(lines) if MARKER.match(ln) and k not in used_markers]
    if stray:
        raise ReadmeError(f"README.md lines {stray}: a not-run marker that is not right before a code block")
    return examples, optouts


EXAMPLES, OPTOUTS = parse(README.read_text(encoding="utf-8"))
SHELL = [e for e in EXAMPLES if e.kind == "shell"]
PYTHON = [e for e in EXAMPLES if e.kind == "python"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # the `carepop` of this environment, whatever PATH the tests were started with
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(MPLBACKEND="Agg", COLUMNS="120", PYTHONWARNINGS="ignore::DeprecationWarning")
    return env


def _run(cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", cmd], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT
    )


def _report(what: str, proc: subprocess.CompletedProcess) -> str:
    return (
        f"{what}\nexit status {proc.returncode}\n--- stderr ---\n{proc.stderr[-4000:]}"
        f"\n--- stdout ---\n{proc.stdout[-2000:]}"
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("readme")
    for rel in COPIED:
        if (ROOT / rel).is_dir():
            shutil.copytree(ROOT / rel, wd / rel, ignore=shutil.ignore_patterns("__pycache__"))
    for f in sorted((ROOT / "examples").glob("*")):
        if f.is_file() and not (wd / f.name).exists():
            shutil.copy2(f, wd / f.name)
    # the README's set-up: `... && carepop demo` (default output folder carepop-demo/)
    proc = _run("carepop demo", wd)
    assert proc.returncode == 0 and (wd / "carepop-demo" / "results" / "report.html").is_file(), _report(
        "carepop demo (the README's set-up step)", proc
    )
    return wd


def test_readme_has_examples_of_both_kinds():
    assert SHELL and PYTHON
    assert any(e.text.startswith("carepop estimate ") for e in SHELL)


@pytest.mark.parametrize("example", SHELL, ids=[e.id for e in SHELL])
def test_shell_example(workdir, example):
    cmd = example.text
    proc = _run(cmd, workdir)
    words = shlex.split(cmd, comments=True)
    allowed = {0, 1} if tuple(words[1:3]) in CHECK_COMMANDS else {0}
    where = f"README.md:{example.line}: {cmd}"
    assert proc.returncode in allowed, _report(where, proc)
    assert "Traceback (most recent call last)" not in proc.stderr + proc.stdout, _report(where, proc)
    if proc.returncode == 1:  # a check that found problems says what they are
        assert proc.stdout.strip(), _report(where, proc)
    for opt, value in zip(words[:-1], words[1:], strict=True):
        if opt in OUTPUT_OPTIONS:
            out = workdir / value
            assert out.exists() and (out.is_dir() or out.stat().st_size > 0), _report(
                f"{where}\n{opt} {value} was not written", proc
            )


DRIVER = textwrap.dedent(
    """
    import json, sys, traceback
    blocks = json.load(open(sys.argv[1]))
    ns = {"__name__": "__main__"}
    results = []
    for line, code in blocks:
        try:
            exec(compile("\\n" * (line - 1) + code, "README.md", "exec"), ns)
            results.append(None)
        except BaseException as exc:  # the traceback from the README's line on
            results.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next)))
    json.dump(results, open(sys.argv[2], "w"))
    """
)


@pytest.fixture(scope="module")
def python_results(workdir, tmp_path_factory) -> dict[int, str | None]:
    """Run every Python block in order in one interpreter; the traceback of each that failed."""
    tmp = tmp_path_factory.mktemp("readme_python")
    (tmp / "blocks.json").write_text(json.dumps([[e.line, e.text] for e in PYTHON]))
    (tmp / "driver.py").write_text(DRIVER)
    proc = subprocess.run(
        [sys.executable, str(tmp / "driver.py"), str(tmp / "blocks.json"), str(tmp / "results.json")],
        cwd=workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0 and (tmp / "results.json").exists(), _report("the Python blocks", proc)
    results = json.loads((tmp / "results.json").read_text())
    return {e.line: r for e, r in zip(PYTHON, results, strict=True)}


@pytest.mark.parametrize("example", PYTHON, ids=[e.id for e in PYTHON])
def test_python_example(python_results, example):
    error = python_results[example.line]
    assert error is None, f"README.md:{example.line}: the Python block failed\n{example.text}\n{error}"


def test_demo_writes_its_outputs_where_asked(tmp_path):
    out = tmp_path / "demo"
    proc = _run(f"carepop demo --out {shlex.quote(str(out))}", tmp_path)
    assert proc.returncode == 0, _report("carepop demo --out", proc)
    assert "Traceback" not in proc.stderr
    csvs = sorted((out / "results").glob("*.csv"))
    assert (out / "results" / "carers.csv") in csvs and len(csvs) >= 10, csvs
    assert all(f.stat().st_size > 0 for f in csvs)
    assert (out / "inputs" / "synthetic_carers_survey.csv").is_file() and (out / "carepop.toml").is_file()
    # its closing lines say where the report is and how to open it
    assert "report.html" in proc.stdout and "browser" in proc.stdout
    assert not (tmp_path / "carepop-demo").exists()  # --out is honoured, not the default folder


# ------------------------------------------------------------------ the harness itself

SAMPLE = """\
# Title

    carepop one --a 1 \\
        --b 2
    not a command

```
carepop two --out x.csv   # a comment
```

<!-- not-run: a synopsis -->

    carepop three DATA [--x X]

```python
import carepop
```

```bash
echo hi
carepop four
```
"""


def test_parse_finds_commands_blocks_and_opt_outs():
    examples, optouts = parse(SAMPLE)
    assert [(e.kind, e.line, e.text) for e in examples] == [
        ("shell", 3, "carepop one --a 1 --b 2"),
        ("shell", 8, "carepop two --out x.csv   # a comment"),
        ("python", 16, "import carepop\n"),
        ("shell", 21, "carepop four"),
    ]
    assert [(o.line, o.reason) for o in optouts] == [(13, "a synopsis")]


def test_parse_refuses_bad_markers():
    with pytest.raises(ReadmeError, match="must say why"):
        parse("<!-- not-run: -->\n\n    carepop x\n")
    with pytest.raises(ReadmeError, match="not right before a code block"):
        parse("<!-- not-run: why -->\n\ntext\n\n    carepop x\n")
    with pytest.raises(ReadmeError, match="never closed"):
        parse("```\ncarepop x\n")
