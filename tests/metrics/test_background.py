"""The background model: per-pixel mean and deviation from frames, and B's share outside it.

Checked against a hand computation with NumPy on the stack of frames (mean and standard
deviation over the frames, ddof = 0, then the share of pixels with |B - mean| > k max(std,
floor) in any channel), and on generated scenes: a moved object is found, noise is not.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import imgdelta
from imgdelta import BackgroundModel, Preprocess, compare_background
from imgdelta.cli.main import main
from imgdelta.errors import InputError, OptionError, SizeMismatchError
from imgdelta.metrics.background import BACKGROUND_K, BACKGROUND_NOISE_FLOOR

from testdata import photo


def _share_by_hand(stack: np.ndarray, image: np.ndarray, k: float, floor: float, mask: np.ndarray | None = None) -> float:
    mean = stack.mean(axis=0)
    std = stack.std(axis=0)
    outside = (np.abs(image - mean) > k * np.maximum(std, floor)).any(axis=2)
    kept = np.ones(outside.shape, bool) if mask is None else mask
    return np.count_nonzero(outside & kept) / np.count_nonzero(kept)


def test_learned_statistics_and_share_equal_numpy_on_the_stack():
    rng = np.random.default_rng(31)
    base = rng.random((40, 50, 3))
    spread = rng.uniform(0.0, 0.05, (40, 50, 3))  # some pixels nearly still: the floor matters
    stack = np.clip(base + spread * rng.standard_normal((12, 40, 50, 3)), 0, 1)
    model = BackgroundModel.learn(iter(stack))  # a generator: read once
    assert model.frames == 12 and model.shape == (40, 50, 3)
    assert model.mean.dtype == model.std.dtype == np.float32
    np.testing.assert_allclose(model.mean, stack.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.std, stack.std(axis=0), rtol=0, atol=1e-6)
    image = np.clip(base + 0.04 * rng.standard_normal(base.shape), 0, 1)
    for k, floor in ((3.0, BACKGROUND_NOISE_FLOOR), (2.0, 0.0), (1.5, 0.02)):
        expected = _share_by_hand(stack, image, k, floor)
        assert 0 < expected < 1
        assert model.score(image, k=k, floor=floor) == pytest.approx(expected, abs=1.5 / (40 * 50))
    mask = np.zeros((40, 50), bool)
    mask[5:30, 10:45] = True
    assert model.score(image, mask=mask) == pytest.approx(_share_by_hand(stack, image, 3.0, BACKGROUND_NOISE_FLOOR, mask), abs=1.5 / mask.sum())


def test_a_static_training_set_and_the_noise_floor():
    frame = photo("camera")[:64, :96].astype(np.float32)[:, :, None] / 255
    model = BackgroundModel.learn([frame, frame, frame])
    assert not model.std.any()
    assert model.score(frame) == 0.0
    assert model.score(frame + 1 / 255) == 0.0  # under 3 x 2 levels
    assert model.score(np.clip(frame + 7 / 255, 0, 1)) == pytest.approx(np.mean(frame[:, :, 0] + 7 / 255 <= 1), abs=1e-9)
    assert model.score(frame + 1 / 255, floor=0.0) == 1.0
    assert BACKGROUND_K == 3.0 and BACKGROUND_NOISE_FLOOR == 2 / 255


def test_a_pixel_counts_when_any_channel_leaves_the_background():
    rng = np.random.default_rng(5)
    stack = rng.normal(0.5, 0.01, (20, 8, 8, 3))
    model = BackgroundModel.learn(stack)
    image = stack.mean(axis=0)
    image[2, 3, 2] += 0.2  # blue only
    assert model.outliers(image).sum() == 1 and model.outliers(image)[2, 3]


def _scene_frames(rng: np.random.Generator, count: int, position: tuple[int, int], noise: float = 2.0) -> list[np.ndarray]:
    """A webcam's frames: a scene with a small object at ``position``, sensor noise."""
    scene = photo("coffee")[100:196, 200:328].astype(np.float64)
    patch = photo("chelsea")[100:116, 200:216].astype(np.float64)
    y, x = position
    frames = []
    for _ in range(count):
        frame = scene.copy()
        frame[y : y + 16, x : x + 16] = patch
        frames.append(np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8))
    return frames


def test_a_moved_object_is_found_and_noise_is_not():
    rng = np.random.default_rng(77)
    frames = _scene_frames(rng, 30, (20, 20))
    quiet = _scene_frames(rng, 1, (20, 20))[0]
    moved = _scene_frames(rng, 1, (50, 90))[0]
    # Gaussian noise passes 3 sigma in 0.27 % of samples: about 0.8 % of pixels in one of 3 channels
    assert compare_background(frames, quiet).metrics["background"] < 0.015
    result = compare_background(frames, moved)
    model = BackgroundModel.learn(f.astype(np.float32) / 255 for f in frames)
    outside = model.outliers(moved.astype(np.float32) / 255)
    changed = np.zeros(outside.shape, bool)
    changed[20:36, 20:36] = changed[50:66, 90:106] = True  # where it was, where it is
    assert outside[changed].mean() > 0.8 and outside[~changed].mean() < 0.015
    assert result.metrics["background"] == pytest.approx(outside.mean(), abs=1e-12)
    assert result.outside_pixels == outside.sum() and result.compared_pixels == outside.size
    assert result.frames == 30 and result.size == (128, 96) and result.channels == 3
    # ignoring both places leaves only noise; cropping to the new place leaves mostly change
    ignored = compare_background(frames, moved, preprocess=Preprocess(ignore=((20, 20, 16, 16), (90, 50, 16, 16))))
    assert ignored.metrics["background"] < 0.015 and ignored.compared_pixels == 128 * 96 - 2 * 256
    cropped = compare_background(frames, moved, preprocess=Preprocess(crop=(90, 50, 16, 16)))
    assert cropped.metrics["background"] > 0.8 and cropped.size == (16, 16)
    gray = compare_background(frames, moved, preprocess=Preprocess(grayscale=True), k=4.0)
    assert gray.channels == 1 and 0.01 < gray.metrics["background"] <= result.metrics["background"]


def test_rules_give_a_verdict():
    rng = np.random.default_rng(12)
    frames = _scene_frames(rng, 8, (20, 20))
    moved = _scene_frames(rng, 1, (50, 90))[0]
    rule = imgdelta.parse_rule("background<=0.01")
    result = compare_background(frames, moved, tolerance=imgdelta.Tolerance(rules=(rule,)))
    assert result.verdict.status == "FAIL" and result.exit_code == 1
    with pytest.raises(OptionError, match="per-pixel limits .* use a rule such as 'background<=0.01'"):
        compare_background(frames, moved, tolerance=imgdelta.Tolerance(fail=0.1))


@pytest.fixture
def folders(tmp_path):
    rng = np.random.default_rng(40)
    (tmp_path / "frames").mkdir()
    for i, frame in enumerate(_scene_frames(rng, 6, (20, 20))):
        Image.fromarray(frame).save(tmp_path / "frames" / f"frame{i + 1}.png")
    Image.fromarray(_scene_frames(rng, 1, (50, 90))[0]).save(tmp_path / "b.png")
    Image.fromarray(photo("coffee")[:50, :60]).save(tmp_path / "small.png")
    (tmp_path / "empty").mkdir()
    return tmp_path


def test_the_command_line_prints_the_share(folders):
    done = subprocess.run(
        [sys.executable, "-m", "imgdelta", "compare", "--background", str(folders / "frames"), str(folders / "b.png"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    expected = compare_background(folders / "frames", folders / "b.png")
    assert printed["metrics"] == {"background": expected.metrics["background"]} and printed["metrics"]["background"] > 0.02
    assert printed["frames"] == 6 and printed["size"] == [128, 96] and printed["k"] == 3.0


def test_the_table_and_options(folders, capsys):
    frames, b = str(folders / "frames"), str(folders / "b.png")
    assert main(["compare", "--background", frames, b]) == 0
    table = capsys.readouterr().out
    assert "background" in table and "6 frames" in table and "pixels outside the background" in table
    assert main(["compare", "--background", frames, b, "--background-k", "1000", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["background"] < 0.01
    assert main(["compare", "--background", frames, b, "--require", "background<=0.001"]) == 1
    assert "verdict: FAIL" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--background", "{tmp}/empty", "{tmp}/b.png"], r"empty: the folder holds no image file"),
        (["--background", "{tmp}/missing", "{tmp}/b.png"], r"missing: no such folder"),
        (["--background", "{tmp}/frames", "{tmp}/small.png"], r"small.png is 60x50 but the first background frame, .*frame1.png, is 128x96: choose --resize"),
        (["--background", "{tmp}/frames", "{tmp}/b.png", "{tmp}/b.png"], r"with --background give one image, B"),
        (["--background", "{tmp}/frames"], r"with --background give one image, B"),
        ([], r"compare needs two images, A and B \(or --background DIR B\)"),
        (["{tmp}/b.png"], r"compare needs two images, A and B \(or --background DIR B\)"),
        (["{tmp}/b.png", "{tmp}/b.png", "--background-k", "2"], r"--background-k and --background-floor apply only with --background DIR"),
        (["--background", "{tmp}/frames", "{tmp}/b.png", "--background-k", "0"], r"background k=0.0 must be a positive number"),
        (["--background", "{tmp}/frames", "{tmp}/b.png", "--metric", "ssim"], r"the one metric is 'background'"),
        (["--background", "{tmp}/frames", "{tmp}/b.png", "--align", "phase"], r"alignment \(--align\) does not apply"),
        (["--background", "{tmp}/frames", "{tmp}/b.png", "--diff-out", "{tmp}/d.png"], r"--diff-out does not apply"),
    ],
)
def test_bad_input_is_one_line_and_status_2(folders, capsys, arguments, message):
    assert main(["compare", *(a.format(tmp=folders) for a in arguments)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("imgdelta compare: ")
    assert __import__("re").search(message, captured.err), captured.err
    assert not (folders / "d.png").exists()


def test_frames_of_different_sizes(folders, capsys):
    Image.fromarray(photo("coffee")[:50, :60]).save(folders / "frames" / "frame9.png")
    assert main(["compare", "--background", str(folders / "frames"), str(folders / "b.png")]) == 2
    assert "frame9.png is 60x50 but" in capsys.readouterr().err
    with pytest.raises(SizeMismatchError, match=r"frame9.png is 60x50 but .*frame1.png is 128x96: the frames must all have one size"):
        compare_background(folders / "frames", folders / "b.png")


def test_uint8_frames_are_on_the_0_255_scale():
    rng = np.random.default_rng(11)
    frames = [rng.integers(0, 256, (6, 7, 3), dtype=np.uint8) for _ in range(4)]
    from_uint8 = BackgroundModel.learn(frames)
    from_float = BackgroundModel.learn([f.astype(np.float32) / 255 for f in frames])
    np.testing.assert_allclose(from_uint8.mean, from_float.mean, atol=1e-6)
    np.testing.assert_allclose(from_uint8.std, from_float.std, atol=1e-6)
    assert from_uint8.score(frames[0]) == from_float.score(frames[0].astype(np.float32) / 255)


def test_api_errors():
    frame = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(OptionError, match=r"must be a NumPy array, not str: imgdelta.compare_background\(folder, image\) reads files"):
        BackgroundModel.learn(["frame.jpg"])
    with pytest.raises(OptionError, match=r"dtype uint16 has no known scale"):
        BackgroundModel.learn([np.zeros((8, 8), np.uint16)])
    with pytest.raises(OptionError, match="needs at least one frame"):
        BackgroundModel.learn([])
    with pytest.raises(OptionError, match="needs at least one frame"):
        compare_background([], np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(SizeMismatchError, match="background frame 2 is colour but the first is gray"):
        BackgroundModel.learn([frame[:, :, :1], frame])
    with pytest.raises(SizeMismatchError, match="the image is 4x8 colour but the background frames are 8x8 colour"):
        BackgroundModel.learn([frame]).score(frame[:, :4])
    with pytest.raises(OptionError, match=r"noise floor=-1 must be a standard deviation >= 0"):
        BackgroundModel.learn([frame]).score(frame, floor=-1)
    with pytest.raises(InputError, match="no such folder"):
        compare_background("/nonexistent/frames", frame)
