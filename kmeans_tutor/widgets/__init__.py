"""Interactive apps for notebooks and Voilà lessons (ipywidgets 8 + ipympl).

Each app follows one pattern: a traitlets model with no widgets in it (the
state a test can drive), built on :mod:`.base`; a view that is an ipywidgets
container owning its children, with handlers wired in one place; figures from
:mod:`.figure`, created once. :mod:`.controls` holds the rows the apps share
(the data choice, the transport buttons), :mod:`.shared_styles` the one style of each kind
the widgets share, :mod:`.upload` the CSV upload row.
The apps: :mod:`.stepper`, :mod:`.compare`, :mod:`.challenge` (your own start
against k-means++ restarts), :mod:`.choose_k`,
:mod:`.segments`, :mod:`.quiz`, and :mod:`.quantise` (a photo in k colours).
Built on every other folder but the server.
"""
