"""The example scripts run and do what they say."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize("script", ["classic_loop.py", "choose_learning_rate.py"])
def test_example_runs(script, capsys):
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    assert "m = " in out


def test_choose_learning_rate_shows_the_divergence(capsys):
    runpy.run_path(str(EXAMPLES / "choose_learning_rate.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "would diverge" in out and "2/L" in out


def test_plots_example_writes_every_image(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["plots.py", str(tmp_path)])
    runpy.run_path(str(EXAMPLES / "plots.py"), run_name="__main__")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "cost.png", "descent.gif", "line.png", "path-slice.png", "path.png", "rates.png"
    ]
