"""CLD event files as councils export them (Excel's encodings and separators) and the progress the
CLD code reports while it reads, checks and summarises a file."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from carepop.core.progress import showing
from carepop.errors import CarepopError
from carepop.sources.cld.generate import generate
from carepop.sources.cld.quality import quality_report
from carepop.sources.cld.summary import summarise
from tests.sources.cld.fixtures import events, story, write


class Recorder:
    """A progress display that writes down what it is told (carepop.core.progress.Display)."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    def start(self, description: str, total: int | None) -> object:
        self.log.append(("start", description, total))
        return description

    def advance(self, task: object, steps: int) -> None:
        self.log.append(("advance", task, steps))

    def finish(self, task: object) -> None:
        self.log.append(("finish", task))

    def tasks(self) -> dict[str, tuple[int | None, int]]:
        """description -> (total, steps advanced)."""
        totals = {d: t for kind, d, *rest in self.log if kind == "start" for t in rest}
        done: Counter = Counter()
        for entry in self.log:
            if entry[0] == "advance":
                done[entry[1]] += entry[2]
        return {d: (totals[d], done[d]) for d in totals}


def test_semicolon_and_windows_1252_file_reads_like_the_original(tmp_path):
    original = summarise(write(story(), tmp_path / "story.csv"))
    path = tmp_path / "excel.csv"
    path.write_bytes(story().to_csv(index=False, sep=";").encode("cp1252"))
    pd.testing.assert_frame_equal(summarise(path, encoding="cp1252"), original)
    pd.testing.assert_frame_equal(summarise(path, sep=";"), original)


def test_a_file_that_is_not_utf8_names_the_encoding(tmp_path):
    frame = events({}, {"Ethnicity": "Any other Whité background"})
    path = tmp_path / "latin.csv"
    path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
    with pytest.raises(CarepopError) as err:
        quality_report(path)
    e = err.value
    assert e.code == "bad_encoding" and "line 3" in e.message and "encoding='cp1252'" in e.fix
    assert quality_report(path, encoding="cp1252").attrs["rows"] == 2


def test_encoding_or_separator_for_a_parquet_file_is_refused(tmp_path):
    path = write(story(), tmp_path / "story.parquet")
    with pytest.raises(CarepopError) as err:
        summarise(path, sep=";")
    assert err.value.code == "bad_option" and "sep=';'" in err.value.fix


def test_wrong_separator_given_says_so(tmp_path):
    path = write(story(), tmp_path / "story.csv")
    with pytest.raises(CarepopError) as err:
        summarise(path, sep=";")
    assert err.value.code in ("missing_columns", "unreadable")


def test_progress_of_check_and_summarise(tmp_path):
    path = write(story(), tmp_path / "story.csv")
    for run, what in ((quality_report, "checking"), (summarise, "summarising")):
        shown = Recorder()
        with showing(shown):
            run(path)
        tasks = shown.tasks()
        assert tasks["reading story.csv (MB)"] == (1, 1)
        assert tasks["validating story.csv"][0] == tasks["validating story.csv"][1] > 1
        total, done = tasks[f"{what} story.csv"]
        assert total == done > 1  # every SQL step reported
        assert [e[0] for e in shown.log].count("finish") == len(tasks)


def test_no_display_no_output(tmp_path, capsys):
    summarise(write(story(), tmp_path / "story.csv"))
    assert capsys.readouterr() == ("", "")


def test_generate_reports_each_chunk(tmp_path):
    shown = Recorder()
    with showing(shown):
        generate(tmp_path / "g.parquet", rows=3000, seed=1, chunk_rows=1000)
    assert shown.tasks() == {"generating g.parquet": (3, 3)}


def test_generate_errors_name_parameters(tmp_path):
    with pytest.raises(CarepopError) as err:
        generate(tmp_path / "g.parquet", rows=10)
    assert "rows=..." in err.value.fix
    with pytest.raises(CarepopError) as err:
        generate(tmp_path / "g.txt", rows=1000)
    assert err.value.code == "unknown_format"
