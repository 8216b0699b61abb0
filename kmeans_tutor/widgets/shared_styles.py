"""One style per kind of widget and settings, shared by every widget that has it.

Every ipywidgets control comes with a style of its own (an ``HTMLStyle`` for each ``HTML``,
a ``ButtonStyle`` for each ``Button`` …), and each style is a model that the kernel opens
and the page builds before it can draw the widget: a third of the models of a lesson's
page, almost all of them the same few settings. :func:`styled` makes a widget whose style is
the one shared style of its kind and settings:

>>> import ipywidgets as widgets
>>> a = styled(widgets.HTML, "<b>one</b>")
>>> b = styled(widgets.HTML, value="<b>two</b>")
>>> a.style is b.style, a.value
(True, '<b>one</b>')
>>> c = styled(widgets.IntSlider, description="k", style={"description_width": "initial"})
>>> c.style is styled(widgets.IntSlider, style={"description_width": "initial"}).style
True
>>> c.style.description_width = "90px"
Traceback (most recent call last):
...
AttributeError: a shared style cannot change ('description_width'): give the widget a style of its own

A shared style never changes: not from Python (as above) and not from a page (a crafted
message is ignored), so no widget can restyle another.
"""

from __future__ import annotations

import ipywidgets as widgets

__all__ = ["styled", "shared_style"]

_SHARED: dict[tuple, widgets.Widget] = {}
_FROZEN: dict[type, type] = {}


class _Frozen:
    """Mixin for a style that widgets share: settings fixed at creation."""

    _kt_frozen = False

    def __setattr__(self, name, value):
        if self._kt_frozen and name in self.keys:
            raise AttributeError(f"a shared style cannot change ({name!r}): give the widget a style "
                                 f"of its own")
        super().__setattr__(name, value)

    def set_state(self, sync_data):
        """A page cannot change a shared style either."""


def _frozen(kind: type) -> type:
    if kind not in _FROZEN:
        _FROZEN[kind] = type(f"Shared{kind.__name__}", (_Frozen, kind), {})
    return _FROZEN[kind]


def shared_style(kind: type, **settings) -> widgets.Widget:
    """The one style of class ``kind`` (e.g. ``widgets.HTMLStyle``) with these settings,
    made on first use (and again if it was closed)."""
    key = (kind, tuple(sorted(settings.items())))
    style = _SHARED.get(key)
    if style is None or style.comm is None:
        style = _frozen(kind)(**settings)
        style._kt_frozen = True
        _SHARED[key] = style
    return style


def styled(kind: type, *args, style: dict | None = None, **kwargs) -> widgets.Widget:
    """``kind(*args, **kwargs)`` with the shared style of its kind and ``style`` settings."""
    style_class = kind.class_traits()["style"].klass
    return kind(*args, style=shared_style(style_class, **(style or {})), **kwargs)
