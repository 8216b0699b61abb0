"""The one picture of a step, shared by the stepper, the compare app and the exports.

:class:`StepPicture` puts a :class:`~kmeans_tutor.views.step_views.StepView`
(points by cluster, centres, their moves, the points that changed) and a
:class:`~kmeans_tutor.views.step_views.SeedingView` on the same Axes. While a
k-means++ or farthest-point pick is on screen, the points are shaded by their
chance of being picked (or their distance) and the title says how to read the
shading; every other step shows the points by cluster. The first k-means++
pick is uniform, so it is drawn like a random pick: plain grey points.

Because the app and the animation export both draw with this class, a frame
of a GIF and the same step in the app are the same drawing.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from matplotlib.figure import Figure
>>> from kmeans_tutor import run_kmeans
>>> X = [[1, 1], [1, 2], [2, 1], [8, 8], [9, 8], [8, 9]]
>>> picture = StepPicture(X, 2, ax=Figure().subplots(), title="six points")
>>> for step in run_kmeans(X, 2, random_state=0):
...     _ = picture.draw(step)
>>> picture.sentence
'Converged after 2 iterations: no point changed cluster; final inertia 2.667.'
"""

from __future__ import annotations

from matplotlib.lines import Line2D

from ..core.steps import SeedStep, Step
from .palette import OKABE_ITO
from .step_views import SeedingView, StepView

__all__ = ["StepPicture", "SEEDING_HINTS"]

#: What the title says while a seeding pick is shaded, by seeding method.
SEEDING_HINTS = {
    "k-means++": "Seeding: darker, larger = likelier pick",
    "farthest": "Seeding: darker = farther from the centres",
}
_MAX_SHADED = 5_000  # points shaded during seeding (a scatter: slow beyond this)


def shades(step: Step) -> bool:
    """Whether a step is drawn with the points shaded by their chance of being
    picked: a k-means++ or farthest-point pick after the first."""
    values, _ = SeedingView.shading(step)
    return values is not None and isinstance(step, SeedStep) and step.center_index > 0


class StepPicture:
    """Any step of a run on one Axes: the clusters, or a seeding pick shaded.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data the run was made on.
    n_clusters : int
    ax : matplotlib Axes, optional
    title : str, default=""
        The title while no seeding pick is shaded.
    legend : {"right", "inside"}, other matplotlib ``loc``, or None
    feature_names, projection, features, voronoi, limits, greyscale, density_threshold, equal_aspect
        As for :class:`~kmeans_tutor.views.step_views.StepView`.
    shade_seeding : bool, default=True
        Shade k-means++ and farthest-point picks; False draws plain grey points.
    max_shaded : int, default=5_000
        Above this many points, a fixed random subset is shaded.

    Attributes
    ----------
    view : StepView
    seeding : SeedingView or None
    shaded : bool
        Whether the step drawn last was shown shaded.
    """

    def __init__(self, X, n_clusters, *, ax=None, title="", legend="right", feature_names=None,
                 projection=None, features=(0, 1), voronoi=False, limits=None, greyscale=False,
                 density_threshold=100_000, equal_aspect=True, shade_seeding=True,
                 max_shaded=_MAX_SHADED):
        self.view = StepView(X, n_clusters, ax=ax, features=features, projection=projection,
                             feature_names=feature_names, voronoi=voronoi, limits=limits,
                             greyscale=greyscale, density_threshold=density_threshold,
                             show_caption=False, equal_aspect=equal_aspect)
        self.seeding = None
        extra = []
        if shade_seeding:
            self.seeding = SeedingView(self.view.X, ax=self.view.ax, projection=self.view.projection,
                                       n_clusters=n_clusters, show_caption=False, show_centers=False,
                                       limits=self.view.limits, max_points=max_shaded,
                                       greyscale=greyscale, equal_aspect=equal_aspect)
            self.seeding.set_visible(False)
            extra.append(Line2D([], [], ls="none", marker="o", ms=7, mfc=OKABE_ITO["vermillion"],
                                mec="none", label="seeding: darker, larger =\nlikelier pick"))
        self.title = title
        self.shaded = False
        self.view.finalize(title=title, legend=legend, extra_handles=extra)
        self._title_size = self.ax.title.get_fontsize()

    @property
    def ax(self):
        return self.view.ax

    @property
    def limits(self):
        return self.view.limits

    @property
    def projection(self):
        return self.view.projection

    @property
    def sentence(self) -> str:
        """The step's sentence (``describe()``, plus notes on what is shown)."""
        return self.view.sentence

    @property
    def artists(self) -> list:
        """What changes from one step to the next (for blitting)."""
        out = list(self.view.artists)
        if self.seeding is not None:
            out += self.seeding.artists
        return out + [self.ax.title]

    def contains(self, event) -> bool:
        """Whether a mouse event happened on this picture's data area."""
        return event.inaxes is self.ax and event.xdata is not None and event.ydata is not None

    def draw(self, step: Step) -> list:
        """Show one step; returns the artists it changed."""
        shade = self.seeding is not None and shades(step)
        if shade != self.shaded:
            self.seeding.set_visible(shade)
            self.view.set_points_visible(not shade)
            self.shaded = shade
        if shade:
            self.seeding.draw(step)
            self.ax.set_title(SEEDING_HINTS[step.method], fontsize=self._title_size)
        else:
            self.ax.set_title(self.title, fontsize=self._title_size)
        self.view.draw(step)
        return self.artists
