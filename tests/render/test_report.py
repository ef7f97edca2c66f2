"""The HTML report of a run: self-contained, escaped, bounded in size, and read-only."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from testdata import snapshot

from imgdelta.examples import write_example_sequence
from imgdelta.pipeline import filter_frames
from imgdelta.render import build_report
from imgdelta.store import FrameRecord, Manifest


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(document: str) -> list[tuple[str, dict]]:
    parser = Tags()
    parser.feed(document)
    return parser.tags


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    sequence, _ = write_example_sequence(root / "example")
    out = root / "kept"
    filter_frames(sequence, out)
    return out


def test_the_report_shows_the_plot_the_kept_frames_and_their_heatmaps(run, tmp_path):
    before = snapshot(run)
    document = build_report(run)
    assert snapshot(run) == before  # the run's folder is only read
    tags = parse(document)
    assert [t for t, _ in tags].count("svg") == 1 and any(t == "polyline" for t, _ in tags)
    cards = [a for t, a in tags if t == "div" and a.get("class") == "card"]
    assert len(cards) == 4
    images = [a for t, a in tags if t == "img"]
    assert len(images) == 4 + 3  # every kept frame, and a heatmap for all but the first
    assert all(a["src"].startswith("data:image/jpeg;base64,") for a in images)  # nothing fetched
    assert "lighting changed" in document and "changed " in document
    assert not re.search(r"(src|href)=\"(https?:)?//", document)


def test_names_are_escaped(tmp_path):
    out = tmp_path / "run"
    with Manifest.open(out, create=True) as manifest:
        manifest.set_setting("run", {"source": "<script>alert(1)</script>", "settings": {}})
        name = 'a<b>"&.jpg'
        Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(out / name, format="JPEG")
        manifest.record(FrameRecord(idx=0, name=name, decision="keep", reason="first <frame>", kept_name=name))
        manifest.commit()
    document = build_report(out)
    assert "<script>alert" not in document and "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "a&lt;b&gt;&quot;&amp;.jpg" in document and "first &lt;frame&gt;" in document


def test_a_long_run_stays_small(tmp_path):
    out = tmp_path / "long"
    rng = np.random.default_rng(5)
    frame = out / "kept.jpg"
    with Manifest.open(out, create=True) as manifest:
        manifest.set_setting("run", {"source": "camera 0", "settings": {}})
        Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(frame)
        for idx in range(100_000):
            keep = idx % 50 == 0
            manifest.record(
                FrameRecord(
                    idx=idx, name=f"{idx}", time=float(idx), decision="keep" if keep else "skip", reason="r",
                    score=float(rng.random() * 0.004), threshold=0.002, kept_name="kept.jpg" if keep else None,
                )
            )
        manifest.commit()
    document = build_report(out, max_gallery=50)
    tags = parse(document)
    (polyline,) = [a for t, a in tags if t == "polyline"]
    assert len(polyline["points"].split()) <= 2000
    assert len([1 for t, a in tags if t == "div" and a.get("class") == "card"]) == 50
    assert "Showing 50 of 2000 kept frames" in document
    assert len(document) < 5_000_000


def test_the_report_command(run, tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "imgdelta", *args], capture_output=True, text=True, timeout=120)

    done = cli("report", str(run), "-o", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    for args, message in (
        (["report", str(tmp_path / "missing"), "-o", str(tmp_path / "r.html")], "no such folder"),
        (["report", str(tmp_path), "-o", str(tmp_path / "r.html")], "no manifest here"),
        (["report", str(run), "-o", str(run / "r.html")], "outside"),
    ):
        bad = cli(*args)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and message in bad.stderr, bad.stderr


def test_a_keep_just_over_the_threshold_stands_out_beside_a_light_switched_on():
    """The score axis is logarithmic: on a linear one a keep at 0.3 % beside a spike at 85 %
    would sit a third of a percent of the plot above the floor."""
    from imgdelta.render.report import _plot

    idx = np.arange(10, dtype=np.float64)
    score = np.array([0.0, 0.0005, 0.0004, 0.003, 0.0005, 0.85, 0.0006, 0.0003, 0.0005, 0.0004])
    kept = np.array([3.0, 5.0])
    (polyline,) = [a for t, a in parse(_plot(idx, score, 0.002, kept, 100)) if t == "polyline"]
    heights = {int(round(float(x))): float(y) for x, y in (point.split(",") for point in polyline["points"].split())}
    floor, top = 260 - 40, 40  # the plot's baseline and top, in SVG units
    small, spike = heights[round(40 + 3 / 9 * 880)], heights[round(40 + 5 / 9 * 880)]
    (threshold,) = [a for t, a in parse(_plot(idx, score, 0.002, kept, 100)) if t == "line" and a.get("class") == "threshold"]
    assert spike == pytest.approx(top)
    assert (floor - small) / (floor - top) > 0.3 and small < float(threshold["y1"])  # above the dashed line
