"""Realistic time-lapse clips, generated in code: the data of the change-filter benchmark.

A *scene* is a fixed webcam looking at a real photo (scikit-image's bundled samples) while
things happen in front of it. It has two clips, both shot by the same simulated camera:

* the **sequence** (``frames`` frames), where events change the scene's state for good (until
  the next event): an object of 1-10 % of the frame appears, moves or leaves; the lights go
  off or on (the whole scene x0.25-0.45 and back); part of the scene is relit (a soft light or
  shadow over 10-40 % of the frame, x0.4-0.65 or x1.5-2.5) or that light goes away again.
  Every scored event is checked on noise-free frames: it changes at least half the area it
  covers, and 0.6 % of the frame, by 12 levels or more (8-bit sRGB); 30 % of the objects
  take their colours partly from what is behind them (a grey box on a grey floor).
  Some events are *ambiguous* on purpose and are not scored: objects under 0.3 % of the
  frame, and objects of 1-5 % whose mean contrast is only 1.5-4 grey levels;
* the **static clip** (``static_frames`` frames): the opening state, nothing happening, for
  calibration.

What a person would not call a change is all camera: every frame is the scene's linear-light
radiance, shifted by up to about a pixel (bilinear ``cv2.warpAffine``), times a slow exposure
drift (2-6 %) and white-balance drift (1 %), times per-frame flicker (1-3 %), turned into
photo-electrons with Poisson-Gaussian noise at a light level from daylight (3000-8000 e- at
white) through dusk (300-800 e-) to night (30-100 e-, then amplified like an auto-exposure
camera does, so night frames are noisy rather than dark: about 8 grey levels of noise against
2 by day), denoised a little as a camera's processing does (the noise is blurred, the scene
is not), spotted now and then with specks (hot pixels, dust of a few pixels, one frame each),
encoded to sRGB and 8 bits, and JPEG-compressed at quality 70-92 (per scene; some scenes vary
it per frame by up to 5).

Everything is drawn from ``numpy.random.default_rng`` seeded by (seed, scene, clip, frame), so
any frame can be rendered alone, in any order, in any process, and the bytes are the same on
every run on a given machine (Pillow's JPEG encoder and OpenCV are the only outside code).

Ground truth, per scene: the scored events' frames and the ambiguous events' frames. An event
at frame ``t`` is caught when some frame in ``[t, t + WINDOW]`` is kept; a kept frame outside
every event's window (ambiguous events included) is a false keep.

    scene = make_scene(0, seed=2024)                # astronaut, daylight
    jpeg = scene.render(17)                         # bytes of frame 17 of the sequence
    rgb = decode(jpeg)                              # uint8 (H, W, 3)
    paths = scene.write(folder)                     # every frame as JPEG files, plus truth.json
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

#: Scene photos (colour, bundled with scikit-image: no download).
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle")
#: Where objects come from: any of these but the scene's own photo.
DONORS = (*PHOTOS, "camera", "coins", "brick")
LIGHTS = ("day", "dusk", "night")

WINDOW = 2
"""An event at frame t is caught when a frame in [t, t + WINDOW] is kept."""
MIN_GAP = 3
"""Events are at least this many frames apart, and this far from either end of the sequence."""

SCORED_AREA = (0.01, 0.10)
"""Share of the frame covered by a scored object (its mask, alpha >= 0.5)."""
TINY_AREA = (0.0005, 0.003)
"""Share of the frame covered by an ambiguous tiny object."""
FAINT_AREA = (0.01, 0.05)
"""Share of the frame covered by an ambiguous faint object."""
FAINT_LEVELS = (1.5, 4.0)
"""Mean absolute change over a faint object, in 8-bit sRGB levels (noise-free)."""
RELIGHT_AREA = (0.10, 0.40)
"""Share of the frame a partial relighting covers (where its gain is past half-way)."""
VISIBLE_LEVEL = 12
"""8-bit sRGB change (noise-free, largest channel) that makes a pixel count as visibly changed."""
MIN_VISIBLE_SHARE = 0.006
"""A scored event visibly changes at least this share of the frame (noise-free)..."""
VISIBLE_SHARE_OF_AREA = 0.5
"""... and at least this share of the area it covers (a shadow over a black sky is redrawn)."""
MAX_OBJECTS = 4
"""Scored objects in the scene at once, at most."""
CAMOUFLAGE_SHARE = 0.3
"""Share of objects whose colours are pulled 40-75 % of the way towards the background's."""
FAINT_MAX_VISIBLE = 0.001
"""An ambiguous faint object changes at most this share of the frame by VISIBLE_LEVEL or more."""

#: Per light level: photo-electrons at white, output gain (auto-exposure at its limit at
#: night), and the sigma of the camera's noise reduction (blur applied to the noise only).
_LIGHT_RANGES = {
    "day": {"photons": (3000.0, 8000.0), "out_gain": (0.95, 1.0), "nr_sigma": (0.5, 0.7)},
    "dusk": {"photons": (300.0, 800.0), "out_gain": (0.85, 1.0), "nr_sigma": (0.5, 0.8)},
    "night": {"photons": (30.0, 100.0), "out_gain": (0.55, 0.8), "nr_sigma": (0.6, 0.9)},
}

#: Scored event kinds and how often each is drawn (when possible in the current state).
_SCORED_KINDS = {"appear": 0.28, "move": 0.22, "leave": 0.20, "lights": 0.12, "relight": 0.18}
#: Grouping used by reports.
KIND_GROUPS = {
    "appear": "object",
    "move": "object",
    "leave": "object",
    "lights-off": "lights",
    "lights-on": "lights",
    "relight": "relight",
    "relight-off": "relight",
}

_SEQUENCE, _STATIC, _PLAN = 1, 2, 0


# ----------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class Camera:
    """The simulated camera of one scene: everything that is *not* a change."""

    light: str
    photons: float
    """Photo-electrons for a white pixel at nominal exposure."""
    read_noise: float
    """Gaussian read noise, electrons."""
    out_gain: float
    """Output brightness relative to daylight (auto-exposure cannot fully make up at night)."""
    nr_sigma: float
    """Camera noise reduction: sigma (pixels) of the blur applied to the noise."""
    lens_sigma: float
    """Optics: sigma (pixels) of the blur applied to the scene."""
    quality: int
    """JPEG quality, nominal."""
    quality_step: int
    """Per-frame JPEG quality varies by up to this much (0: fixed), kept within 70-92."""
    flicker: float
    """Per-frame global gain varies uniformly within +-flicker."""
    drift: float
    """Slow exposure drift, at most +-drift."""
    jitter: float
    """Camera shake: each frame is shifted by up to this many pixels from the rest position."""
    speck_rate: float
    """Probability that a frame has specks (hot pixels or dust, one frame each)."""


@dataclass(frozen=True)
class Event:
    """One change of the scene's state, from frame ``frame`` on."""

    frame: int
    kind: str
    """appear, move, leave, lights-off, lights-on, relight, relight-off."""
    scored: bool
    area: float
    """Share of the frame covered by the object / relit region (both places for a move)."""
    visible: float
    """Share of the frame whose noise-free 8-bit value changes by VISIBLE_LEVEL or more."""
    contrast: float
    """Mean absolute noise-free change over the changed region, 8-bit sRGB levels."""
    note: str = ""
    """Why an unscored event is ambiguous: tiny or faint."""

    @property
    def group(self) -> str:
        return KIND_GROUPS[self.kind]


@dataclass(frozen=True)
class _Object:
    patch: np.ndarray  # float32 (h, w, 3) linear reflectance
    alpha: np.ndarray  # float32 (h, w) in [0, 1]
    top: int
    left: int
    scored: bool
    note: str = ""


@dataclass(frozen=True)
class _Blob:
    gain: np.ndarray  # float32 (H, W): multiplicative light map, 1 far from the blob
    area: float  # share of the frame past half-way


@dataclass(frozen=True)
class _State:
    objects: tuple[_Object, ...] = ()
    lights: float = 1.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    blobs: tuple[_Blob, ...] = ()


# ----------------------------------------------------------------------------- colour


@lru_cache(maxsize=1)
def _srgb_lut() -> np.ndarray:
    """uint8 sRGB code for each of 65536 linear levels in [0, 1]."""
    x = np.linspace(0.0, 1.0, 65536)
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.round(y * 255).astype(np.uint8)


def to_linear(srgb8: np.ndarray) -> np.ndarray:
    """8-bit sRGB -> float32 linear light in [0, 1]."""
    x = srgb8.astype(np.float32) / 255
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear light (any float) -> 8-bit sRGB, clipped to [0, 1] first."""
    index = np.clip(linear, 0.0, 1.0) * 65535 + 0.5
    return _srgb_lut()[index.astype(np.uint16)]


def decode(jpeg: bytes) -> np.ndarray:
    """JPEG bytes -> uint8 RGB (H, W, 3)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"))


def encode(rgb8: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb8).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


# ----------------------------------------------------------------------------- photos


@lru_cache(maxsize=16)
def photo(name: str) -> np.ndarray:
    """A scikit-image sample photo as uint8 RGB (read-only)."""
    from skimage import data

    image = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = np.ascontiguousarray(image[:, :, :3])
    image.setflags(write=False)
    return image


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop ``image`` to the aspect of ``size`` (width, height) and resize to it."""
    width, height = size
    h, w = image.shape[:2]
    if w * height > h * width:
        crop = round(h * width / height)
        image = image[:, (w - crop) // 2 : (w - crop) // 2 + crop]
    else:
        crop = round(w * height / width)
        image = image[(h - crop) // 2 : (h - crop) // 2 + crop]
    interpolation = cv2.INTER_AREA if image.shape[1] > width else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=interpolation)


# ----------------------------------------------------------------------------- shapes


def _blob_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An irregular soft-edged blob filling most of an (h, w) box, alpha in [0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    dy, dx = (yy - cy) / (h / 2), (xx - cx) / (w / 2)
    radius = np.hypot(dy, dx)
    theta = np.arctan2(dy, dx)
    wobble = np.ones_like(theta)
    for k in range(2, 6):
        wobble += rng.uniform(0, 0.24 / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    wobble *= 0.95 / wobble.max()  # stays inside the box, feather included
    edge = max(1.0, 0.04 * min(h, w))  # feather, pixels
    inside = (wobble - radius) * min(h, w) / 2 / edge
    return np.clip(inside + 0.5, 0.0, 1.0).astype(np.float32)


def _soft_ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float, softness: float) -> np.ndarray:
    """1 inside, 0 outside, a smoothstep of relative width ``softness`` across the edge."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((yy - cy) / ry, (xx - cx) / rx)
    t = np.clip((1 + softness - r) / (2 * softness), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


# ----------------------------------------------------------------------------- scenes


def scene_layout(index: int) -> tuple[str, str]:
    """(photo, light) of scene ``index``: every photo under every light within 15 scenes."""
    p = index % len(PHOTOS)
    return PHOTOS[p], LIGHTS[(p + index // len(PHOTOS)) % len(LIGHTS)]


@dataclass
class Scene:
    """One scene: its camera, its ground truth and the means to render any frame.

    Attributes
    ----------
    name : str
        ``photo-light``, unique within the first 15 scenes.
    events : tuple of Event
        Every event of the sequence, scored or not, in frame order.
    """

    index: int
    seed: int
    name: str
    photo: str
    size: tuple[int, int]
    frames: int
    static_frames: int
    camera: Camera
    events: tuple[Event, ...]
    _states: list[_State] = field(repr=False)
    _state_at: np.ndarray = field(repr=False)  # state index per sequence frame
    _drift: np.ndarray = field(repr=False)  # (n_components, 3): amplitude, period, phase
    _wb: np.ndarray = field(repr=False)  # (3, 2): amplitude, phase per channel
    _base: np.ndarray = field(repr=False)  # float32 linear (H, W, 3)
    _cache: dict = field(default_factory=dict, repr=False)

    # -- ground truth

    @property
    def scored(self) -> list[int]:
        return [e.frame for e in self.events if e.scored]

    @property
    def ambiguous(self) -> list[int]:
        return [e.frame for e in self.events if not e.scored]

    def truth(self) -> dict:
        """The ground truth and the settings, JSON-ready."""
        return {
            "name": self.name,
            "index": self.index,
            "seed": self.seed,
            "photo": self.photo,
            "light": self.camera.light,
            "size": list(self.size),
            "frames": self.frames,
            "static_frames": self.static_frames,
            "window": WINDOW,
            "camera": asdict(self.camera),
            "events": [asdict(e) for e in self.events],
        }

    # -- rendering

    def state_at(self, t: int) -> int:
        """Index of the scene's state at frame ``t`` of the sequence (0 until the first event)."""
        return int(self._state_at[t])

    def clean(self, state: int) -> np.ndarray:
        """Noise-free linear radiance of state ``state`` (0 = the opening state), lens included."""
        if state not in self._cache:
            if len(self._cache) > 2:
                self._cache.clear()
            self._cache[state] = _radiance(self._base, self._states[state], self.camera.lens_sigma)
        return self._cache[state]

    def render(self, t: int, *, static: bool = False) -> bytes:
        """JPEG bytes of frame ``t`` of the sequence (or of the static clip)."""
        count = self.static_frames if static else self.frames
        if not 0 <= t < count:
            raise IndexError(f"frame {t} is outside the {'static clip' if static else 'sequence'} (0..{count - 1})")
        state = 0 if static else self.state_at(t)
        rng = np.random.default_rng([self.seed, self.index, _STATIC if static else _SEQUENCE, t])
        # Static clip: the same camera at another time of day, so its drift is its own.
        clock = t + (10_000 if static else 0)
        exposure = 1 + float(np.sum(self._drift[:, 0] * np.sin(2 * np.pi * clock / self._drift[:, 1] + self._drift[:, 2])))
        wb = 1 + self._wb[:, 0] * np.sin(2 * np.pi * clock / 400 + self._wb[:, 1])
        return _shoot(self.clean(state), self.camera, rng, exposure, wb)

    def write(self, folder: str | Path) -> dict[str, list[Path]]:
        """Write ``seq/NNNNNN.jpg``, ``static/NNNNNN.jpg`` and ``truth.json`` under ``folder``.

        ``truth.json`` is written last, so its presence means the folder is complete.
        """
        folder = Path(folder)
        paths: dict[str, list[Path]] = {"seq": [], "static": []}
        for sub, count, static in (("seq", self.frames, False), ("static", self.static_frames, True)):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            for t in range(count):
                path = folder / sub / f"{t:06d}.jpg"
                path.write_bytes(self.render(t, static=static))
                paths[sub].append(path)
        (folder / "truth.json").write_text(json.dumps(self.truth(), indent=1))
        return paths


def _radiance(base: np.ndarray, state: _State, lens_sigma: float) -> np.ndarray:
    reflectance = base.copy()
    for obj in state.objects:
        h, w = obj.alpha.shape
        region = reflectance[obj.top : obj.top + h, obj.left : obj.left + w]
        a = obj.alpha[:, :, None]
        region *= 1 - a
        region += a * obj.patch
    light = np.full(base.shape[:2], state.lights, np.float32)
    for blob in state.blobs:
        light *= blob.gain
    radiance = reflectance * light[:, :, None] * np.asarray(state.tint, np.float32)
    if lens_sigma > 0:
        radiance = cv2.GaussianBlur(radiance, (0, 0), lens_sigma)
    return radiance


def _shoot(radiance: np.ndarray, camera: Camera, rng: np.random.Generator, exposure: float, wb: np.ndarray) -> bytes:
    """One exposure of the camera: shake, light, noise, specks, sRGB, JPEG."""
    h, w = radiance.shape[:2]
    # Shake: a shift within a disc of radius camera.jitter.
    r = camera.jitter * math.sqrt(rng.uniform())
    angle = rng.uniform(0, 2 * np.pi)
    shift = np.float32([[1, 0, r * math.cos(angle)], [0, 1, r * math.sin(angle)]])
    image = cv2.warpAffine(radiance, shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    flicker = 1 + rng.uniform(-camera.flicker, camera.flicker)
    image *= (exposure * flicker * wb).astype(np.float32)
    # Poisson-Gaussian noise, in electrons. Shot noise is exact Poisson where counts are low
    # (its skew matters there) and its normal approximation elsewhere.
    electrons = image * np.float32(camera.photons)
    sigma = np.sqrt(electrons + np.float32(camera.read_noise**2))
    noise = rng.standard_normal(image.shape, dtype=np.float32) * sigma
    low = electrons < 5
    if low.any():
        lam = electrons[low]
        noise[low] = rng.poisson(lam).astype(np.float32) - lam + camera.read_noise * rng.standard_normal(lam.shape, dtype=np.float32)
    noise /= np.float32(camera.photons)
    if camera.nr_sigma > 0:
        noise = cv2.GaussianBlur(noise, (0, 0), camera.nr_sigma)
    image += noise
    image *= np.float32(camera.out_gain)
    if rng.uniform() < camera.speck_rate:
        _specks(image, rng)
    quality = camera.quality
    if camera.quality_step:
        quality = int(np.clip(quality + rng.integers(-camera.quality_step, camera.quality_step + 1), 70, 92))
    return encode(to_srgb8(image), quality)


def _specks(image: np.ndarray, rng: np.random.Generator) -> None:
    """A few hot pixels or specks of dust (at most 13 pixels each), in place."""
    h, w = image.shape[:2]
    for _ in range(int(rng.integers(1, 5))):
        y, x = int(rng.integers(2, h - 2)), int(rng.integers(2, w - 2))
        if rng.uniform() < 0.5:  # hot pixel: one bright pixel, one channel or all
            channel = slice(None) if rng.uniform() < 0.5 else int(rng.integers(0, 3))
            image[y, x, channel] = 1.0
        else:  # dust or an insect: a tiny dark or bright disc
            radius = int(rng.integers(1, 3))
            value = 0.01 if rng.uniform() < 0.7 else 0.9
            cv2.circle(image, (x, y), radius, (value, value, value), -1)


# ----------------------------------------------------------------------------- planning


def _camera(rng: np.random.Generator, light: str) -> Camera:
    ranges = _LIGHT_RANGES[light]
    return Camera(
        light=light,
        photons=float(np.exp(rng.uniform(*np.log(ranges["photons"])))),
        read_noise=float(rng.uniform(2.0, 4.0)),
        out_gain=float(rng.uniform(*ranges["out_gain"])),
        nr_sigma=float(rng.uniform(*ranges["nr_sigma"])),
        lens_sigma=float(rng.uniform(0.4, 0.8)),
        quality=int(rng.integers(70, 93)),
        quality_step=int(rng.choice([0, 0, 3, 5])),
        flicker=float(rng.uniform(0.01, 0.03)),
        drift=float(rng.uniform(0.02, 0.06)),
        jitter=float(rng.uniform(0.15, 0.6)),
        speck_rate=float(rng.uniform(0.05, 0.2)),
    )


def _visible(before: np.ndarray, after: np.ndarray, out_gain: float) -> tuple[float, float]:
    """(share of pixels visibly changed, mean change over them or over all changed pixels)."""
    a = to_srgb8(before * out_gain).astype(np.int16)
    b = to_srgb8(after * out_gain).astype(np.int16)
    diff = np.abs(a - b).max(axis=2)
    visible = diff >= VISIBLE_LEVEL
    changed = diff > 0
    share = float(visible.mean())
    region = visible if visible.any() else changed
    contrast = float(diff[region].mean()) if region.any() else 0.0
    return share, contrast


class _Planner:
    """Draws a sequence of events whose ground truth is checked on noise-free images."""

    def __init__(self, rng: np.random.Generator, base: np.ndarray, camera: Camera, photo_name: str):
        self.rng = rng
        self.base = base
        self.camera = camera
        self.h, self.w = base.shape[:2]
        self.donors = [d for d in DONORS if d != photo_name]

    def radiance(self, state: _State) -> np.ndarray:
        return _radiance(self.base, state, 0.0)

    def area_of(self, alpha: np.ndarray) -> float:
        return float((alpha >= 0.5).sum()) / (self.h * self.w)

    def make_object(self, area: float, limits: tuple[float, float], *, scored: bool, note: str = "") -> _Object:
        """An object cut from another photo, covering ``area`` of the frame (kept within ``limits``)."""
        rng = self.rng
        aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
        box = area * self.h * self.w / 0.7  # the blob fills about 70 % of its box
        for _ in range(20):
            ph = max(3, min(self.h - 4, round(math.sqrt(box / aspect))))
            pw = max(3, min(self.w - 4, round(math.sqrt(box * aspect))))
            alpha = _blob_mask(rng, ph, pw)
            actual = self.area_of(alpha)
            if limits[0] <= actual < limits[1]:
                break
            box *= area / max(actual, 1e-9)
        else:  # pragma: no cover
            raise RuntimeError(f"no object of {area:.4f} of the frame fits {self.w}x{self.h}")
        donor = photo(str(rng.choice(self.donors)))
        scale = float(rng.uniform(0.6, 1.6))
        sh, sw = min(donor.shape[0], max(4, round(ph * scale))), min(donor.shape[1], max(4, round(pw * scale)))
        y, x = int(rng.integers(0, donor.shape[0] - sh + 1)), int(rng.integers(0, donor.shape[1] - sw + 1))
        cut = donor[y : y + sh, x : x + sw]
        if rng.uniform() < 0.5:
            cut = cut[:, ::-1]
        patch = to_linear(cv2.resize(np.ascontiguousarray(cut), (pw, ph), interpolation=cv2.INTER_AREA))
        top, left = self.place(ph, pw)
        if rng.uniform() < CAMOUFLAGE_SHARE:
            # Colours pulled towards what is behind: a grey box on a grey floor.
            behind = self.base[top : top + ph, left : left + pw].reshape(-1, 3).mean(axis=0)
            patch = behind + rng.uniform(0.25, 0.6) * (patch - behind)
        return _Object(patch.astype(np.float32), alpha, top, left, scored, note)

    def place(self, ph: int, pw: int) -> tuple[int, int]:
        return int(self.rng.integers(0, self.h - ph + 1)), int(self.rng.integers(0, self.w - pw + 1))

    def relight(self) -> _Blob:
        rng = self.rng
        for _ in range(100):
            area = rng.uniform(*RELIGHT_AREA)
            aspect = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
            ry = math.sqrt(area * self.h * self.w / math.pi / aspect)
            rx = ry * aspect
            cy, cx = rng.uniform(0.15, 0.85) * self.h, rng.uniform(0.15, 0.85) * self.w
            shape = _soft_ellipse((self.h, self.w), cy, cx, ry, rx, softness=0.35)
            if RELIGHT_AREA[0] <= float((shape >= 0.5).mean()) < RELIGHT_AREA[1]:
                break
        if rng.uniform() < 0.5:
            gain = float(np.exp(rng.uniform(np.log(1.5), np.log(2.5))))
        else:
            gain = float(np.exp(rng.uniform(np.log(0.4), np.log(0.65))))
        return _Blob((1 + (gain - 1) * shape).astype(np.float32), float((shape >= 0.5).mean()))

    def next_state(self, state: _State, kind: str) -> tuple[_State, str, float] | None:
        """(new state, event kind, area) for a scored event of ``kind``, or None if impossible."""
        rng = self.rng
        scored_objects = [i for i, o in enumerate(state.objects) if o.scored]
        if kind == "appear":
            if len(scored_objects) >= MAX_OBJECTS:
                return None
            area = float(np.exp(rng.uniform(*np.log(SCORED_AREA))))
            obj = self.make_object(area, SCORED_AREA, scored=True)
            return replace(state, objects=(*state.objects, obj)), "appear", self.area_of(obj.alpha)
        if kind in ("move", "leave"):
            if not scored_objects:
                return None
            i = int(rng.choice(scored_objects))
            obj = state.objects[i]
            rest = state.objects[:i] + state.objects[i + 1 :]
            if kind == "leave":
                return replace(state, objects=rest), "leave", self.area_of(obj.alpha)
            ph, pw = obj.alpha.shape
            for _ in range(50):
                top, left = self.place(ph, pw)
                if max(abs(top - obj.top) / ph, abs(left - obj.left) / pw) >= 0.5:
                    break
            else:
                return None
            moved = replace(obj, top=top, left=left)
            return replace(state, objects=(*rest, moved)), "move", 2 * self.area_of(obj.alpha)
        if kind == "lights":
            if state.lights < 1:
                return replace(state, lights=1.0, tint=(1.0, 1.0, 1.0)), "lights-on", 1.0
            level = float(rng.uniform(0.25, 0.45))
            tint = tuple(float(v) for v in rng.uniform(0.9, 1.1, 3))
            return replace(state, lights=level, tint=tint), "lights-off", 1.0
        if kind == "relight":
            if state.blobs and (len(state.blobs) >= 2 or rng.uniform() < 0.5):
                i = int(rng.integers(len(state.blobs)))
                area = state.blobs[i].area
                return replace(state, blobs=state.blobs[:i] + state.blobs[i + 1 :]), "relight-off", area
            blob = self.relight()
            return replace(state, blobs=(*state.blobs, blob)), "relight", blob.area
        raise ValueError(kind)

    def scored_event(self, state: _State) -> tuple[_State, str, float, float, float]:
        kinds = list(_SCORED_KINDS)
        weights = np.array([_SCORED_KINDS[k] for k in kinds])
        before = self.radiance(state)
        for _ in range(200):
            kind = str(self.rng.choice(kinds, p=weights / weights.sum()))
            drawn = self.next_state(state, kind)
            if drawn is None:
                continue
            new, name, area = drawn
            visible, contrast = _visible(before, self.radiance(new), self.camera.out_gain)
            if visible >= max(MIN_VISIBLE_SHARE, VISIBLE_SHARE_OF_AREA * area):
                return new, name, area, visible, contrast
        raise RuntimeError("no visible event could be drawn")  # pragma: no cover

    def ambiguous_event(self, state: _State) -> tuple[_State, str, float, float, float, str]:
        rng = self.rng
        before = self.radiance(state)
        tiny_present = [i for i, o in enumerate(state.objects) if o.note == "tiny"]
        if tiny_present and rng.uniform() < 0.3:
            i = int(rng.choice(tiny_present))
            obj = state.objects[i]
            new = replace(state, objects=state.objects[:i] + state.objects[i + 1 :])
            visible, contrast = _visible(before, self.radiance(new), self.camera.out_gain)
            return new, "leave", self.area_of(obj.alpha), visible, contrast, "tiny"
        if rng.uniform() < 0.5:
            obj = self.make_object(float(np.exp(rng.uniform(*np.log(TINY_AREA)))), TINY_AREA, scored=False, note="tiny")
            area = self.area_of(obj.alpha)
            new = replace(state, objects=(*state.objects, obj))
            visible, contrast = _visible(before, self.radiance(new), self.camera.out_gain)
            return new, "appear", area, visible, contrast, "tiny"
        # Faint: a larger object blended in at the opacity that gives the wanted mean contrast,
        # less where that would leave parts of it plainly visible.
        target = rng.uniform(*FAINT_LEVELS)
        obj = self.make_object(float(rng.uniform(*FAINT_AREA)), FAINT_AREA, scored=False, note="faint")
        area = self.area_of(obj.alpha)
        mask = obj.alpha >= 0.5
        sl = (slice(obj.top, obj.top + mask.shape[0]), slice(obj.left, obj.left + mask.shape[1]))
        a8 = to_srgb8(before[sl] * self.camera.out_gain).astype(np.float32)
        opacity, full = 1.0, obj.alpha
        for _ in range(8):
            new = replace(state, objects=(*state.objects, replace(obj, alpha=(full * opacity).astype(np.float32))))
            after = self.radiance(new)
            b8 = to_srgb8(after[sl] * self.camera.out_gain).astype(np.float32)
            contrast = float(np.abs(b8 - a8).mean(axis=2)[mask].mean())
            visible, _ = _visible(before, after, self.camera.out_gain)
            if contrast <= FAINT_LEVELS[1] and visible <= FAINT_MAX_VISIBLE:
                break
            opacity *= min(target / max(contrast, 1e-6), 0.7 if visible > FAINT_MAX_VISIBLE else 1.0)
        return new, "appear", area, visible, contrast, "faint"


def _event_frames(rng: np.random.Generator, frames: int, count: int) -> list[int]:
    """``count`` frames in [MIN_GAP, frames - 1 - WINDOW], pairwise at least MIN_GAP apart."""
    allowed = np.zeros(frames, bool)
    allowed[MIN_GAP : frames - WINDOW] = True
    chosen = []
    for _ in range(count):
        candidates = np.flatnonzero(allowed)
        if not len(candidates):
            break
        t = int(rng.choice(candidates))
        chosen.append(t)
        allowed[max(0, t - MIN_GAP + 1) : t + MIN_GAP] = False
    return sorted(chosen)


def make_scene(
    index: int,
    *,
    seed: int = 2024,
    size: tuple[int, int] = (640, 480),
    frames: int = 200,
    static_frames: int = 30,
    events_per_100: float = 6.0,
    ambiguous_share: float = 0.25,
) -> Scene:
    """Plan scene ``index``: camera, events and states. Rendering happens frame by frame.

    Parameters
    ----------
    index : int
        Scene number; the photo and light level follow from it (see ``scene_layout``).
    seed : int
        The benchmark seed; with ``index`` it fixes everything.
    size : (width, height)
        Frame size in pixels; the photo is centre-cropped to this aspect and resized.
    frames, static_frames : int
        Length of the sequence and of the static clip.
    events_per_100 : float
        Events (scored and ambiguous) per 100 frames.
    ambiguous_share : float
        Share of the events that are ambiguous (tiny or faint) and not scored.
    """
    if frames < 2 * MIN_GAP + WINDOW:
        raise ValueError(f"frames={frames} is too short: use at least {2 * MIN_GAP + WINDOW}")
    if static_frames < 2:
        raise ValueError(f"static_frames={static_frames}: use at least 2")
    photo_name, light = scene_layout(index)
    rng = np.random.default_rng([seed, index, _PLAN])
    camera = _camera(rng, light)
    base = to_linear(_fit(photo(photo_name), size))
    planner = _Planner(rng, base, camera, photo_name)

    count = max(1, round(frames * events_per_100 / 100))
    times = _event_frames(rng, frames, count)
    ambiguous = set(rng.choice(len(times), size=round(len(times) * ambiguous_share), replace=False).tolist()) if times else set()
    states = [_State()]
    events = []
    state_at = np.zeros(frames, np.int32)
    for n, t in enumerate(times):
        if n in ambiguous:
            state, kind, area, visible, contrast, note = planner.ambiguous_event(states[-1])
            events.append(Event(t, kind, False, area, visible, contrast, note))
        else:
            state, kind, area, visible, contrast = planner.scored_event(states[-1])
            events.append(Event(t, kind, True, area, visible, contrast))
        states.append(state)
        state_at[t:] = len(states) - 1

    n_drift = 3
    drift = np.stack(
        [rng.uniform(-1, 1, n_drift), rng.uniform(150, 600, n_drift), rng.uniform(0, 2 * np.pi, n_drift)], axis=1
    )
    drift[:, 0] *= camera.drift / np.abs(drift[:, 0]).sum()
    wb = np.stack([rng.uniform(-0.01, 0.01, 3), rng.uniform(0, 2 * np.pi, 3)], axis=1)
    return Scene(
        index=index,
        seed=seed,
        name=f"{photo_name}-{light}",
        photo=photo_name,
        size=size,
        frames=frames,
        static_frames=static_frames,
        camera=camera,
        events=tuple(events),
        _states=states,
        _state_at=state_at,
        _drift=drift,
        _wb=wb,
        _base=base,
    )


def settings_key(**settings: object) -> str:
    """A short hash of the settings and of this file: a cache folder name that never goes stale."""
    text = json.dumps(settings, sort_keys=True) + Path(__file__).read_text()
    return hashlib.sha256(text.encode()).hexdigest()[:16]

