"""A K-means run as an animation: one frame per step, for slides and hand-outs.

:func:`animate` lays out a :class:`~kmeans_tutor.views.composite.StepPicture`
(the points, centres and what each step changed; during seeding the points
shaded by their chance of being picked) beside an
:class:`~kmeans_tutor.views.step_views.InertiaView` (the inertia staircase with
a cursor) and plays the run's steps through their ``draw`` methods — nothing is
re-plotted and nothing is re-computed per frame. The stepper app draws the
same StepPicture, so a frame here is the picture a learner saw in the app.

:func:`save_animation` writes it as a GIF (Pillow, no ffmpeg needed), an MP4
(ffmpeg from the optional ``imageio-ffmpeg`` package:
``pip install "kmeans-tutor[mp4]"``) or a self-contained HTML player.

Examples
--------
>>> from kmeans_tutor import run_kmeans
>>> from kmeans_tutor.animation import animate, save_animation
>>> X = [[1, 1], [1, 2], [2, 1], [8, 8], [9, 8], [8, 9]]
>>> trace = run_kmeans(X, 2, random_state=0)
>>> anim = animate(trace, X, fps=2)
>>> len(anim.steps) == len(trace)
True
>>> save_animation(anim, "kmeans.gif")          # doctest: +SKIP
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.animation import Animation, FFMpegWriter, FuncAnimation, HTMLWriter, PillowWriter
from matplotlib.figure import Figure

from ..core.lloyd import KMeansRun
from ..core.steps import as_steps
from ..core.trace import Trace
from ..core.validation import check_array
from .composite import StepPicture
from .step_views import InertiaView, Projection, data_limits

__all__ = ["animate", "save_animation", "StepAnimation", "SUPPORTED_FORMATS"]

#: File suffix → what is written.
SUPPORTED_FORMATS = {
    ".gif": "animated GIF (Pillow)",
    ".mp4": "H.264 video (ffmpeg from imageio-ffmpeg)",
    ".html": "self-contained HTML player (frames embedded)",
}

#: Frames embedded in an HTML file may total this many MB (matplotlib's
#: default of 20 MB silently drops frames beyond it).
HTML_EMBED_LIMIT_MB = 500.0

MP4_HINT = 'Saving MP4 needs ffmpeg from the optional extra: pip install "kmeans-tutor[mp4]"'


class StepAnimation(FuncAnimation):
    """A :class:`~matplotlib.animation.FuncAnimation` with one frame per step.

    Built by :func:`animate`. Besides the usual animation methods it keeps
    what it shows and how.

    Attributes
    ----------
    steps : list of Step
    fps : float
    dpi : float
    picture : StepPicture
    inertia_view : InertiaView or None
    caption : Text or None
        The step's description, across the top of the figure.
    """

    def __init__(self, fig, steps, picture, inertia_view, *, fps, dpi, repeat, caption=None):
        self.steps = steps
        self.caption = caption
        self.fps = float(fps)
        self.dpi = float(dpi)
        self.picture = picture
        self.inertia_view = inertia_view
        if caption is not None:
            width_pt = fig.get_figwidth() * 72 * 0.97
            self._caption_chars = max(30, int(width_pt / (0.56 * caption.get_fontsize())))
        super().__init__(fig, self.draw_step, frames=len(steps), init_func=self._init,
                         interval=1000.0 / self.fps, repeat=repeat, cache_frame_data=False)

    def _init(self):
        self.draw_step(0)
        return []

    def draw_step(self, i: int):
        """Show step number i on every view (the frame function)."""
        step = self.steps[i]
        self.picture.draw(step)
        if self.inertia_view is not None:
            self.inertia_view.draw(step)
        if self.caption is not None:
            self.caption.set_text(textwrap.fill(self.picture.sentence, width=self._caption_chars))
        # Nothing for FuncAnimation to hide between frames: the views manage visibility.
        return []

    def save_as(self, path, *, fps=None, dpi=None, progress="auto") -> Path:
        """Same as :func:`save_animation` (format from the suffix)."""
        return save_animation(self, path, fps=fps, dpi=dpi, progress=progress)

    def _repr_html_(self):
        # Shown inline in a notebook even with matplotlib's default rc ("none").
        if mpl.rcParams["animation.html"] == "none":
            return self.to_jshtml()
        return super()._repr_html_()


def _unpack(obj, X):
    """Steps, data, feature names and run settings from whatever was given."""
    names, params = None, {}
    if isinstance(obj, KMeansRun):
        if X is None:
            X = obj.X
        names, params = obj.feature_names, obj.params
        steps = list(obj)
    elif isinstance(obj, Trace):
        names, params = obj.feature_names, obj.params
        steps = list(obj)
    else:
        steps = as_steps(obj)
    if not steps:
        raise ValueError("There are no steps to animate (the run or trace is empty or already consumed).")
    if X is None:
        raise ValueError("animate() needs the data X to draw the points: pass it as animate(trace, X). "
                         "A Trace records the steps, not the data.")
    X, df_names = check_array(X, min_samples=1)
    if names is None:
        names = df_names
    return steps, X, names, params


def _default_title(params: dict, k: int) -> str:
    init = params.get("init")
    seed = params.get("random_state")
    parts = [f"K-means, k = {k}"]
    if init:
        parts.append(f"{init} start")
    if seed is not None:
        parts.append(f"seed {seed}")
    return " · ".join(parts)


def animate(steps_or_trace, X=None, *, fps=4, dpi=80, figsize=(9, 4.5), voronoi=False, inertia=True,
            features=(0, 1), projection=None, feature_names=None, seeding="shaded", greyscale=False,
            density_threshold=100_000, log=False, title=None, repeat=True, fig=None) -> StepAnimation:
    """Animate a K-means run, one frame per step.

    Parameters
    ----------
    steps_or_trace : Trace, KMeansRun or sequence of Step
        The run. A :class:`~kmeans_tutor.core.lloyd.KMeansRun` is consumed and
        brings its own X.
    X : array-like or DataFrame of shape (n_samples, n_features), optional
        The data the run was made on; required unless a KMeansRun is given.
    fps : float, default=4
        Frames (steps) per second.
    dpi : float, default=80
        Resolution of the figure and of exported frames.
    figsize : (float, float), default=(9, 4.5)
        Inches.
    voronoi : bool, default=False
        Tint the nearest-centre regions.
    inertia : bool, default=True
        Show the inertia staircase beside the points.
    features, projection, feature_names, greyscale, density_threshold
        As for :class:`~kmeans_tutor.views.StepView`.
    seeding : {"shaded", "plain"}, default="shaded"
        "shaded": during k-means++ / farthest seeding, points are shaded and
        sized by their chance (or distance) of being picked; "plain": grey
        points with the pick ringed.
    log : bool, default=False
        Logarithmic inertia axis.
    title : str, optional
        Title above the points; default names k, the start and the seed.
    repeat : bool, default=True
        Loop when played.
    fig : Figure, optional
        Draw on this (empty) figure, e.g. ``plt.figure()`` for a live window;
        by default a figure outside pyplot, so nothing extra is displayed or
        kept alive by pyplot.

    Returns
    -------
    anim : StepAnimation
        A FuncAnimation with ``len(anim.steps)`` frames.

    Examples
    --------
    >>> from kmeans_tutor import kmeans_steps
    >>> anim = animate(kmeans_steps([[0, 0], [0, 1], [5, 5], [5, 6]], 2, random_state=0))
    >>> anim.steps[-1].phase
    'converged'
    """
    if seeding not in ("shaded", "plain"):
        raise ValueError(f"seeding must be 'shaded' or 'plain'; got {seeding!r}.")
    if not fps or fps <= 0:
        raise ValueError(f"fps must be positive; got {fps!r}.")
    steps, X, names, params = _unpack(steps_or_trace, X)
    if feature_names is not None:
        names = feature_names
    k = int(params.get("n_clusters") or max(s.n_clusters for s in steps))

    own_figure = fig is None
    if own_figure:
        fig = Figure(figsize=figsize, dpi=dpi)
    else:
        fig.set_size_inches(figsize)
        fig.set_dpi(dpi)
    if inertia:
        ax, ax_inertia = fig.subplots(1, 2, width_ratios=[1.45, 1])
    else:
        ax, ax_inertia = fig.subplots(), None

    # One projection and one set of limits for every view, covering every centre
    # of the run (a hand-placed centre may start outside the data).
    proj = projection if isinstance(projection, Projection) else Projection(
        X, features=features, projection=projection, feature_names=names)
    xy = proj.transform(X)
    centres = proj.transform(np.vstack([s.centers for s in steps]))
    limits = data_limits(xy, centres)

    picture = StepPicture(X, k, ax=ax, projection=proj, voronoi=voronoi, limits=limits,
                          density_threshold=density_threshold, greyscale=greyscale,
                          title=title if title is not None else _default_title(params, k),
                          shade_seeding=seeding == "shaded")
    inertia_view = None
    if ax_inertia is not None:
        inertia_view = InertiaView(steps, ax=ax_inertia, log=log).finalize()

    # The step's sentence runs across the top of the figure, above both panels,
    # so that it never hides a point; the layout keeps a band of three lines for it.
    fontsize = 9.0
    caption = fig.text(0.01, 0.985, "", ha="left", va="top", fontsize=fontsize)
    band = (3 * 1.3 * fontsize + 6) / (fig.get_figheight() * 72)
    anim = StepAnimation(fig, steps, picture, inertia_view, fps=fps, dpi=dpi,
                         repeat=repeat, caption=caption)
    if own_figure:
        # matplotlib warns when an animation is garbage-collected unplayed, to catch
        # pyplot figures that vanished; ours lives outside pyplot, so that is fine.
        anim._draw_was_started = True
    anim.draw_step(0)
    # Lay out once, with the legend in place; frames never change the layout.
    # Then drop the layout engine: tight_layout() leaves a placeholder engine
    # that makes every savefig() draw the whole figure twice.
    fig.tight_layout(rect=(0, 0, 1, 1 - band))
    fig.set_layout_engine(None)
    return anim


def _writer(suffix: str, fps: float, anim):
    """The matplotlib writer for a suffix (and an rc context it needs)."""
    if suffix == ".gif":
        return PillowWriter(fps=fps), {}
    if suffix == ".mp4":
        try:
            import imageio_ffmpeg  # the optional "mp4" extra: only needed here
        except ImportError:
            raise ImportError(MP4_HINT) from None
        try:
            exe = imageio_ffmpeg.get_ffmpeg_exe()
        except RuntimeError as exc:
            raise ImportError(f"{MP4_HINT} (imageio-ffmpeg found no ffmpeg binary: {exc})") from None
        return FFMpegWriter(fps=fps, codec="h264"), {"animation.ffmpeg_path": exe}
    default_mode = "loop" if getattr(anim, "_repeat", True) else "once"
    return HTMLWriter(fps=fps, embed_frames=True, default_mode=default_mode,
                      embed_limit=HTML_EMBED_LIMIT_MB), {}


def save_animation(anim_or_trace, path, *, fps=None, dpi=None, progress="auto", X=None,
                   **animate_kwargs) -> Path:
    """Write an animation to a file; the format comes from the suffix.

    Parameters
    ----------
    anim_or_trace : Animation, Trace, KMeansRun or sequence of Step
        An animation (e.g. from :func:`animate`), or a run to animate first
        (then ``X`` and ``animate_kwargs`` are passed to :func:`animate`).
    path : str or Path
        ``.gif`` (Pillow), ``.mp4`` (needs ``pip install "kmeans-tutor[mp4]"``)
        or ``.html`` (a self-contained player with every frame embedded).
    fps, dpi : float, optional
        Default: the animation's own.
    progress : bool or "auto", default="auto"
        A tqdm progress bar; "auto" shows it for 20 frames or more.

    Returns
    -------
    path : Path

    Raises
    ------
    ValueError
        An unsupported suffix (the message lists the supported ones).
    ImportError
        ``.mp4`` without imageio-ffmpeg installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        supported = ", ".join(f"{s} ({what})" for s, what in SUPPORTED_FORMATS.items())
        raise ValueError(f"Cannot save an animation as {suffix or 'a file without suffix'!r} "
                         f"({path.name}); supported formats: {supported}.")
    if isinstance(anim_or_trace, Animation):
        if X is not None or animate_kwargs:
            raise TypeError("X and animate() options apply only when saving a run or trace, "
                            "not an animation that already exists.")
        anim = anim_or_trace
    else:
        anim = None
    if suffix == ".mp4":
        _writer(suffix, 1.0, anim)  # fail fast, before drawing anything, if ffmpeg is missing
    if anim is None:
        anim = animate(anim_or_trace, X, fps=fps or 4, dpi=dpi or 80, **animate_kwargs)
    fps = float(fps or getattr(anim, "fps", None) or 1000.0 / anim._interval)
    dpi = float(dpi or getattr(anim, "dpi", None) or anim._fig.dpi)
    writer, rc = _writer(suffix, fps, anim)
    total = getattr(anim, "_save_count", None)
    show = progress is True or (progress == "auto" and total is not None and total >= 20)

    # Imported here: tqdm.auto costs ~80 ms (it loads asyncio), which every lesson that
    # imports the views would pay without ever saving a file.
    from tqdm.auto import tqdm

    with tqdm(total=total, disable=not show, unit="frame", desc=f"Saving {path.name}") as bar:
        with mpl.rc_context(rc):
            anim.save(str(path), writer=writer, dpi=dpi,
                      progress_callback=lambda i, n: bar.update(1))
    return path
