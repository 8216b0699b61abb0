"""Interactive apps for notebooks and Voilà lessons (ipywidgets 8 + ipympl).

Each app follows one pattern: a traitlets model with no widgets in it (the
state a test can drive), a view that is an ipywidgets container owning its
children, and handlers wired in one place.
"""
