"""The errors: scikit-learn's NotFittedError and ConvergenceWarning, without importing it early."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sklearn.exceptions
from sklearn.utils.validation import check_is_fitted

import gradreg
from gradreg import GDRegressor, errors


def test_errors_import_without_scikit_learn_until_asked():
    script = textwrap.dedent("""
        import sys
        import gradreg.errors as errors
        from gradreg.errors import DataError, GradregError, InputFileError, ParameterError
        assert "sklearn" not in sys.modules, "imported with the errors"
        assert "NotFittedError" in dir(errors) and "ConvergenceWarning" in dir(errors)
        from gradreg.errors import NotFittedError
        import sklearn.exceptions
        assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)
        assert issubclass(errors.ConvergenceWarning, sklearn.exceptions.ConvergenceWarning)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_not_fitted_is_scikit_learns_not_fitted():
    with pytest.raises(sklearn.exceptions.NotFittedError) as caught:
        GDRegressor().predict(np.ones((2, 1)))
    assert isinstance(caught.value, errors.NotFittedError)
    assert isinstance(caught.value, gradreg.GradregError)
    # scikit-learn's bases, so that hasattr-style and ValueError-catching code keeps working
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, AttributeError)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(GDRegressor())


@pytest.mark.parametrize(
    ("name", "base"),
    [("NotFittedError", sklearn.exceptions.NotFittedError),
     ("ConvergenceWarning", sklearn.exceptions.ConvergenceWarning)],
)
def test_one_class_under_every_name(name, base):
    from gradreg import _sklearn_errors

    made = getattr(errors, name)
    assert made is getattr(gradreg, name) is getattr(_sklearn_errors, name)
    assert issubclass(made, base)
    assert made.__module__ == "gradreg.errors" and made.__qualname__ == name
    assert pickle.loads(pickle.dumps(made)) is made


def test_not_fitted_error_survives_pickling():
    error = errors.NotFittedError("This GDRegressor instance is not fitted yet.")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.NotFittedError and str(copy) == str(error)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError,
                       match="module 'gradreg.errors' has no attribute 'NotFitted'"):
        _ = errors.NotFitted
    assert set(errors.__all__) <= set(dir(errors))


def _every_error_class():
    found = []
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            found.append(value)
    return found


@pytest.mark.parametrize("cls", _every_error_class(), ids=lambda cls: cls.__name__)
def test_every_error_survives_pickling_in_a_fresh_process(cls):
    """Each error made as gradreg makes it reads back in another process with its type, its
    message and its fields (FitInterrupted was made again from its message as the epoch
    count: 'interrupted after interrupted after 3 epochs epochs')."""
    if cls is errors.FitInterrupted:
        error, fields = cls(3), {"epochs": 3}
    elif issubclass(cls, OSError):
        error, fields = cls(2, "cannot read 'x.csv'"), {"errno": 2}
    else:
        error, fields = cls("a message"), {}
    script = textwrap.dedent(f"""
        import pickle, sys
        error = pickle.loads({pickle.dumps(error)!r})
        print(type(error).__module__, type(error).__qualname__)
        print(str(error))
        print({{name: getattr(error, name) for name in {sorted(fields)!r}}})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    kind, message, read = result.stdout.splitlines()
    assert kind == f"gradreg.errors {cls.__qualname__}"
    assert message == str(error)
    assert read == repr(fields)
