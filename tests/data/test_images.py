"""Pictures as data: safe decoding of uploads, and quantising a picture to k colours."""

from __future__ import annotations

import builtins
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin, features

from kmeans_tutor.core.kernels import nearest_centers
from kmeans_tutor.core.lloyd import run_kmeans
from kmeans_tutor.data.errors import DataError
from kmeans_tutor.data.images import (MAX_IMAGE_BYTES, MAX_PIXELS, decode_image, load_sample_photo,
                                      paint, quantise, sample_pixels)

NOT_AN_IMAGE = "This file is not an image we can read (PNG, JPEG, GIF, BMP, WebP)."


def encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def halves(width=40, height=20, left=(255, 0, 0), right=(0, 0, 255)) -> Image.Image:
    """A picture whose left half is one colour and right half another."""
    a = np.zeros((height, width, 3), dtype=np.uint8)
    a[:, : width // 2] = left
    a[:, width // 2:] = right
    return Image.fromarray(a, "RGB")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


# --------------------------------------------------------------------------- decoding


def test_png_decodes_to_rgb_levels_exactly():
    im = halves()
    out = decode_image(encode(im, "PNG"))
    assert out.dtype == np.uint8 and out.shape == (20, 40, 3)
    np.testing.assert_array_equal(out, np.asarray(im))


def test_jpeg_decodes_to_rgb():
    out = decode_image(encode(halves(), "JPEG", quality=95))
    assert out.shape == (20, 40, 3)
    assert out[10, 5, 0] > 200 and out[10, 5, 2] < 60     # red on the left
    assert out[10, 35, 2] > 200 and out[10, 35, 0] < 60   # blue on the right


def test_greyscale_becomes_three_equal_channels():
    grey = Image.fromarray(np.arange(60, dtype=np.uint8).reshape(6, 10) * 4, "L")
    out = decode_image(encode(grey, "PNG"))
    assert out.shape == (6, 10, 3)
    np.testing.assert_array_equal(out[..., 0], np.asarray(grey))
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_sixteen_bit_greyscale_keeps_its_range():
    levels = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000)
    out = decode_image(encode(Image.fromarray(levels), "PNG"))
    assert out.shape == (3, 4, 3)
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == round(55000 / 65535 * 255)


def test_transparency_is_laid_over_white():
    a = np.zeros((4, 4, 4), dtype=np.uint8)
    a[..., 0] = 255          # red …
    a[:, :2, 3] = 255        # … opaque on the left, fully transparent on the right
    out = decode_image(encode(Image.fromarray(a, "RGBA"), "PNG"))
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[0, 3].tolist() == [255, 255, 255]


def test_palette_picture_with_a_transparent_colour():
    im = halves(8, 4).convert("P", palette=Image.Palette.ADAPTIVE, colors=2)
    red_index = im.getpixel((0, 0))
    out = decode_image(encode(im, "PNG", transparency=red_index))
    assert out[0, 0].tolist() == [255, 255, 255]      # the transparent colour shows white
    assert out[0, 7].tolist() == [0, 0, 255]


def test_cmyk_jpeg_becomes_rgb():
    out = decode_image(encode(halves().convert("CMYK"), "JPEG", quality=95))
    assert out.shape == (20, 40, 3) and out[10, 5, 0] > 200 and out[10, 35, 2] > 200


def test_animated_gif_gives_its_first_frame_and_bmp_reads():
    frames = [halves(8, 4), halves(8, 4, left=(0, 255, 0), right=(0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    out = decode_image(buffer.getvalue())
    assert out[0, 0].tolist() == [255, 0, 0]
    np.testing.assert_array_equal(decode_image(encode(halves(), "BMP")), np.asarray(halves()))


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp_reads():
    out = decode_image(encode(halves(), "WEBP", lossless=True))
    np.testing.assert_array_equal(out, np.asarray(halves()))


def test_exif_orientation_is_applied():
    im = halves(40, 20)  # red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6     # "rotate 90° clockwise to show"
    out = decode_image(encode(im, "JPEG", quality=95, exif=exif.tobytes()))
    assert out.shape == (40, 20, 3)                     # upright: taller than wide
    assert out[5, 10, 0] > 200 and out[5, 10, 2] < 60   # the left half is now on top
    assert out[35, 10, 2] > 200


def test_large_picture_is_shrunk_to_the_budget_keeping_its_shape():
    big = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1000, 2000, 3), dtype=np.uint8))
    out = decode_image(encode(big, "PNG"))
    h, w, _ = out.shape
    assert h * w <= MAX_PIXELS and h * w > 0.95 * MAX_PIXELS
    assert abs(w / h - 2.0) < 0.01


def test_a_big_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    sizes = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    content = encode(halves(3200, 2400), "JPEG", quality=80)
    out = decode_image(content)
    assert sizes and sizes[0][0] * sizes[0][1] < 3200 * 2400 / 3   # decoded at 1/2 or smaller
    assert out.shape[0] * out.shape[1] <= MAX_PIXELS


def test_long_thin_strip_is_capped_on_its_long_side():
    out = decode_image(encode(halves(3000, 4), "PNG"))
    assert max(out.shape[:2]) <= 1024


def test_oversize_bytes_are_refused_before_decoding():
    with pytest.raises(DataError, match=r"^This file is 11 MB; the limit is 10 MB\."):
        decode_image(b"\x89PNG" + b"\0" * (11 * 1024 * 1024))
    with pytest.raises(DataError, match="limit"):
        decode_image(encode(halves(), "BMP"), max_bytes=100)
    assert MAX_IMAGE_BYTES == 10 * 1024 * 1024


@pytest.mark.parametrize("width, height", [(30_000, 30_000), (10_000, 10_000)],
                         ids=["over twice the limit", "over the limit"])
def test_a_decompression_bomb_is_refused(width, height):
    assert Image.MAX_IMAGE_PIXELS is not None  # the limit is on
    assert width * height > Image.MAX_IMAGE_PIXELS
    content = png_claiming(width, height)
    assert len(content) < 200
    with pytest.raises(DataError, match="too many pixels to open safely") as err:
        decode_image(content)
    assert "\n" not in str(err.value)


def test_more_pixels_than_we_decode_is_refused_before_decoding():
    content = png_claiming(8000, 7000)  # 56 million pixels: under Pillow's limit, over ours
    assert 8000 * 7000 < Image.MAX_IMAGE_PIXELS
    with pytest.raises(DataError, match=r"^This image has 56 million pixels; the limit is 50 million\."):
        decode_image(content)


@pytest.mark.parametrize("content", [b"x,y\n1,2\n3,4\n", b"%PDF-1.4 not a picture", b"\0\1\2\3" * 50],
                         ids=["csv", "pdf", "binary"])
def test_a_non_image_is_refused_in_one_line(content):
    with pytest.raises(DataError) as err:
        decode_image(content)
    assert str(err.value) == NOT_AN_IMAGE


def test_a_format_we_do_not_open_is_refused():
    with pytest.raises(DataError, match="not an image we can read"):
        decode_image(encode(halves(), "TIFF"))


def test_empty_and_wrong_types_are_refused():
    with pytest.raises(DataError, match="empty"):
        decode_image(b"")
    with pytest.raises(DataError, match="not an image"):
        decode_image("a file name.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_truncated_image_is_refused(fmt):
    rng = np.random.default_rng(1)
    content = encode(Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)), fmt)
    with pytest.raises(DataError, match="damaged or cut short"):
        decode_image(content[: len(content) // 2])


def test_nothing_is_written_to_disk(monkeypatch, tmp_path):
    content = encode(halves(), "PNG")
    decode_image(content)  # Pillow's plugins are loaded now

    def refuse(*args, **kwargs):
        raise AssertionError(f"a file was opened: {args[:1]}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    monkeypatch.chdir(tmp_path)
    out = decode_image(content)
    with pytest.raises(DataError):
        decode_image(content[:40])
    assert out.shape == (20, 40, 3)
    assert list(tmp_path.iterdir()) == []


def test_the_sample_photo():
    photo = load_sample_photo()
    assert photo.shape == (320, 480, 3) and photo.dtype == np.uint8
    assert len(np.unique(photo.reshape(-1, 3), axis=0)) > 10_000  # a photo: many colours
    # Small enough to ship in the wheel, and credited.
    root = Path(__file__).resolve().parents[2] / "data"
    assert (root / "flower.jpg").stat().st_size <= 150_000
    assert "vultilion" in (root / "README.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- quantising


@pytest.fixture(scope="module")
def photo():
    return load_sample_photo()


@pytest.mark.parametrize("k", [2, 5, 16, 32])
def test_quantised_picture_has_at_most_k_colours_each_pixel_its_nearest_centre(photo, k):
    q = quantise(photo, k, random_state=0)
    pixels = photo.reshape(-1, 3).astype(np.float64)
    colours = np.unique(q.image.reshape(-1, 3), axis=0)
    assert len(colours) <= k and q.centers.shape == (k, 3)
    # Every pixel is painted with the (rounded) colour of its nearest final centre …
    labels = nearest_centers(pixels, q.centers)
    np.testing.assert_array_equal(q.labels.ravel(), labels)
    np.testing.assert_array_equal(q.image.reshape(-1, 3), np.rint(q.centers).astype(np.uint8)[labels])
    # … nearest by the plain squared distance too (no pixel has a strictly nearer centre).
    d = ((pixels[:, None, :] - q.centers[None, :, :]) ** 2).sum(axis=2)
    own = d[np.arange(len(pixels)), labels]
    assert np.all(own <= d.min(axis=1) + 1e-6)
    # The final centres are the run's; the shares count the pixels.
    np.testing.assert_array_equal(q.centers, q.trace.final.centers)
    np.testing.assert_allclose(q.shares, np.bincount(labels, minlength=k) / len(pixels))
    assert q.mean_sq_error == pytest.approx(own.mean())


def test_quantise_is_seeded_and_the_seeding_matters(photo):
    a, b = quantise(photo, 8, random_state=3), quantise(photo, 8, random_state=3)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.trace[0].method == "k-means++"
    r = quantise(photo, 8, init="random", random_state=3)
    assert r.trace[0].method == "random"
    assert not np.array_equal(r.trace[0].centers, a.trace[0].centers)


def test_more_colours_fit_the_picture_better(photo):
    errors = [quantise(photo, k, random_state=0).rms_error for k in (2, 4, 8, 16, 32)]
    assert errors == sorted(errors, reverse=True)
    assert errors[0] > 2 * errors[-1]


def test_sample_is_seeded_and_small_pictures_are_used_whole(photo):
    s = sample_pixels(photo, 500, random_state=1)
    assert s.shape == (500, 3)
    np.testing.assert_array_equal(s, sample_pixels(photo, 500, random_state=1))
    tiny = photo[:10, :10]
    assert len(sample_pixels(tiny, 500)) == 100


def test_paint_rejects_a_malformed_picture():
    with pytest.raises(ValueError, match="height, width, 3"):
        paint(np.zeros((4, 4)), np.zeros((2, 3)))


def test_final_centres_match_scikit_learn_from_the_same_start(photo):
    sklearn = pytest.importorskip("sklearn.cluster")
    sample = sample_pixels(photo, 4000, random_state=0)
    for k in (4, 16):
        start = run_kmeans(sample, k, random_state=0)[k - 1].centers  # our k-means++ seeds
        ours = run_kmeans(sample, k, init=np.array(start))
        theirs = sklearn.KMeans(n_clusters=k, init=np.array(start), n_init=1, algorithm="lloyd",
                                tol=1e-4, max_iter=300).fit(sample)
        np.testing.assert_allclose(ours.final.centers, theirs.cluster_centers_, rtol=1e-9, atol=1e-7)
        assert ours.final.inertia == pytest.approx(theirs.inertia_, rel=1e-9)
        assert ours.n_iter == theirs.n_iter_
