"""Suggestions for misspelled names ("did you mean ...?"), and how a wrong value is shown, for
error messages.

A typo in a config key (`run_cordinator`), an op name or a time zone (`Europe/Londn`) should be
answered with the name the user meant, not only with the list of every valid name. This module
is pure and needs only `difflib`, so every layer (instance config, run config, cron and time
zones) can use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# difflib's similarity ratio a suggestion needs: 0.6 (its default) pairs `strage` with
# `storage` and `Europe/Londn` with `Europe/London`, but not `Mars/Olympus` with anything.
_CUTOFF = 0.6


def closest_name(word: str, known: Iterable[str]) -> str | None:
    """The known name closest to `word`, or None when none is close.

    A name that differs only by case wins outright (`utc` → `UTC`), then difflib's best match."""
    import difflib  # only when a message needs it: keeps `import kubedag` light

    names = [name for name in known if isinstance(name, str)]
    folded = word.casefold()
    for name in names:
        if name.casefold() == folded:
            return name
    by_folded: dict[str, str] = {}
    for name in names:
        by_folded.setdefault(name.casefold(), name)
    matches = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=_CUTOFF)
    return by_folded[matches[0]] if matches else None


def did_you_mean(word: object, known: Iterable[str]) -> str:
    """` Did you mean 'x'?` (with its leading space) to append to a message, or `""`."""
    if not isinstance(word, str):
        return ""
    match = closest_name(word, known)
    return f" Did you mean '{match}'?" if match is not None and match != word else ""


_SECRET_WORDS = ("password", "secret", "token", "credential", "api_key")
_SHOWN_LENGTH = 60


def shown_value(field: str, value: Any) -> str:
    """A wrong value as a message shows it: its type and a short repr, or its type alone when
    the field's name says it may hold a secret or the value is long."""
    kind = type(value).__name__
    last = field.rsplit(".", 1)[-1].lower()
    if any(word in last for word in _SECRET_WORDS):
        return f"{kind} (value not shown)"
    text = repr(value)
    if len(text) > _SHOWN_LENGTH:
        return f"{kind} of {len(text):,} characters"
    return f"{kind} {text}"
