"""``carepop run``: a broken config is refused with its line and a fix, and nothing is written;
``--init`` writes a commented starter that never replaces a file."""

from __future__ import annotations

import tomllib

from tests.cli.conftest import invoke


def test_a_broken_config_names_its_line_and_writes_nothing(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[run]\nseed = 1\n\n[inputs.carers]\nfile = "missing.csv"\n')
    res = invoke("run", cfg, "--out", tmp_path / "out")
    assert res.exit_code == 2
    assert "line 5" in res.output and "missing.csv" in res.output and "fix:" in res.output
    assert not (tmp_path / "out").exists()
    cfg.write_text("[run]\nsede = 1\n")
    res = invoke("run", cfg, "--out", tmp_path / "out")
    assert res.exit_code == 2 and "line 2" in res.output and "did you mean 'seed'" in res.output
    assert not (tmp_path / "out").exists()


def test_init_writes_a_starter_and_never_overwrites(tmp_path):
    cfg = tmp_path / "starter.toml"
    res = invoke("run", "--init", cfg)
    assert res.exit_code == 0, res.output
    text = cfg.read_text()
    parsed = tomllib.loads(text)
    assert {"run", "inputs", "surveys", "measures", "disclosure", "outputs"} <= set(parsed)
    assert text.startswith("# A starter config")
    res = invoke("run", "--init", cfg)
    assert res.exit_code == 2 and "never overwrites" in res.output
    assert cfg.read_text() == text
