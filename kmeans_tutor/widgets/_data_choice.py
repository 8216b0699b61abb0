"""One row of controls to choose the data: data set, two Mall columns, scaling.

Shared by the apps. The row is linked both ways to any traitlets model with
the traits ``dataset`` (str), ``features`` (tuple of two column names) and
``scaled`` (bool), such as :class:`~kmeans_tutor.widgets.models.StepperModel`:
a widget change sets the model, a model change (from code, or from another
widget) moves the widgets. If the model has a ``hold()`` context manager the
row uses it, so that one choice restarts the model once.

>>> from kmeans_tutor.widgets.models import StepperModel
>>> model = StepperModel()
>>> row = DataChoice(model)
>>> row._dataset.value = "rings"
>>> model.dataset, model.feature_names
('rings', ('x', 'y'))
"""

from __future__ import annotations

import contextlib
import html

import ipywidgets as widgets
import traitlets

from .models import DEFAULT_FEATURES, MALL_FEATURES, UPLOAD, dataset_choices

__all__ = ["DataChoice"]

_HIDDEN = "none"


class DataChoice(widgets.HBox):
    """Data set dropdown, the two Mall columns (x, y) and a "standardise" box.

    Parameters
    ----------
    model : HasTraits
        Has ``dataset``, ``features`` (pair) and ``scaled`` traits.
    mall_features : sequence of str, default=MALL_FEATURES
        The Mall columns offered in the x and y dropdowns.
    scale_synthetic : bool, default=False
        Whether the "standardise" box also applies to the synthetic data sets.
        When False (the stepper and compare apps: synthetic sets are already
        in comparable units) the box is hidden while one is chosen.
    datasets : list of (label, name), optional
        Default: Mall Customers and every synthetic set
        (:func:`~kmeans_tutor.widgets.models.dataset_choices`).

    Notes
    -----
    Choosing for x the column that y shows (or the reverse) swaps the two, so
    the row can never ask for the same column twice.

    Uploaded data: when the model has an ``uploaded`` DataFrame (see
    :meth:`~kmeans_tutor.widgets.models.DataModel.use_upload`), a "Your CSV"
    entry (value "upload") joins the data set dropdown and, while it is
    chosen, the x and y dropdowns offer the file's columns. The row remembers
    the columns chosen for Mall and for the file, so switching back and forth
    keeps both. Errors the model raises
    (a traitlets ``TraitError`` or ``ValueError``) are shown under the row,
    never raised from the handler.
    """

    def __init__(self, model, *, mall_features=MALL_FEATURES, scale_synthetic=False, datasets=None,
                 **kwargs):
        kwargs.setdefault("layout", widgets.Layout(flex_flow="row wrap", align_items="center"))
        super().__init__(**kwargs)
        self.model = model
        self._scale_synthetic = bool(scale_synthetic)
        self._syncing = False
        options = list(datasets) if datasets is not None else dataset_choices()
        self._base_options = options
        self._mall_features = tuple(mall_features)
        self._remembered = {"mall": tuple(model.features) if model.dataset == "mall" else DEFAULT_FEATURES}
        options = self._dataset_options()
        known = model.dataset in {name for _, name in options}  # else blank; the model explains
        self._dataset = widgets.Dropdown(options=options, value=model.dataset if known else None,
                                         description="Data",
                                         style={"description_width": "initial"},
                                         layout=widgets.Layout(width="250px"))
        x, y = model.features
        cols = list(self._columns_for(model.dataset))
        narrow = dict(style={"description_width": "initial"}, layout=widgets.Layout(width="235px"))
        self._x = widgets.Dropdown(options=cols, value=x if x in cols else cols[0], description="x",
                                   **narrow)
        self._y = widgets.Dropdown(options=cols, value=y if y in cols else cols[1], description="y",
                                   **narrow)
        self._scaled = widgets.Checkbox(value=model.scaled, description="standardise (z-scores)",
                                        indent=False, layout=widgets.Layout(width="auto"))
        self._error = widgets.HTML(layout=widgets.Layout(display=_HIDDEN))
        self.children = [self._dataset, self._x, self._y, self._scaled, self._error]
        self._show_for(model.dataset)
        self._wire()

    # --- wiring ---------------------------------------------------------------------------
    def _wire(self):
        """Widgets → model and model → widgets, in one place."""
        self._dataset.observe(self._on_dataset, names="value")
        self._x.observe(self._on_feature, names="value")
        self._y.observe(self._on_feature, names="value")
        self._scaled.observe(self._on_scaled, names="value")
        self.model.observe(self._on_model, names=["dataset", "features", "scaled"])
        if self.model.has_trait("uploaded"):
            self.model.observe(self._on_upload, names=["uploaded", "uploaded_name"])

    @contextlib.contextmanager
    def _quiet(self):
        """Move widgets from code without the move reaching the model again."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _set(self, **values):
        """Set model traits in one batch; a refusal is shown, not raised."""
        hold = getattr(self.model, "hold", None)
        try:
            with (hold() if callable(hold) else contextlib.nullcontext()):
                for name, value in values.items():
                    setattr(self.model, name, value)
        except (traitlets.TraitError, ValueError, TypeError) as exc:
            self._show_error(str(exc))
            self._on_model(None)  # put the widgets back to what the model holds
            return
        self._show_error("")

    def _on_dataset(self, change):
        if self._syncing:
            return
        new, old = change["new"], self.model.dataset
        if new in self._remembered and new != old:
            # Mall and the uploaded file have their own columns: restore the pair chosen before.
            if old in self._remembered:
                self._remembered[old] = tuple(self.model.features)
            self._set(dataset=new, features=self._remembered[new])
        else:
            self._set(dataset=new)
        self._show_for(self.model.dataset)

    def _on_feature(self, change):
        if self._syncing:
            return
        x, y = self._x.value, self._y.value
        if x == y:  # the learner picked the other axis' column: swap the two
            old = change["old"]
            with self._quiet():
                if change["owner"] is self._x:
                    self._y.value = old
                else:
                    self._x.value = old
            x, y = self._x.value, self._y.value
        self._set(features=(x, y))

    def _on_scaled(self, change):
        if not self._syncing:
            self._set(scaled=bool(change["new"]))

    def _on_upload(self, change):
        """A new file: offer it in the data set dropdown, with its columns."""
        m = self.model
        self._remembered.pop(UPLOAD, None)
        if m.uploaded is not None:
            cols = tuple(map(str, m.uploaded.columns))
            feats = tuple(m.features)
            self._remembered[UPLOAD] = feats if set(feats) <= set(cols) and len(feats) == 2 else cols[:2]
        with self._quiet():
            self._dataset.options = self._dataset_options()
            self._dataset.value = (m.dataset if m.dataset in {v for _, v in self._dataset.options}
                                   else None)
        self._on_model(None)

    def _on_model(self, change):
        m = self.model
        with self._quiet():
            if m.dataset in {v for _, v in self._dataset.options}:
                self._dataset.value = m.dataset
            cols = list(self._columns_for(m.dataset))
            if list(self._x.options) != cols and len(cols) >= 2:
                self._x.options = self._y.options = cols
            if m.dataset in self._remembered and set(m.features) <= set(cols):
                self._remembered[m.dataset] = tuple(m.features)
            x, y = tuple(m.features)[:2] if len(m.features) >= 2 else (None, None)
            if x in self._x.options and y in self._y.options:
                self._x.value, self._y.value = x, y
            self._scaled.value = bool(m.scaled)
        self._show_for(m.dataset)

    # --- helpers --------------------------------------------------------------------------
    def _dataset_options(self) -> list:
        """The data sets offered: the given ones, plus "Your CSV" once a file is loaded."""
        options = list(self._base_options)
        if getattr(self.model, "uploaded", None) is not None:
            name = str(getattr(self.model, "uploaded_name", "") or "")
            short = name if len(name) <= 30 else name[:27] + "…"
            # A Dropdown label is plain text in the browser, never HTML.
            options.append((f"Your CSV: {short}" if short else "Your CSV", UPLOAD))
        return options

    def _columns_for(self, dataset) -> tuple:
        """The columns the x and y dropdowns offer for a data set."""
        if dataset == UPLOAD and getattr(self.model, "uploaded", None) is not None:
            return tuple(map(str, self.model.uploaded.columns))
        return self._mall_features

    def _show_for(self, dataset):
        """Column dropdowns only for Mall and an uploaded file; the scaling box where it applies."""
        mall = dataset in ("mall", UPLOAD)
        self._x.layout.display = self._y.layout.display = None if mall else _HIDDEN
        self._scaled.layout.display = None if (mall or self._scale_synthetic) else _HIDDEN

    def _show_error(self, text):
        self._error.value = (f"<span style='color:#b00020'>⚠ {html.escape(text)}</span>"
                             if text else "")
        self._error.layout.display = None if text else _HIDDEN

    @property
    def error(self) -> str:
        """The last refusal shown under the row ("" when none)."""
        return self._error.value

    def set_disabled(self, disabled: bool):
        """Grey out every control (e.g. while a long computation runs)."""
        for w in (self._dataset, self._x, self._y, self._scaled):
            w.disabled = bool(disabled)
