"""The reference's warning categories and `deprecation_warning`'s message."""

from __future__ import annotations

import warnings

import pytest

import kubedag as dg


def test_the_categories_are_those_of_the_reference() -> None:
    assert issubclass(dg.BetaWarning, Warning)
    assert issubclass(dg.PreviewWarning, Warning)
    assert issubclass(dg.SupersessionWarning, FutureWarning)
    assert issubclass(dg.ConfigArgumentWarning, SyntaxWarning)
    assert not issubclass(dg.BetaWarning, DeprecationWarning)  # shown by default


def test_deprecation_warning_says_what_goes_away_and_when() -> None:
    with pytest.warns(DeprecationWarning) as caught:
        dg.deprecation_warning("old_function", "2.0", "Use new_function instead.")
    (record,) = caught
    assert str(record.message) == (
        "old_function is deprecated and will be removed in 2.0. Use new_function instead."
    )
    with pytest.warns(
        DeprecationWarning, match=r"^thing is deprecated and will be removed in 3\.0\.$"
    ):
        dg.deprecation_warning("thing", "3.0")


def _old_api() -> None:
    dg.deprecation_warning("_old_api", "2.0")  # stacklevel 3: the warning names our caller


def test_the_warning_points_at_the_line_that_used_the_deprecated_thing() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _old_api()
        line = _line_of_last_call()
    (record,) = caught
    assert record.filename == __file__
    assert record.lineno == line


def _line_of_last_call() -> int:
    import inspect

    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno - 1


def test_a_filter_on_a_category_silences_it() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        warnings.warn("beta thing", dg.BetaWarning, stacklevel=1)
        warnings.warn("preview thing", dg.PreviewWarning, stacklevel=1)
    assert [type(r.message) for r in caught] == [dg.PreviewWarning]
