"""Pictures (matplotlib): steps, seeding, inertia, the analysis plots, animations.

Every view is built once on an Axes and then only updates its artists from
what it is given — a step, a table, silhouettes — so it never computes the
algorithm's numbers itself: :mod:`.step_views` (a step, a seeding pick, the
inertia staircase), :mod:`.composite` (the one picture of any step that the
apps and the exports share), :mod:`.analysis` (exploring the data, choosing
k, reading profiles), :mod:`.animation` (GIF, MP4, HTML) and :mod:`.palette`
(a colour and a marker per cluster). Built on :mod:`kmeans_tutor.core` and
:mod:`kmeans_tutor.data`.
"""

from .animation import animate, save_animation
from .composite import StepPicture
from .step_views import InertiaView, Projection, SeedingView, StepView, data_limits

__all__ = ["StepView", "SeedingView", "InertiaView", "StepPicture", "Projection", "data_limits",
           "animate", "save_animation"]
