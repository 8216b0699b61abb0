"""Each widget of an app is sent to the page once, as the app is when it is built.

ipywidgets sends a widget's model to the page as soon as the widget is created (a
``comm_open`` with its state), then a message for every later change of what the page shows.
An app is built in small steps after its widgets exist: classes added, children set, texts
filled in, buttons disabled, a canvas told to show no toolbar. Each step was a message of its
own: lesson 4's apps sent 125 updates (and 14 canvas messages) beside their 169 models as
the lesson ran, before any student had seen them. Each is sent by the kernel, passed on by the server (for every student of a
class) and handled by the page.

:func:`sent_when_built` (on an app's ``__init__``) holds back the models of the widgets
created while the app is built. When it is built, or fails to build, each is sent once, with
its state as it is then, and every widget before any widget that refers to it (a box after
its children), the order in which ipywidgets itself sends them. Changes made after that, and
widgets made outside an app, are sent as ipywidgets always does:

>>> import ipywidgets as widgets
>>> class Card(widgets.VBox):
...     @sent_when_built
...     def __init__(self):
...         super().__init__()
...         self.label = widgets.Label("first")
...         self.label.value = "then"
...         self.children = [self.label]
...         self.add_class("kt-card")
...         assert self.comm is None and self.label.comm is None  # nothing sent yet
>>> card = Card()
>>> card.comm is not None and card.label.comm is not None
True
>>> card.get_state()["_dom_classes"], card.label.get_state()["value"]
(('kt-card',), 'then')

A kernel builds one thing at a time, so one module-level list is enough; apps built inside
another app's ``__init__`` are sent when the outer one is built.
"""

from __future__ import annotations

import functools

import ipywidgets as widgets

__all__ = ["sent_when_built", "to_be_sent"]

_held: list[widgets.Widget] | None = None  # created while an app is built, not yet sent
_held_ids: set[int] = set()
_depth = 0  # how many apps are being built, one inside another
_open = widgets.Widget.open  # ipywidgets' own: creates the comm, which sends the model


def _open_when_built(self) -> None:
    if _held is not None and self.comm is None:
        _held.append(self)
        _held_ids.add(id(self))
    else:
        _open(self)


def to_be_sent(widget: widgets.Widget) -> bool:
    """Whether ``widget`` was created while an app is being built, and is sent when it is
    built (its ``comm`` is None until then, as a closed widget's is)."""
    return _held is not None and id(widget) in _held_ids


def _referred_to(value, found: list) -> None:
    """The widgets in a trait's value (a widget, or lists, tuples and dicts of them)."""
    if isinstance(value, widgets.Widget):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _referred_to(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _referred_to(item, found)


def _send(widget: widgets.Widget, sending: set) -> None:
    """Open ``widget``'s comm, after those of the widgets its state refers to."""
    if widget.comm is not None or id(widget) in sending:
        return
    sending.add(id(widget))
    found: list = []
    for name in widget.keys:
        _referred_to(getattr(widget, name, None), found)
    for other in found:
        _send(other, sending)
    _open(widget)


def sent_when_built(init):
    """Decorate an app's ``__init__`` (or a function that builds widgets): the widgets it
    creates are sent when it returns (or raises), each once, as it is then (see the module
    docstring)."""

    @functools.wraps(init)
    def build(*args, **kwargs):
        global _held, _depth
        if _depth == 0:
            _held = []
            widgets.Widget.open = _open_when_built
        _depth += 1
        try:
            return init(*args, **kwargs)
        finally:
            _depth -= 1
            if _depth == 0:
                held, _held = _held, None
                _held_ids.clear()
                widgets.Widget.open = _open
                sending: set = set()
                for widget in held:
                    _send(widget, sending)

    return build
