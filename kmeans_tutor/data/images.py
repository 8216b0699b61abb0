"""Pictures as data: decode a photo safely, and reduce it to k colours with K-means.

A pixel is a point in colour space: its red, green and blue levels, each a whole
number from 0 to 255. K-means on those points finds k colours — the centres —
that stand for all the others; painting every pixel its nearest centre's colour
gives a picture in k colours ("colour quantisation").

- :func:`decode_image` turns the bytes of an uploaded file into an RGB array,
  in memory only, refusing anything that is not a common photo format, is
  too large, or claims more pixels than Pillow's decompression-bomb limit.
  Every refusal is a one-line :class:`~kmeans_tutor.data.errors.DataError`.
- :func:`load_sample_photo` is the course's photo (an orange dahlia, CC BY 2.0;
  see ``data/README.md``).
- :func:`quantise` runs our K-means (:func:`~kmeans_tutor.core.lloyd.run_kmeans`)
  on a sample of the pixels, then paints every pixel with its nearest final
  centre (:func:`~kmeans_tutor.core.kernels.nearest_centers`).

Colours are on the 0–255 scale throughout, so distances and inertia are in
colour levels (inertia in levels squared).

>>> photo = load_sample_photo()
>>> photo.shape, photo.dtype
((320, 480, 3), dtype('uint8'))
>>> q = quantise(photo, 4, random_state=0)
>>> len(q.palette), q.image.shape
(4, (320, 480, 3))
"""

from __future__ import annotations

import importlib.resources
import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..core.kernels import exact_inertia, nearest_centers
from ..core.lloyd import run_kmeans
from ..core.trace import Trace
from ..core.validation import check_random_state
from .errors import DataError

__all__ = ["MAX_IMAGE_BYTES", "MAX_DECLARED_PIXELS", "MAX_PIXELS", "MAX_SIDE", "IMAGE_FORMATS",
           "SAMPLE_PIXELS", "PHOTO_FILE", "decode_image", "load_sample_photo", "sample_pixels", "quantise", "paint", "Quantised"]

#: Largest upload read, in bytes (10 MB: a phone photo is 2–6 MB).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: Pixel budget of a decoded picture (512 × 512): larger pictures are shrunk to fit, keeping their shape.
MAX_PIXELS = 512 * 512
#: Longest side of a decoded picture, in pixels (a 10,000 × 20 strip is shrunk too).
MAX_SIDE = 1024
#: The formats we open, as Pillow names them. (Pillow opens many phone photos as "MPO", a JPEG
#: with extra pictures after the first; its JPEG reader is the one that reads them.)
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
_READ_AS = {"MPO": "JPEG"}
#: Most pixels a file may declare (a 50-megapixel phone photo). Above Pillow's
#: decompression-bomb limit a file is refused by Pillow itself; this one is lower, because a
#: PNG cannot be decoded at reduced scale: 50 million pixels already take 150 MB to decode.
MAX_DECLARED_PIXELS = 50_000_000
#: Pixels K-means learns the palette from (a seeded random sample; every pixel is then painted).
SAMPLE_PIXELS = 4_000
#: The course's photo, in the checkout's data/ folder and inside the installed package.
PHOTO_FILE = "flower.jpg"

_NOT_AN_IMAGE = "This file is not an image we can read (PNG, JPEG, GIF, BMP, WebP)."


def _megabytes(n_bytes: int) -> str:
    """'3.4 MB', '10 MB'."""
    mb = n_bytes / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 10 or mb == int(mb) else f"{mb:.1f} MB"


# --------------------------------------------------------------------------- decoding


def decode_image(content, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_PIXELS,
                 max_side: int = MAX_SIDE) -> np.ndarray:
    """The pixels of an image file, as RGB levels, shrunk to a pixel budget.

    Parameters
    ----------
    content : bytes, bytearray or memoryview
        The whole file. Nothing is written to disk: Pillow reads from memory.
    max_bytes : int, default=MAX_IMAGE_BYTES
        Refuse larger files before decoding anything.
    max_pixels, max_side : int
        The picture is shrunk (its shape kept) until it has at most
        ``max_pixels`` pixels and no side longer than ``max_side``; a large
        JPEG is decoded at a reduced scale straight away.

    Returns
    -------
    ndarray of shape (height, width, 3), uint8
        Upright (the EXIF orientation of a phone photo applied), in RGB:
        transparency is laid over white, greyscale, palette and CMYK pictures
        are converted; an animated GIF gives its first frame.

    Raises
    ------
    DataError
        With a one-line message: too large, not an image in a format we open,
        damaged or cut short, or claiming so many pixels that decoding it
        could fill the memory (Pillow's decompression-bomb limit,
        ``PIL.Image.MAX_IMAGE_PIXELS``, is kept).
    """
    data = _check_bytes(content, max_bytes)
    with warnings.catch_warnings():
        # A picture between the bomb limit and twice it only warns in Pillow: refuse it too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as im:
                return _to_rgb_array(im, max_pixels, max_side)
        except DataError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise DataError("This image claims too many pixels to open safely; "
                            "save a smaller copy and try that.") from None
        except UnidentifiedImageError:
            raise DataError(_NOT_AN_IMAGE) from None
        except (OSError, SyntaxError, EOFError):
            raise DataError("This image is damaged or cut short; save it again and retry.") from None
        except Exception:  # noqa: BLE001 - a malformed file may fail anywhere inside the decoder
            raise DataError(_NOT_AN_IMAGE) from None


def _check_bytes(content, max_bytes: int) -> bytes:
    """The upload's bytes, refused when empty, not bytes, or over the limit."""
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise DataError(_NOT_AN_IMAGE)
    size = content.nbytes if isinstance(content, memoryview) else len(content)
    if size == 0:
        raise DataError("This file is empty.")
    if size > max_bytes:
        raise DataError(f"This file is {_megabytes(size)}; the limit is "
                        f"{_megabytes(max_bytes)}. Save a smaller copy and try that.")
    return bytes(content)


def _budget_size(width: int, height: int, max_pixels: int, max_side: int) -> tuple[int, int]:
    """The largest size of the same shape within the pixel budget and the longest side."""
    scale = min(1.0, math.sqrt(max_pixels / (width * height)), max_side / max(width, height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _to_rgb_array(im: Image.Image, max_pixels: int, max_side: int) -> np.ndarray:
    """Decode an opened image: reduced decoding, upright, RGB, within the budget."""
    if _READ_AS.get(im.format, im.format) not in IMAGE_FORMATS:
        raise DataError(_NOT_AN_IMAGE)
    width, height = im.size
    if width * height > MAX_DECLARED_PIXELS:
        raise DataError(f"This image has {width * height / 1e6:,.0f} million pixels; the limit is "
                        f"{MAX_DECLARED_PIXELS // 1_000_000} million. Save a smaller copy and try that.")
    # 1. A big JPEG decodes at 1/2, 1/4 or 1/8 scale at once (no full-size copy in memory).
    #    The target is the budget size, so the draft is never smaller than what we keep.
    im.draft("RGB", _budget_size(*im.size, max_pixels, max_side))
    im.load()  # decodes here: a damaged or truncated file fails now
    # 2. Phone photos are stored sideways with an EXIF note of which way is up.
    im = ImageOps.exif_transpose(im)
    # 3. RGB: transparency over white; palette, greyscale, CMYK and 16-bit converted.
    im = _as_rgb(im)
    # 4. Shrink to the budget, keeping the shape.
    size = _budget_size(*im.size, max_pixels, max_side)
    if size != im.size:
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(im, dtype=np.uint8).copy()


def _as_rgb(im: Image.Image) -> Image.Image:
    """Any mode to RGB; transparent pixels become white, as a page behind them would show."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale: keep the top 8 bits
        grey = np.asarray(im, dtype=np.float64)
        top = 65535.0 if grey.max() > 255 else 255.0
        im = Image.fromarray(np.clip(grey / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    return im.convert("RGB")


def load_sample_photo() -> np.ndarray:
    """The course's photo: an orange dahlia, 480 × 320 pixels, shape (320, 480, 3), uint8.

    "Flower" by vultilion on Flickr, CC BY 2.0 (via scikit-learn's sample images),
    shrunk from 640 × 427; see ``data/README.md``.
    """
    packaged = importlib.resources.files(__package__) / "_files" / PHOTO_FILE
    if packaged.is_file():
        return decode_image(packaged.read_bytes())
    checkout = Path(__file__).resolve().parents[2] / "data" / PHOTO_FILE
    if checkout.is_file():
        return decode_image(checkout.read_bytes())
    raise FileNotFoundError(f"The course's photo ({PHOTO_FILE}) was not found: looked in the "
                            f"package ({packaged}) and in the checkout ({checkout}). "
                            f"Reinstall kmeans-tutor.")


# --------------------------------------------------------------------------- quantising


def _check_image(image) -> np.ndarray:
    """An RGB picture of shape (h, w, 3) with levels 0–255, as uint8."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"A picture must have shape (height, width, 3); got {image.shape}.")
    if image.dtype != np.uint8:
        if not np.issubdtype(image.dtype, np.number) or not np.isfinite(image).all() \
                or image.min() < 0 or image.max() > 255:
            raise ValueError("A picture's levels must be numbers from 0 to 255.")
        image = np.rint(image).astype(np.uint8)
    return image


def sample_pixels(image, n: int = SAMPLE_PIXELS, *, random_state=0) -> np.ndarray:
    """A seeded random sample of ``n`` pixels (all of them when there are fewer).

    Returns
    -------
    ndarray of shape (min(n, h·w), 3), float64
        RGB levels 0–255, in the order they were drawn.
    """
    pixels = _check_image(image).reshape(-1, 3)
    rng, _ = check_random_state(random_state)
    if len(pixels) > n:
        pixels = pixels[np.sort(rng.choice(len(pixels), size=n, replace=False))]
    return pixels.astype(np.float64)


@dataclass(frozen=True, eq=False)
class Quantised:
    """A picture reduced to k colours.

    Attributes
    ----------
    trace : Trace
        The K-means run on the sample (its steps, for stepping through).
    sample : ndarray of shape (n_sample, 3), float64
        The pixels K-means learned from, RGB levels 0–255.
    centers : ndarray of shape (k, 3), float64
        The final centres, RGB levels 0–255.
    palette : ndarray of shape (k, 3), uint8
        The centres rounded to whole levels: the colours painted.
    labels : ndarray of shape (height, width)
        Every pixel's nearest final centre.
    image : ndarray of shape (height, width, 3), uint8
        ``palette[labels]``: the picture in k colours.
    shares : ndarray of shape (k,)
        Each colour's share of the picture's pixels (sums to 1).
    mean_sq_error : float
        Mean squared distance of a pixel to its colour, in levels² over the
        whole picture; its square root is a typical colour error in levels.
    """

    trace: Trace
    sample: np.ndarray
    centers: np.ndarray
    palette: np.ndarray
    labels: np.ndarray
    image: np.ndarray
    shares: np.ndarray
    mean_sq_error: float

    @property
    def k(self) -> int:
        return len(self.centers)

    @property
    def rms_error(self) -> float:
        """Root mean squared colour error of a pixel, in levels (0–255 scale)."""
        return math.sqrt(self.mean_sq_error)


def paint(image, centers) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's nearest centre, and the picture painted with the centres' rounded colours.

    Returns
    -------
    labels : ndarray of shape (height, width)
    painted : ndarray of shape (height, width, 3), uint8
    """
    image = _check_image(image)
    h, w, _ = image.shape
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    # The levels stay uint8: each block of rows becomes float64 (exactly) when it is
    # measured, so the whole picture is never held as float64 (8 times its size).
    labels = nearest_centers(image.reshape(-1, 3), centers)
    palette = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    return labels.reshape(h, w), palette[labels].reshape(h, w, 3)


def quantise(image, k: int, *, init: str = "k-means++", random_state=0,
             n_sample: int = SAMPLE_PIXELS) -> Quantised:
    """Reduce a picture to ``k`` colours with K-means in RGB (levels 0–255).

    K-means runs on a seeded random sample of ``n_sample`` pixels (the whole
    picture when it is smaller), from ``init`` seeding, until it converges;
    then every pixel of the picture is painted with its nearest final centre,
    the centre's levels rounded to whole numbers.

    Parameters
    ----------
    image : array-like of shape (height, width, 3)
        RGB levels 0–255 (e.g. :func:`decode_image`).
    k : int
        Number of colours, 1 ≤ k ≤ the number of different colours in the sample.
    init : {"k-means++", "random"}, default="k-means++"
    random_state : int, default=0
        Seeds both the sample and the seeding.
    n_sample : int, default=SAMPLE_PIXELS

    Returns
    -------
    Quantised

    Raises
    ------
    ValueError
        A malformed picture, or k above the sample's number of different colours.
    """
    image = _check_image(image)
    sample = sample_pixels(image, n_sample, random_state=random_state)
    trace = run_kmeans(sample, k, init=init, random_state=random_state)
    centers = np.asarray(trace.final.centers, dtype=np.float64)
    labels, painted = paint(image, centers)
    counts = np.bincount(labels.ravel(), minlength=len(centers))
    pixels = image.reshape(-1, 3)  # uint8: measured block by block, as in paint
    return Quantised(trace=trace, sample=sample, centers=centers,
                     palette=np.clip(np.rint(centers), 0, 255).astype(np.uint8), labels=labels,
                     image=painted, shares=counts / counts.sum(),
                     mean_sq_error=exact_inertia(pixels, centers, labels.ravel()) / len(pixels))
