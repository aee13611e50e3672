"""`carepop capture link`: the aggregate table only, nothing identifying in any output (table,
report, link file, stdout, stderr; checked on the bytes), atomic writes, inputs unchanged, and
every refusal (exit 2, the flag named, nothing written).

The command is registered here on a fresh group (``capture_app.command("link")(link)`` once the
``capture`` group exists)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carepop.cli.capture_link import link
from carepop.cli.common import App
from tests.cli.conftest import assert_refused, read_back, snapshot

runner = CliRunner()
KEY_TEXT = "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"


def capture_app() -> App:
    """A fresh ``carepop`` with a ``capture`` group holding only ``link``."""
    root = App(help="test root")
    group = App(help="Capture-recapture.")
    group.command("link")(link)
    root.add_typer(group, name="capture")
    return root


def run(*args: object):
    return runner.invoke(capture_app(), ["capture", "link", *[str(a) for a in args]])


# people: (forename, surname, dob dd/mm/yyyy, postcode, id)
ZEB = ("Zebedee", "Quornash", "25/12/1944", "ZX9 8QT", "PID-7731-XQ")
YOL = ("Yolanda", "Vexley", "03/03/1933", "QW1 2XZ", "PID-4410-KV")
XAN = ("Xanthe", "O'Pubrick", "17/08/1958", "JK7 5WW", "PID-0093-LM")
WIL = ("Wilhelmina", "Dunstaffe", "09/11/1971", "HV3 6RR", "PID-2288-TB")
EVERYONE = [ZEB, YOL, XAN, WIL]


def _frame(rows, *, shout=False):
    out = pd.DataFrame(
        [
            {
                "name": (f"{f} {s}".upper() if shout else f"{f} {s}"),
                "dob": d,
                "postcode": (p.lower().replace(" ", "") if shout else p),
                "pid": i,
            }
            for f, s, d, p, i in rows
        ]
    )
    return out


@pytest.fixture
def lists(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    gp = folder / "gp.csv"
    _frame([ZEB, YOL, XAN, ZEB]).to_csv(gp, index=False)  # Zebedee twice: a duplicate
    la = folder / "la.csv"
    blank = pd.DataFrame([{"name": "", "dob": "01/01/1990", "postcode": "AB1 2CD", "pid": ""}])
    pd.concat([_frame([ZEB, WIL], shout=True), blank]).to_csv(la, index=False)  # row 3 unusable
    hosp = folder / "hosp.parquet"
    _frame([YOL, WIL, ZEB]).to_parquet(hosp, index=False)
    key = folder / "link.key"
    key.write_text(KEY_TEXT + "\n")
    return {"gp": gp, "la": la, "hosp": hosp, "key": key}


NAME_ARGS = ("--name", "name", "--dob", "dob", "--postcode", "postcode", "--dob-format", "%d/%m/%Y")


def _secrets() -> list[bytes]:
    """Every identifying string of the inputs, raw and normalised, and the key."""
    out = [KEY_TEXT, KEY_TEXT[:32], KEY_TEXT[32:]]
    for f, s, d, p, i in EVERYONE:
        day, month, year = d.split("/")
        out += [f, s, f.lower(), s.lower(), f.upper(), s.upper(), (f + s).lower().replace("'", "")]
        out += [d, f"{year}-{month}-{day}", f"{year}{month}{day}", p, p.replace(" ", ""), p.lower(), i]
    return [x.encode() for x in out]


def _assert_no_secret(*blobs: bytes | str) -> None:
    for blob in blobs:
        data = blob.encode() if isinstance(blob, str) else blob
        for secret in _secrets():
            assert secret not in data, f"{secret!r} leaked"


def _lists_args(lists):
    return [lists["gp"], lists["la"], lists["hosp"], "--key-file", lists["key"]]


# ------------------------------------------------------------------------------ what it writes
def test_writes_only_the_aggregate_table_and_report(lists, tmp_path):
    before = snapshot(*lists.values())
    out_dir = tmp_path / "out"
    table, report = out_dir / "table.csv", out_dir / "report.json"
    res = run(*_lists_args(lists), *NAME_ARGS, "--out", table, "--report", report)
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    got = read_back(table)
    # Zebedee: gp la hosp; Yolanda: gp hosp; Xanthe: gp; Wilhelmina: la hosp
    assert got.to_dict("list") == {
        "gp": [0, 1, 1, 1],
        "la": [1, 0, 0, 1],
        "hosp": [1, 0, 1, 1],
        "count": [1, 1, 1, 1],
    }
    rep = json.loads(report.read_text())
    gp, la, hosp = rep["lists"]
    assert (gp["rows_read"], gp["duplicates"], gp["duplicate_rows"], gp["people"]) == (4, 1, [4], 3)
    assert la["unusable_rows"] == [3] and la["unusable_by_reason"]["name_missing"] == [3]
    assert hosp["match_rate"] == 1.0 and rep["people"] == 4
    assert {tuple(o["lists"]): o["both"] for o in rep["overlaps"]} == {
        ("gp", "la"): 1,
        ("gp", "hosp"): 2,
        ("la", "hosp"): 2,
    }
    assert "1 duplicate(s) merged" in res.stderr and "rows 3" in res.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.json", "table.csv"]  # no temp file
    assert all(p.read_bytes() == b for p, b in before.items())
    _assert_no_secret(table.read_bytes(), report.read_bytes(), res.stdout, res.stderr)


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx", ".json"])
def test_table_in_the_format_of_its_extension(lists, tmp_path, suffix):
    out = tmp_path / f"table{suffix}"
    res = run(*_lists_args(lists), "--id", "pid", "--names", "A,B,C", "--out", out)
    assert res.exit_code == 0, res.output
    frame = read_back(out)
    assert list(frame.columns) == ["A", "B", "C", "count"] and frame["count"].sum() == 4
    _assert_no_secret(out.read_bytes(), res.stdout, res.stderr)


def test_printed_table_holds_nothing_identifying(lists):
    for fmt in ("csv", "json", "table"):
        res = run(*_lists_args(lists), *NAME_ARGS, "--format", fmt)
        assert res.exit_code == 0, res.output
        assert "count" in res.stdout
        _assert_no_secret(res.stdout, res.stderr)


def test_link_file_only_when_asked(lists, tmp_path):
    out = tmp_path / "t.csv"
    assert run(*_lists_args(lists), "--id", "pid", "--out", out).exit_code == 0
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["t.csv"]  # no person-level file
    links = tmp_path / "links.csv"
    res = run(*_lists_args(lists), "--id", "pid", "--out", out, "--link-file", links)
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(links)
    assert list(frame.columns) == ["link_hash", "gp", "la", "hosp"] and len(frame) == 4
    assert frame["link_hash"].str.fullmatch("[0-9a-f]{64}").all()
    _assert_no_secret(links.read_bytes(), out.read_bytes(), res.stdout, res.stderr)


def test_csv_ids_keep_leading_zeros_and_link_with_parquet_text(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("pid\n00123\n0456\n")
    b = tmp_path / "b.parquet"
    pd.DataFrame({"pid": ["00123", "456"]}).to_parquet(b)
    key = tmp_path / "k.key"
    key.write_text(KEY_TEXT)
    res = run(a, b, "--key-file", key, "--id", "pid", "--format", "csv")
    assert res.exit_code == 0, res.output
    # 00123 on both; 0456 and 456 are different identifiers
    assert res.stdout.splitlines() == ["a,b,count", "0,1,1", "1,0,1", "1,1,1"]


def test_outputs_are_written_atomically(lists, tmp_path, monkeypatch):
    import carepop.io.writers as writers

    renames = []
    real = writers.os.replace

    def spy(src, dst):
        renames.append((Path(src), Path(dst)))
        return real(src, dst)

    monkeypatch.setattr(writers.os, "replace", spy)
    table, report, links = tmp_path / "t.parquet", tmp_path / "r.json", tmp_path / "l.csv"
    res = run(*_lists_args(lists), "--id", "pid", "--out", table, "--report", report, "--link-file", links)
    assert res.exit_code == 0, res.output
    assert {dst for _, dst in renames} == {table, report, links}
    for src, dst in renames:
        assert src.parent == dst.parent and src.name.startswith(f".{dst.name}.")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["l.csv", "r.json", "t.parquet"]


def test_a_failed_run_leaves_earlier_outputs_untouched(lists, tmp_path):
    table, report = tmp_path / "t.csv", tmp_path / "r.json"
    table.write_bytes(b"old table\n")
    report.write_bytes(b"{}\n")
    res = run(*_lists_args(lists), "--id", "no_such_column", "--out", table, "--report", report)
    assert_refused(res, "no_such_column", unchanged={table: b"old table\n", report: b"{}\n"})
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["r.json", "t.csv"]


# ------------------------------------------------------------------------------ refusals
def _refused(res, lists, *needles, absent=()):
    assert_refused(res, *needles, unchanged=snapshot(*lists.values()), absent=absent)
    _assert_no_secret(res.stdout, res.stderr)


def test_missing_key_file(lists, tmp_path):
    out = tmp_path / "t.csv"
    res = run(lists["gp"], lists["la"], "--key-file", tmp_path / "none.key", "--id", "pid", "--out", out)
    _refused(res, lists, "No key file", "--key-file FILE", absent=[out])


def test_key_too_short(lists, tmp_path):
    short = tmp_path / "short.key"
    short.write_text(KEY_TEXT[:20] + "\n")
    out = tmp_path / "t.csv"
    res = run(lists["gp"], lists["la"], "--key-file", short, "--id", "pid", "--out", out)
    _refused(res, lists, "20 bytes", "at least 32 bytes", absent=[out])
    assert KEY_TEXT[:20] not in res.output


def test_identifier_column_missing(lists, tmp_path):
    out = tmp_path / "t.csv"
    res = run(*_lists_args(lists), "--name", "name", "--dob", "birth", "--postcode", "postcode", "--out", out)
    _refused(res, lists, "has no column 'birth'", absent=[out])


def test_a_list_with_no_usable_rows(lists, tmp_path):
    empty = tmp_path / "in" / "empty.csv"
    empty.write_text("name,dob,postcode,pid\n,,,\n ,01/01/1990,AB1 2CD,\n")
    out = tmp_path / "t.csv"
    res = run(lists["gp"], empty, "--key-file", lists["key"], "--id", "pid", "--out", out)
    _refused(res, lists, "'empty' has no row with a usable identifier", absent=[out])
    res = run(lists["gp"], lists["la"], "--key-file", lists["key"], *NAME_ARGS[:-2], "--out", out)
    _refused(res, lists, "no row with a usable identifier", "--dob-format FORMAT", absent=[out])


def test_the_same_list_name_twice(lists, tmp_path):
    out = tmp_path / "t.csv"
    res = run(*_lists_args(lists), "--id", "pid", "--names", "gp,la,gp", "--out", out)
    _refused(res, lists, "'gp' is given twice", "--names A,B,C", absent=[out])
    other = tmp_path / "elsewhere"
    other.mkdir()
    twin = other / "gp.csv"
    twin.write_bytes(lists["la"].read_bytes())  # another folder, the same stem
    res = run(lists["gp"], twin, "--key-file", lists["key"], "--id", "pid", "--out", out)
    _refused(res, lists, "'gp' is given twice", absent=[out])


def test_the_same_file_twice(lists, tmp_path):
    out = tmp_path / "t.csv"
    res = run(
        lists["gp"], lists["gp"], "--names", "a,b", "--key-file", lists["key"], "--id", "pid", "--out", out
    )
    _refused(res, lists, "same file is given twice", absent=[out])


def test_fewer_than_two_lists(lists, tmp_path):
    out = tmp_path / "t.csv"
    res = run(lists["gp"], "--key-file", lists["key"], "--id", "pid", "--out", out)
    _refused(res, lists, "at least two lists", absent=[out])


@pytest.mark.parametrize(
    "extra, needles",
    [
        (["--names", "a,b"], ["2 list name(s) for 3 file(s)", "--names A,B,C"]),
        (["--name", "name"], ["missing: dob, postcode", "--id COL"]),
        (["--id", "pid", "--name", "name"], ["not both", "--id COL"]),
        (["--id", "pid", "--report", "r.csv"], ["--report FILE.json"]),
        (["--id", "pid", "--out", "SAME.json", "--report", "SAME.json"], ["two outputs"]),
        (["--id", "pid", "--dob-format", "%d/%m/%Y"], ["--dob-format FORMAT"]),
    ],
)
def test_bad_options(lists, tmp_path, monkeypatch, extra, needles):
    monkeypatch.chdir(tmp_path)
    res = run(*_lists_args(lists), *extra)
    _refused(res, lists, *needles, absent=[tmp_path / "r.csv", tmp_path / "SAME.json"])


def test_out_cannot_replace_the_key_or_a_list(lists):
    key_json = lists["key"].with_name("key.json")  # a key file whose name an output could take
    key_json.write_bytes(lists["key"].read_bytes())
    files = [lists["gp"], lists["la"], "--id", "pid"]
    res = run(*files, "--key-file", key_json, "--out", key_json)
    _refused(res, lists, "is an input of this run", "--key-file FILE")
    assert key_json.read_text() == KEY_TEXT + "\n"
    res = run(*files, "--key-file", key_json, "--report", key_json)
    _refused(res, lists, "is an input of this run")
    assert key_json.read_text() == KEY_TEXT + "\n"
    res = run(*files, "--key-file", lists["key"], "--out", lists["gp"])
    _refused(res, lists, "is an input of this run")
