"""First pictures of app figures: drawn once per machine, then sent again by every kernel.

When a class opens a lesson, every student's kernel builds the same apps on the same data
and is asked for the same first pictures, at the same width: for each figure a constrained
layout and a full draw (0.1–0.27 s; 0.85 s for the five figures of lesson 4), the same
pixels thirty times over. The first kernel to draw a figure's first picture keeps it (the
PNG it sent, and the positions the layout gave the axes) with :func:`kmeans_tutor.data.kept.kept_table`;
a kernel whose figure is in exactly the same state sends that PNG instead of drawing, and
takes the positions. Kernels that reach the same first picture while the first one is still
drawing it (a class opening a lesson together) wait for it, up to :data:`WAIT_S` seconds,
rather than all drawing it at once.

*Exactly the same state*: the picture's key is a hash of

- the whole figure as ``pickle`` writes it — every artist with its data, colours, text,
  visibility, transforms and limits, and the layout engine (about 3–8 ms a figure; what
  draws nothing and differs from kernel to kernel is left out: see :class:`_StatePickler`);
- the canvas's size in device pixels, the figure's dots per inch and the screen's pixel ratio;
- matplotlib's version and every ``rcParams`` value but those that never reach a picture
  (interactive mode, the backend, key bindings), and the fonts matplotlib knows (file,
  size, date);
- the source of this package's views and widgets (and, through the store, of its algorithm).

Whatever could change a pixel changes the key, so a kept picture is only sent for a figure
that would have drawn those same pixels. A figure that cannot be pickled, a picture that
does not match the canvas, a folder that cannot be used: the figure is drawn, as it always
was. Only the first picture of a figure is ever kept or sent; every later one is drawn.

The figure has then not been drawn in this kernel, and is not laid out either: the positions
were taken. A figure whose steps are blitted (a stepper, the comparison) keeps, beside its
picture, the snapshot its :class:`~kmeans_tutor.widgets.figure.Blitter` took at the full draw
(the figure without the artists that change from step to step); a kernel sending the picture
takes the snapshot too, so its first step is a blit (15–30 ms), as in the kernel that drew it,
not a full draw (100–150 ms). Any other figure's next change is drawn in full.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import io
import os
import pickle
import struct
import types
import zlib
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.cbook import CallbackRegistry
from matplotlib.layout_engine import ConstrainedLayoutEngine, PlaceHolderLayoutEngine
from matplotlib.transforms import Bbox, TransformNode

from ..data.kept import kept_table

__all__ = ["WAIT_S", "figure_digest", "png_bytes", "png_rgba", "send_first_picture"]

_NAME = "first_picture"
# How long a kernel waits, at most, for the first picture another kernel is drawing: one
# takes 0.1–0.3 s of a core, several seconds on two cores shared by a class's kernels.
WAIT_S = 10.0
_SUPER_TEXTS = ("_suptitle", "_supxlabel", "_supylabel")  # placed by constrained layout
# rcParams that change no pixel of a picture. Interactive mode, for one, is on in a kernel
# that ran a lesson's ``%matplotlib inline`` cell (the server's preparation runs it) and off
# in the kernels of its pages, whose prepared copy has that cell drawn in advance.
_NOT_DRAWN = ("interactive", "backend", "backend_fallback", "toolbar", "keymap.", "webagg.")


class _StatePickler(pickle.Pickler):
    """Pickle as a fingerprint. A transform is written without its *parents*: they are the
    transforms that depend on it (to be told when it changes), not what it is made of, and
    they are keyed by ``id``, which differs from process to process. (Through them one figure
    would also reach the figures of other apps that share a transform with it.) The lists of
    callbacks artists keep are left out: they draw nothing, and pickling one uses up an id."""

    def reducer_override(self, obj):
        if isinstance(obj, TransformNode):
            state = obj.__getstate__()
            state.pop("_parents", None)
            return copyreg.__newobj__, (type(obj),), state
        if isinstance(obj, CallbackRegistry):
            # Who listens to an artist draws nothing; and pickling one takes its next id.
            return _function, ("callbacks",)
        if isinstance(obj, types.FunctionType) and "<" in obj.__qualname__:
            # A function pickle cannot name (a lambda, say a bar label's format): what it
            # runs and what it holds. Its cells may hold state, pickled the same way.
            cells = tuple(cell.cell_contents for cell in obj.__closure__ or ())
            return _function, (obj.__module__, obj.__qualname__, _code(obj.__code__),
                               obj.__defaults__, obj.__kwdefaults__, cells)
        return NotImplemented


def _code(code: types.CodeType) -> tuple:
    """A code object as its bytecode, names and constants (nested code the same way)."""
    return (code.co_code, code.co_names, code.co_varnames,
            tuple(_code(c) if isinstance(c, types.CodeType) else c for c in code.co_consts))


def _function(*parts):
    """Stands for a function in a fingerprint; never called (the pickle is never loaded)."""
    raise TypeError("a fingerprint is not loaded")


class _Hasher(io.RawIOBase):
    """A file that hashes what is written to it."""

    def __init__(self):
        self.digest = hashlib.sha256()

    def writable(self):
        return True

    def write(self, data):  # bytes, or a PickleBuffer of an array's memory
        self.digest.update(data)
        return memoryview(data).nbytes


def figure_digest(fig) -> str | None:
    """A hash of everything in ``fig`` that its picture is drawn from, or None when the
    figure cannot be pickled."""
    sink = _Hasher()
    try:
        _StatePickler(sink, protocol=5).dump(fig)
    except Exception:  # an artist that pickle cannot write: no key, the figure is drawn
        return None
    return sink.digest.hexdigest()


@functools.cache
def _code_and_fonts() -> str | None:
    """A hash of the package's drawing code and of the fonts matplotlib can pick from."""
    digest = hashlib.sha256(matplotlib.__version__.encode())
    package = Path(__file__).resolve().parent.parent
    sources = sorted((package / "views").glob("*.py")) + sorted((package / "widgets").glob("*.py"))
    if not sources:  # installed without its source: nothing tells versions apart
        return None
    try:
        for path in sources:
            digest.update(f"{path.parent.name}/{path.name}\0".encode() + path.read_bytes())
        fonts = font_manager.fontManager.ttflist + font_manager.fontManager.afmlist
        for font in sorted(fonts, key=lambda f: (f.fname, f.name, f.style, str(f.weight))):
            stat = os.stat(font.fname)
            digest.update(f"\0{font.fname} {font.name} {font.style} {font.variant} {font.weight} "
                          f"{font.stretch} {stat.st_size} {stat.st_mtime_ns}".encode())
    except (OSError, AttributeError):
        return None
    return digest.hexdigest()


def _key(fig) -> list | None:
    """The inputs a picture of ``fig`` is kept under (see the module docstring), or None."""
    code, state = _code_and_fonts(), figure_digest(fig)
    if code is None or state is None:
        return None
    canvas = fig.canvas
    w, h = canvas.get_width_height(physical=True)
    params = repr(sorted((k, repr(v)) for k, v in matplotlib.rcParams.items()
                         if not k.startswith(_NOT_DRAWN)))
    return [code, state, hashlib.sha256(params.encode()).hexdigest(), int(w), int(h),
            float(fig.dpi), float(getattr(canvas, "device_pixel_ratio", 1.0))]


def png_bytes(rgba: np.ndarray, level: int = 1) -> bytes:
    """An (h, w, 4) uint8 RGBA array as a PNG file, written for speed.

    Every row is stored unfiltered and the whole picture is compressed once by zlib
    at ``level`` 1: a frame of a step is mostly unchanged pixels (zeros, in a diff
    frame), which compress about as well this way as with Pillow's default filters
    and level 6, in a third of the time (about 6 ms instead of 20 for a
    1360 × 570 diff frame). Any PNG reader decodes it.

    >>> from io import BytesIO
    >>> from PIL import Image
    >>> a = np.zeros((2, 3, 4), np.uint8); a[1, 2] = (255, 0, 0, 255)
    >>> bool((np.asarray(Image.open(BytesIO(png_bytes(a)))) == a).all())
    True
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"png_bytes needs an (h, w, 4) array, not one of shape {rgba.shape}")
    h, w, _ = rgba.shape
    rows = np.empty((h, 4 * w + 1), np.uint8)
    rows[:, 0] = 0  # filter type "None" for every row
    rows[:, 1:] = rgba.reshape(h, 4 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8 bits per channel, RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.data, level)) + chunk(b"IEND", b""))


def png_rgba(png: bytes, shape: tuple[int, int] | None = None) -> np.ndarray | None:
    """The (h, w, 4) uint8 pixels of a PNG that :func:`png_bytes`
    wrote (8-bit RGBA, unfiltered rows, one IDAT chunk), or None for any other file, or for
    one that is not ``shape`` (h, w) pixels (checked before anything is decompressed)."""
    try:
        if png[:8] != b"\x89PNG\r\n\x1a\n":
            return None
        pos, chunks = 8, {}
        while pos < len(png):
            length, kind = struct.unpack(">I4s", png[pos:pos + 8])
            data, (crc,) = png[pos + 8:pos + 8 + length], struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
            if kind in chunks or len(data) != length or zlib.crc32(kind + data) != crc:
                return None  # cut short, damaged, or more than the one of each png_bytes writes
            chunks[kind] = data
            pos += 12 + length
        if list(chunks) != [b"IHDR", b"IDAT", b"IEND"]:
            return None
        w, h, depth, colour, *rest = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
        if (depth, colour, *rest) != (8, 6, 0, 0, 0) or not 0 < w * h <= 8192 * 8192:
            return None
        if shape is not None and (h, w) != tuple(shape):
            return None
        unpacker = zlib.decompressobj()
        raw = unpacker.decompress(chunks[b"IDAT"], h * (4 * w + 1) + 1)
        rows = np.frombuffer(raw, np.uint8)
        if rows.size != h * (4 * w + 1) or unpacker.unconsumed_tail or not unpacker.eof:
            return None
        rows = rows.reshape(h, 4 * w + 1)
        if rows[:, 0].any():  # a filtered row: not one of ours
            return None
        return rows[:, 1:].reshape(h, w, 4)
    except (KeyError, struct.error, zlib.error, ValueError):
        return None


def _eligible(fig) -> bool:
    """Whether ``fig``'s layout is fully described by the positions kept with its picture:
    constrained (once, or at every draw) or none at all."""
    engine = fig.get_layout_engine()
    return engine is None or isinstance(engine, (ConstrainedLayoutEngine, PlaceHolderLayoutEngine))


def _layout(fig) -> dict[str, np.ndarray]:
    # Each axes' position as laid out and as drawn (an equal aspect shrinks it): both are
    # read by the next layout and the next draw. (Read as they are: get_position() would
    # apply the aspect again and mark the figure as changed.)
    axes = np.array([(*ax._originalPosition.extents, *ax._position.extents) for ax in fig.axes],
                    float).reshape(-1, 8)
    texts = np.full((len(_SUPER_TEXTS), 2), np.nan)
    for i, name in enumerate(_SUPER_TEXTS):
        text = getattr(fig, name, None)
        if text is not None:
            texts[i] = text.get_position()
    return {"axes": axes, "texts": texts}


def _apply_layout(fig, table) -> None:
    for ax, extents in zip(fig.axes, table["axes"]):  # as the layout engine and the draw do
        ax._set_position(Bbox(extents[:4].reshape(2, 2)), which="original")
        ax._set_position(Bbox(extents[4:].reshape(2, 2)), which="active")
    for name, position in zip(_SUPER_TEXTS, table["texts"]):
        text = getattr(fig, name, None)
        if text is not None and np.isfinite(position).all():
            text.set_position(tuple(position))


def send_first_picture(canvas, draw, *, laid_out_once: type | None = None) -> None:
    """Answer a page's request for ``canvas``'s first picture: the kept one when the figure is
    in the same state as the one it was drawn from, else ``draw()`` (ipympl's own answer),
    keeping what it sent. Later requests are always ``draw()``.

    ``laid_out_once`` is the layout engine that lays a figure out at its first draw and then
    switches itself off; a figure taking kept positions switches it off the same way.
    """
    fig = canvas.figure
    first = getattr(canvas, "_last_buff", None) is not None and canvas._last_buff.size == 0
    if not first or getattr(canvas, "_kt_first_sent", False) or not _eligible(fig):
        draw()
        return
    canvas._kt_first_sent = True
    key = _key(fig)
    if key is None:
        draw()
        return
    w, h = key[3], key[4]
    decoded = {}

    blitter = getattr(canvas, "_kt_blitter", None)  # a figure whose steps are blitted

    def usable(table) -> bool:
        png, axes, texts = (table.get(k) for k in ("png", "axes", "texts"))
        if (png is None or axes is None or texts is None or png.dtype != np.uint8 or png.ndim != 1
                or axes.shape != (len(fig.axes), 8) or texts.shape != (len(_SUPER_TEXTS), 2)
                or not np.isfinite(axes).all()):
            return False
        rgba = png_rgba(png.tobytes(), shape=(h, w))
        if rgba is None:
            return False
        decoded["png"], decoded["rgba"] = png.tobytes(), rgba
        if blitter is not None and "snapshot" in table:
            snapshot = table["snapshot"]
            if snapshot.dtype != np.uint8 or snapshot.ndim != 1:
                return False
            decoded["snapshot"] = png_rgba(snapshot.tobytes(), shape=(h, w))
            return decoded["snapshot"] is not None
        return True

    def drawn():
        draw()
        png = getattr(canvas, "_kt_full_png", None)
        if not png or canvas._last_buff.shape != (h, w):
            return None  # not one whole picture of this size: nothing to keep
        table = {"png": np.frombuffer(png, np.uint8), **_layout(fig)}
        snapshot = None if blitter is None else blitter.snapshot()
        if snapshot is not None and snapshot.shape == (h, w, 4):
            # What the blitter pastes its steps onto: kept too, so that a kernel sending this
            # picture blits its first step instead of drawing the whole figure.
            table["snapshot"] = np.frombuffer(png_bytes(snapshot), np.uint8)
        return table

    table, was_kept = kept_table(_NAME, key, drawn, usable, wait=WAIT_S)
    if not was_kept:
        return
    _apply_layout(fig, table)
    if laid_out_once is not None and isinstance(fig.get_layout_engine(), laid_out_once):
        fig.set_layout_engine("none")
    canvas.get_renderer()  # a renderer of this size, as after a draw (it holds no picture)
    if "snapshot" in decoded:
        blitter.take_snapshot(decoded["snapshot"])
    canvas._last_buff = decoded["rgba"].view(np.uint32).squeeze(2).copy()
    canvas._kt_full_png = decoded["png"]
    canvas._kt_undrawn = True  # until the first draw: the kept picture is the one to send
    cid = None

    def drawn_here(event):
        canvas._kt_undrawn = False
        canvas.mpl_disconnect(cid)

    cid = canvas.mpl_connect("draw_event", drawn_here)
    canvas._png_is_old = True
    canvas.manager.refresh_all()  # sends the kept picture (see figure._diff_image)
    fig.stale = False  # the page shows the figure as it is now
