"""One style per kind of widget and settings, and one layout per settings, shared by every
widget that has them.

Every ipywidgets control comes with a style of its own (an ``HTMLStyle`` for each ``HTML``,
a ``ButtonStyle`` for each ``Button`` …) and every widget with a ``Layout`` of its own, and
each is a model that the kernel opens and sends, the server passes on and the page builds
before it can draw the widget. Styles were a third of the models of a lesson's page, and
layouts, once styles were shared, almost half (144 of the 314 models of the apps of lessons
4 and 5), in 21 different settings. :func:`styled` makes a widget whose style is the one
shared style of its kind and settings, and whose layout is the one shared layout of its
settings (:func:`shared_layout`):

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

>>> d = styled(widgets.Button, description="step", layout={"width": "auto"})
>>> d.layout is styled(widgets.Button, layout={"width": "auto"}).layout
True
>>> set_display(d, "none")  # hidden: the shared layout of the same settings, hidden
>>> d.layout is shared_layout(width="auto", display="none"), d.layout.width
(True, 'auto')
>>> own_layout(d).width = "50%"  # any other change: a layout of its own
>>> d.layout is shared_layout(width="50%", display="none"), (d.layout.width, d.layout.display)
(False, ('50%', 'none'))

A shared style or layout never changes: not from Python (as above) and not from a page (a
crafted message is ignored), so no widget can restyle or hide another.
"""

from __future__ import annotations

import ipywidgets as widgets

from .sending import to_be_sent

__all__ = ["own_layout", "set_display", "shared_layout", "shared_style", "styled"]

_SHARED: dict[tuple, widgets.Widget] = {}
_FROZEN: dict[type, type] = {}


class _Frozen:
    """Mixin for a style or layout that widgets share: settings fixed at creation."""

    _kt_frozen = False
    _kt_keys: frozenset = frozenset()  # its synced traits, read before it is frozen

    def __setattr__(self, name, value):
        if self._kt_frozen and name in self._kt_keys:
            kind = "layout" if isinstance(self, widgets.Layout) else "style"
            fix = "set_display() or own_layout()" if kind == "layout" else "a style of its own"
            raise AttributeError(f"a shared {kind} cannot change ({name!r}): give the widget {fix}")
        super().__setattr__(name, value)

    def set_state(self, sync_data):
        """A page cannot change a shared style or layout either."""


def _frozen(kind: type) -> type:
    if kind not in _FROZEN:
        _FROZEN[kind] = type(f"Shared{kind.__name__}", (_Frozen, kind), {})
    return _FROZEN[kind]


def shared_style(kind: type, **settings) -> widgets.Widget:
    """The one style of class ``kind`` (e.g. ``widgets.HTMLStyle``) with these settings,
    made on first use (and again if it was closed)."""
    key = (kind, tuple(sorted(settings.items())))
    style = _SHARED.get(key)
    if style is None or (style.comm is None and not to_be_sent(style)):
        style = _frozen(kind)(**settings)
        style._kt_keys = frozenset(style.keys)
        style._kt_frozen = True
        _SHARED[key] = style
    return style


def shared_layout(**settings) -> widgets.Layout:
    """The one ``Layout`` with these settings (e.g. ``width="auto"``), made on first use."""
    return shared_style(widgets.Layout, **settings)


def _settings(layout: widgets.Layout) -> dict:
    return {name: value for name, value in layout.get_state().items()
            if not name.startswith("_") and value is not None}


def own_layout(widget: widgets.Widget) -> widgets.Layout:
    """``widget``'s layout, to change: first made its own, with the same settings, if it was
    a shared one."""
    layout = widget.layout
    if isinstance(layout, _Frozen):
        widget.layout = layout = widgets.Layout(**_settings(layout))
    return layout


def set_display(widget: widgets.Widget, display: str | None) -> None:
    """Show (``None``) or hide (``"none"``) ``widget``. A widget with a shared layout takes
    the shared layout of the same settings with this display (no new model once both
    exist); one with a layout of its own has it changed."""
    layout = widget.layout
    if layout.display == display:
        return
    if isinstance(layout, _Frozen):
        settings = {**_settings(layout), "display": display}
        widget.layout = shared_layout(**{k: v for k, v in settings.items() if v is not None})
    else:
        layout.display = display


def styled(kind: type, *args, style: dict | None = None, layout: dict | widgets.Layout | None = None,
           **kwargs) -> widgets.Widget:
    """``kind(*args, **kwargs)`` with the shared style of its kind and ``style`` settings, and
    the shared layout of the ``layout`` settings (none: the empty layout). A ``Layout``
    given is the widget's own."""
    style_class = kind.class_traits()["style"].klass
    if not isinstance(layout, widgets.Layout):
        layout = shared_layout(**(layout or {}))
    return kind(*args, style=shared_style(style_class, **(style or {})), layout=layout, **kwargs)
