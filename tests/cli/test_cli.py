"""The command line as users run it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from imgdelta.cli.main import main

from testdata import photo


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgdelta", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    a = photo("chelsea")
    b = a.copy()
    b[100:160, 200:280] = 0
    Image.fromarray(a).save(folder / "a.png")
    Image.fromarray(b).save(folder / "b.png")
    Image.fromarray(a).save(folder / "a.jpg", quality=90)
    return folder


def test_example_then_compare(tmp_path):
    done = run("example", str(tmp_path))
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["coffee.jpg", "coffee_changed.jpg", "coffee_reencoded.jpg", "static", "timelapse"]
    assert len(list((tmp_path / "timelapse").glob("*.jpg"))) == 48
    table = run("compare", str(tmp_path / "coffee.jpg"), str(tmp_path / "coffee_changed.jpg"))
    assert table.returncode == 0 and table.stderr == ""
    for name in ("mae", "rmse", "psnr", "ssim", "max_abs", "changed_fraction", "largest difference"):
        assert name in table.stdout


def test_json_output_is_one_valid_object(images):
    done = run("compare", str(images / "a.png"), str(images / "b.png"), "--json", "--metric", "ssim,psnr", "--metric", "pixelmatch")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert list(data["metrics"]) == ["ssim", "psnr", "pixelmatch"]
    assert 4000 < data["metrics"]["pixelmatch"] <= 60 * 80  # the blacked-out patch, less its dark pixels
    assert data["size"] == [451, 300] and data["verdict"] is None


def test_identical_images_give_null_psnr_not_infinity(images):
    done = run("compare", str(images / "a.png"), str(images / "a.png"), "--json", "--metric", "psnr,mse")
    assert "Infinity" not in done.stdout and "NaN" not in done.stdout
    data = json.loads(done.stdout)
    assert data["metrics"] == {"psnr": None, "mse": 0.0} and data["identical"] is True


@pytest.mark.parametrize(
    ("flags", "status", "verdict"),
    [
        (["--fail", "0.5"], 1, "FAIL"),
        (["--fail", "0.5", "--fail-percent", "10"], 0, "PASS"),
        (["--fail", "0.5", "--allow-pixels", "4800"], 0, "PASS"),
        (["--warn", "0.5"], 0, "WARN"),
        (["--require", "ssim>=0.99"], 1, "FAIL"),
        (["--require", "ssim>=0.5"], 0, "PASS"),
    ],
)
def test_verdict_exit_status(images, flags, status, verdict, capsys):
    code = main(["compare", str(images / "a.png"), str(images / "b.png"), "--json", *flags])
    out = json.loads(capsys.readouterr().out)
    assert code == status and out["verdict"]["status"] == verdict


def test_options_reach_the_metrics(images, capsys):
    args = ["compare", str(images / "a.png"), str(images / "b.png"), "--json", "--metric", "mae"]
    main(args)
    full = json.loads(capsys.readouterr().out)["metrics"]["mae"]
    main([*args, "--ignore", "200,100,80,60"])
    assert json.loads(capsys.readouterr().out)["metrics"]["mae"] == 0.0 < full
    main([*args, "--crop", "0,0,100,100", "--gray"])
    out = json.loads(capsys.readouterr().out)
    assert out["size"] == [100, 100] and out["channels"] == 1


def test_a_rectangle_with_a_minus_sign_gets_the_rectangle_message(images, capsys):
    """argparse would read ``-5,...`` after an option as an option of its own and answer
    "expected one argument"; the value reaches the rectangle parser, which explains."""
    args = ["compare", str(images / "a.png"), str(images / "b.png"), "--metric", "mae"]
    for option in ("--ignore", "--crop"):
        assert main([*args, option, "-20,-10,300,400"]) == 2
        assert f"{option} '-20,-10,300,400' is not x,y,width,height" in capsys.readouterr().err
    assert main(["filter", str(images), str(images / "out"), "--roi", "-1,0,10,10"]) == 2
    assert "--roi '-1,0,10,10' is not x,y,width,height" in capsys.readouterr().err
    assert not (images / "out").exists()


def test_hash_lines_equal_imagehash(images):
    import imagehash

    files = [images / "a.png", images / "b.png", images / "a.jpg"]
    done = run("hash", "--json", *map(str, files))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    for path, line in zip(files, lines):
        with Image.open(path) as image:
            assert line == {
                "path": str(path),
                "ahash": str(imagehash.average_hash(image)),
                "dhash": str(imagehash.dhash(image)),
                "phash": str(imagehash.phash(image)),
                "whash": str(imagehash.whash(image)),
            }
    table = run("hash", str(files[0]))
    assert table.returncode == 0 and lines[0]["phash"] in table.stdout


def test_metrics_listing(capsys):
    assert main(["metrics", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["psnr"]["range"] == [0.0, None] and listing["ssim"]["default"] is True
    assert main(["metrics"]) == 0
    assert "pixelmatch" in capsys.readouterr().out


def test_16_bit_difference_below_8_bit_resolution_is_seen(tmp_path, capsys):
    a = np.full((32, 32), 30000, np.uint16)
    b = a.copy()
    b[0, 0] += 1
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    main(["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--json", "--metric", "max_abs"])
    assert json.loads(capsys.readouterr().out)["metrics"]["max_abs"] == pytest.approx(1 / 65535, rel=1e-3)


def test_diff_out_is_written_whenever_the_images_differ(tmp_path, capsys):
    white = np.full((128, 128, 3), 255, np.uint8)
    line = white.copy()
    line[60:62, 20:110] = 0  # two pixels thick: under the size diff draws a region around
    Image.fromarray(white).save(tmp_path / "white.png")
    Image.fromarray(line).save(tmp_path / "line.png")
    boxed = white.copy()
    boxed[30:70, 30:80] = 0
    Image.fromarray(boxed).save(tmp_path / "boxed.png")

    assert main(["compare", str(tmp_path / "white.png"), str(tmp_path / "line.png"), "--diff-out", str(tmp_path / "d1.png")]) == 0
    with Image.open(tmp_path / "d1.png") as picture:
        assert picture.size == (128, 128)
    assert "d1.png marks nothing: no changed region" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "white.png"), str(tmp_path / "boxed.png"), "--diff-out", str(tmp_path / "d2.png")]) == 0
    assert (tmp_path / "d2.png").exists() and capsys.readouterr().err == ""
    assert main(["compare", str(tmp_path / "white.png"), str(tmp_path / "white.png"), "--diff-out", str(tmp_path / "d3.png")]) == 0
    assert not (tmp_path / "d3.png").exists()
    # a format it cannot write is refused before any work, and named by its option
    assert main(["compare", str(tmp_path / "white.png"), str(tmp_path / "white.png"), "--diff-out", str(tmp_path / "d.gif")]) == 2
    assert capsys.readouterr().err.strip() == f"imgdelta compare: --diff-out {tmp_path / 'd.gif'}: write the diff picture as .png, .jpg or .webp"
