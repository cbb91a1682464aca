"""Settings the command line can refuse before it reads any data are refused then (exit 2)."""

import pytest

from gradreg import plotting
from gradreg.cli import main
from gradreg.datasets import study_time_path
from gradreg.errors import ParameterError


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_plot_file_of_no_image_format_is_refused_before_the_fit(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("gradreg.sources.files.read_all",
                        lambda *a, **k: pytest.fail("the data were read"))
    out = tmp_path / "plot.txt"
    code, _, err = run(capsys, "plot", study_time_path(), "--target", "score", "--out", str(out))
    assert code == 2
    assert err.count("\n") == 1
    assert "--out: Cannot write a plot to" in err and "suffix .txt names no image format" in err
    assert ".png" in err and ".svg" in err
    assert not out.exists()


def test_the_library_names_the_formats_it_can_write():
    assert plotting.image_format("a/b.SVG") == "svg"
    assert plotting.image_format("no_suffix") == "png"
    with pytest.raises(ParameterError, match=r"'x\.docx': its suffix \.docx names no image"):
        plotting.image_format("x.docx")


@pytest.mark.parametrize("penalty", ["l1", "l2", "elasticnet"])
def test_summary_of_a_penalized_fit_is_refused_before_the_fit(capsys, tmp_path, penalty):
    model = tmp_path / "model.json"
    code, out, err = run(capsys, "fit", study_time_path(), "--target", "score", "--penalty",
                         penalty, "--alpha", "0.1", "--summary", "--model", str(model))
    assert code == 2
    assert out == ""  # no fit report: nothing was fitted
    assert err.startswith("gradreg: error: --summary: Inference needs an unpenalized fit")
    assert not model.exists()
