"""Small pieces the widget apps share: message HTML and batched model updates."""

from __future__ import annotations

import contextlib
import html


def warning_html(text: str) -> str:
    """A problem the learner must fix, as escaped HTML."""
    return f"<span style='color:#b00020'>⚠ {html.escape(text)}</span>"


def info_html(text: str) -> str:
    """What to do next, as escaped HTML."""
    return f"<span style='color:#0b5394'>➜ {html.escape(text)}</span>"


@contextlib.contextmanager
def batched(model, then):
    """Let ``model`` take several input changes, then call ``then()`` once.

    The model counts open batches in ``model._holding`` (its observers skip
    work while it is non-zero). Nested batches call ``then`` only when the
    outermost one ends; a batch that raises calls nothing.
    """
    model._holding += 1
    try:
        yield model
    except BaseException:
        model._holding -= 1
        raise
    model._holding -= 1
    if model._holding == 0:
        then()
