"""A photo collection with known duplicates, generated in code: the data of the dedupe benchmark.

Every picture comes from scikit-image's bundled photos (no download), upscaled so that its
longer side is ``size`` pixels, with a little film grain so that JPEG files cost what a
camera's would. A *picture* is what a person would call one photo; the collection holds:

* **originals** (JPEG, every fourth one PNG) and, for each, nine **variants** that are the
  same picture: resized to 50-75 %, re-encoded at JPEG quality 40-60, cropped by 3-8 % per
  side pair (split at random between the two sides), brightness and contrast changed by
  5-10 % each (up or down), rotated by 1-2 degrees (and cropped to the largest rectangle
  without empty corners, as photo editors straighten), a small semi-transparent watermark
  in a corner, grayscale, PNG/JPEG swapped, and stored rotated by 90 or 270 degrees with
  the EXIF orientation that turns it back;
* **hard negatives**, each a picture of its own: two crops of one photo that overlap (each
  keeps 60-80 % of the width and of the height, from opposite corners, so that they share
  6-56 % of their pixels); the four quarters of each texture (grass, gravel, brick):
  different photos of the same colours and look; and the quarters of some photos (the
  Hubble deep field, a retina, the astronaut...), which are also originals with variants,
  each contained in its whole photo, a picture of its own too.

Two files are a *true pair* when they show the same picture. Everything is drawn from
``numpy.random.default_rng`` seeded by (seed, picture), so the files are the same on every
run on a given machine (Pillow's encoders and OpenCV are the only outside code).

    items = make_collection(folder, size=1600)      # writes the files and truth.json
    precision, recall = pair_scores(groups, items)  # groups: lists of paths
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Photos that become originals with variants.
PHOTOS = (
    "astronaut", "coffee", "chelsea", "rocket", "camera", "motorcycle", "immunohistochemistry",
    "coins", "moon", "page", "text", "clock", "cell", "hubble_deep_field", "retina",
)
#: Photos whose quarters are originals with variants too (each quarter lies inside its photo).
QUARTERED = ("hubble_deep_field", "retina", "astronaut", "coffee", "rocket", "camera", "immunohistochemistry")
#: Texture-like photos: their quarters are different pictures of the same colours (no variants).
TEXTURES = ("grass", "gravel", "brick")
#: Photos of which two overlapping crops are made (no variants).
OVERLAPPED = ("astronaut", "coffee", "chelsea", "rocket", "camera", "motorcycle", "immunohistochemistry", "clock")
#: The variants of an original, in the order they are made.
VARIANTS = ("resized", "jpeg", "cropped", "brightness", "rotated", "watermark", "grayscale", "format", "exif")


@dataclass(frozen=True)
class Item:
    """One file of the collection."""

    path: str
    picture: str
    """What it shows: files with the same picture are duplicates of each other."""
    kind: str
    """original, a variant's name, overlap (a crop of a pair) or texture (a quarter)."""


@lru_cache(maxsize=None)
def source_photo(name: str) -> np.ndarray:
    """A scikit-image photo as uint8 RGB (gray photos are repeated in three channels)."""
    from skimage import data

    image = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _upscaled(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    factor = size / max(height, width)
    shape = (max(16, round(width * factor)), max(16, round(height * factor)))
    big = cv2.resize(image, shape, interpolation=cv2.INTER_LANCZOS4 if factor > 1 else cv2.INTER_AREA)
    grain = rng.normal(0.0, 2.5, big.shape[:2])[:, :, None]
    return np.clip(big + grain, 0, 255).astype(np.uint8)


def _save(image: np.ndarray, path: Path, *, quality: int = 90, exif: Image.Exif | None = None) -> None:
    picture = Image.fromarray(image)
    if path.suffix == ".png":
        picture.save(path, compress_level=1)
    else:
        picture.save(path, quality=quality, **({"exif": exif} if exif is not None else {}))


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB" if image.ndim == 3 else "L"))


def _crop(image: np.ndarray, keep_x: float, keep_y: float, at_x: float, at_y: float) -> np.ndarray:
    """Keep ``keep`` of each side, starting at ``at`` of what is removed (0 left/top, 1 right/bottom)."""
    height, width = image.shape[:2]
    w, h = round(width * keep_x), round(height * keep_y)
    x, y = round((width - w) * at_x), round((height - h) * at_y)
    return np.ascontiguousarray(image[y : y + h, x : x + w])


def _rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre and keep the largest centred rectangle of the same aspect without empty corners."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
    turned = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    angle = math.radians(abs(degrees))
    # A centred w' x h' box of the image's aspect fits inside the turned image when
    # w' cos + h' sin <= w and w' sin + h' cos <= h.
    scale = min(width / (width * math.cos(angle) + height * math.sin(angle)), height / (width * math.sin(angle) + height * math.cos(angle)))
    return _crop(turned, scale, scale, 0.5, 0.5)


def _watermark(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    picture = Image.fromarray(image).convert("RGBA")
    layer = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    height = max(8, picture.height // 22)
    font = ImageFont.load_default(size=height)
    text = f"(c) {int(rng.integers(1990, 2026))} studio"
    box = draw.textbbox((0, 0), text, font=font)
    margin = height
    corner = int(rng.integers(4))
    x = margin if corner % 2 == 0 else picture.width - (box[2] - box[0]) - margin
    y = margin if corner < 2 else picture.height - (box[3] - box[1]) - 2 * margin
    draw.text((x, y), text, font=font, fill=(255, 255, 255, int(rng.integers(110, 170))))
    return np.asarray(Image.alpha_composite(picture, layer).convert("RGB"))


def _exif_rotated(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Image.Exif]:
    """Pixels turned as a camera held sideways stores them, and the tag that turns them back."""
    clockwise = bool(rng.integers(2))
    stored = np.ascontiguousarray(np.rot90(image, k=1 if clockwise else -1))
    exif = Image.Exif()
    exif[0x0112] = 6 if clockwise else 8  # 6: rotate 90 degrees clockwise to display
    return stored, exif


def _signed(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high) * rng.choice((-1.0, 1.0)))


def _write_variants(original: np.ndarray, stem: str, folder: Path, png_original: bool, rng: np.random.Generator) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def save(kind: str, image: np.ndarray, suffix: str = ".jpg", **options) -> None:
        path = folder / f"{stem}_{kind}{suffix}"
        _save(image, path, **options)
        out.append((str(path), kind))

    height, width = original.shape[:2]
    factor = rng.uniform(0.5, 0.75)
    save("resized", cv2.resize(original, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA))
    save("jpeg", original, quality=int(rng.integers(40, 61)))
    cut_x, cut_y = rng.uniform(0.03, 0.08, size=2)
    save("cropped", _crop(original, 1 - cut_x, 1 - cut_y, rng.uniform(), rng.uniform()))
    contrast, brightness = 1 + _signed(rng, 0.05, 0.10), 1 + _signed(rng, 0.05, 0.10)
    values = original.astype(np.float64)
    mean = values.mean()
    save("brightness", np.clip(((values - mean) * contrast + mean) * brightness, 0, 255).astype(np.uint8))
    save("rotated", _rotated(original, _signed(rng, 1.0, 2.0)))
    save("watermark", _watermark(original, rng))
    save("grayscale", cv2.cvtColor(original, cv2.COLOR_RGB2GRAY))
    save("format", original, ".jpg" if png_original else ".png", quality=85)
    stored, exif = _exif_rotated(original, rng)
    save("exif", stored, exif=exif)
    return out


def make_collection(folder: str | Path, *, size: int = 1600, seed: int = 2025, photos=PHOTOS, quartered=QUARTERED,
                    textures=TEXTURES, overlapped=OVERLAPPED) -> list[Item]:
    """Write the collection into ``folder`` (and ``truth.json``); returns its items.

    ``size`` is the longer side of an original in pixels; the photo subsets make smaller
    collections for tests.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    items: list[Item] = []
    sources: list[tuple[str, np.ndarray]] = [(name, source_photo(name)) for name in photos]
    for name in quartered:
        image = source_photo(name)
        h, w = image.shape[0] // 2, image.shape[1] // 2
        sources += [(f"{name}-q{i}", image[(i // 2) * h : (i // 2 + 1) * h, (i % 2) * w : (i % 2 + 1) * w]) for i in range(4)]
    for index, (name, image) in enumerate(sources):
        rng = np.random.default_rng([seed, index])
        original = _upscaled(image, size, rng)
        png = index % 4 == 3
        path = folder / f"{name}{'.png' if png else '.jpg'}"
        _save(original, path, quality=92)
        items.append(Item(str(path), name, "original"))
        items += [Item(p, name, kind) for p, kind in _write_variants(original, name, folder, png, rng)]
    for index, name in enumerate(overlapped):
        rng = np.random.default_rng([seed, 1000 + index])
        original = _upscaled(source_photo(name), size, rng)
        keep_x, keep_y = rng.uniform(0.6, 0.8, size=2)
        for side in (0, 1):
            picture = f"{name}-overlap{side}"
            path = folder / f"{picture}.jpg"
            _save(_crop(original, keep_x, keep_y, side, side), path)
            items.append(Item(str(path), picture, "overlap"))
    for index, name in enumerate(textures):
        rng = np.random.default_rng([seed, 2000 + index])
        image = source_photo(name)
        h, w = image.shape[0] // 2, image.shape[1] // 2
        for i in range(4):
            picture = f"{name}-tile{i}"
            path = folder / f"{picture}.jpg"
            _save(_upscaled(image[(i // 2) * h : (i // 2 + 1) * h, (i % 2) * w : (i % 2 + 1) * w], size, rng), path)
            items.append(Item(str(path), picture, "texture"))
    (folder / "truth.json").write_text(json.dumps([asdict(item) for item in items], indent=0))
    return items


def true_pairs(items: list[Item]) -> set[frozenset[str]]:
    """Every pair of files that show the same picture."""
    by_picture: dict[str, list[str]] = {}
    for item in items:
        by_picture.setdefault(item.picture, []).append(item.path)
    return {frozenset(pair) for paths in by_picture.values() for pair in combinations(paths, 2)}


def found_pairs(groups) -> set[frozenset[str]]:
    """Every pair of files put in one group."""
    return {frozenset(pair) for group in groups for pair in combinations(sorted(map(str, group)), 2)}


def pair_scores(groups, items: list[Item]) -> tuple[float, float]:
    """(precision, recall) of the pairs that ``groups`` (lists of paths) implies."""
    truth = true_pairs(items)
    found = found_pairs(groups)
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall
