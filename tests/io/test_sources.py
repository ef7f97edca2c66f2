"""Frame sources: folders, video files, snapshot URLs, MJPEG streams and cameras.

Everything is made in the test: images and an mp4 in ``tmp_path``, http servers on
127.0.0.1. Video and stream frames carry their number as the position of a white bar
(columns 3i..3i+2), read back with :func:`bar_index`.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import re
import socket
import threading
import time

import numpy as np
import pytest
from PIL import Image

import imgdelta
from imgdelta.errors import SourceLostError
from imgdelta.io import Frame, FrameSource, load_image, open_source
from imgdelta.io import sources as sources_module

from testdata import SEED, photo

WIDTH, HEIGHT, FPS, FRAMES = 96, 64, 25.0, 30
TIMESTAMP = re.compile(r"^\d{8}-\d{6}\.\d{3}$")


def numbered_frame(i: int) -> np.ndarray:
    """RGB uint8: a white bar at columns 3i..3i+2 over the top 48 rows, a red band below."""
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    rgb[:48, 3 * i : 3 * i + 3] = 255
    rgb[48:, :, 0] = 255
    return rgb


def bar_index(rgb: np.ndarray) -> int:
    profile = rgb[:40].astype(np.float64).mean(axis=(0, 2))
    return round((np.flatnonzero(profile > 128).mean() - 1) / 3)


def jpeg_bytes(rgb: np.ndarray, quality: int = 95) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("imgdelta-video", "imgdelta-decode"))]


# -- options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "dvd"}, "kind='dvd' is not a source kind"),
        ({"analysis_size": 0}, "analysis_size=0 must be a positive"),
        ({"workers": 0}, "workers=0 must be"),
        ({"start": -1}, "start=-1 must be"),
        ({"interval": 0.5}, "interval applies to live sources"),
        ({"interval": -1.0}, "interval=-1.0 must be a positive"),
    ],
)
def test_options_are_validated(tmp_path, options, message):
    (tmp_path / "a.png").write_bytes(png_bytes(numbered_frame(0)))
    with pytest.raises(imgdelta.OptionError, match=message):
        open_source(tmp_path, **options)


def test_live_sources_cannot_skip_frames():
    with pytest.raises(imgdelta.OptionError, match="start=3 applies to folders and videos"):
        open_source("rtsp://127.0.0.1:9/live", start=3)


# -- folders -------------------------------------------------------------------------------


@pytest.fixture
def small_folder(tmp_path):
    """Twelve small PNG/JPEG frames of random content, named so natural order matters."""
    rng = np.random.default_rng(SEED)
    folder = tmp_path / "frames"
    folder.mkdir()
    names = [f"img_{i}.png" if i % 3 else f"img_{i}.jpg" for i in range(1, 13)]
    for name in names:
        rgb = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
        data = png_bytes(rgb) if name.endswith(".png") else jpeg_bytes(rgb)
        (folder / name).write_bytes(data)
    (folder / "notes.txt").write_text("not a frame")
    return folder, names


def test_folder_frames_come_in_natural_order(small_folder):
    folder, names = small_folder
    with open_source(folder) as source:
        assert isinstance(source, FrameSource)
        assert source.description == f"folder {folder} (12 images)"
        assert (source.live, source.length, source.fps) == (False, 12, None)
        frames = list(source)
    assert [f.name for f in frames] == names  # img_2 before img_10
    assert [f.index for f in frames] == list(range(12))
    for frame, name in zip(frames, names):
        assert frame.path == folder / name
        assert frame.suffix == name[-4:]
        assert (frame.image, frame.data, frame.error) == (None, None, None)
        assert frame.time == (folder / name).stat().st_mtime
        assert frame.pixels.dtype == np.float32 and frame.pixels.shape == (40, 60, 3)
        np.testing.assert_array_equal(frame.pixels, load_image(folder / name).pixels)


def test_folder_glob_pattern(small_folder):
    folder, names = small_folder
    with open_source(folder / "*.jpg") as source:
        assert source.description.startswith("pattern ")
        assert [f.name for f in source] == [n for n in names if n.endswith(".jpg")]


def test_jpeg_frames_decode_at_a_reduced_scale(tmp_path):
    Image.fromarray(photo("astronaut")).resize((1600, 1200)).save(tmp_path / "big.jpg", quality=90)
    (frame,) = open_source(tmp_path, analysis_size=300)
    height, width, channels = frame.pixels.shape
    assert (width, height, channels) == (400, 300, 3)  # 1/4 scale: 1/8 would be under 300
    (shrunk,) = open_source(tmp_path, analysis_size=256)
    assert shrunk.pixels.shape == (192, 256, 3)  # 1/4 scale is over 1.5x the size asked: shrunk
    assert frame.pixels.dtype == np.float32 and 0.0 <= frame.pixels.min() and frame.pixels.max() <= 1.0
    reference = np.asarray(Image.open(tmp_path / "big.jpg").resize((400, 300), Image.Resampling.BOX), np.float32) / 255
    assert np.abs(frame.pixels - reference).mean() < 0.03  # the same picture, smaller
    (full,) = open_source(tmp_path, analysis_size=None)
    assert full.pixels.shape == (1200, 1600, 3)


def test_large_png_frames_are_shrunk_to_the_analysis_size(tmp_path):
    big = Image.fromarray(photo("camera")).resize((1000, 800))  # gray: one channel
    big.save(tmp_path / "big.png")
    (frame,) = open_source(tmp_path, analysis_size=256)
    assert frame.pixels.shape == (205, 256, 1)
    assert frame.suffix == ".png"
    reference = np.asarray(big.resize((256, 205), Image.Resampling.BOX), np.float32)[:, :, None] / 255
    assert np.abs(frame.pixels - reference).mean() < 0.02
    small = Image.fromarray(photo("camera")).resize((380, 300))
    small.save(tmp_path / "big.png")
    (kept,) = open_source(tmp_path, analysis_size=256)
    assert kept.pixels.shape == (300, 380, 1)  # within 1.5x of the size asked: decoded size kept


def test_a_corrupt_file_yields_an_error_frame_and_the_rest_still_come(small_folder):
    folder, names = small_folder
    broken = folder / names[4]
    broken.write_bytes(broken.read_bytes()[:60])  # truncated
    (folder / names[7]).write_bytes(b"this is no image at all")
    frames = list(open_source(folder, workers=3))
    assert [f.name for f in frames] == names
    bad = {f.name: f for f in frames if f.error is not None}
    assert sorted(bad) == sorted([names[4], names[7]])
    for frame in bad.values():
        assert frame.pixels is None
        assert frame.name in frame.error and "\n" not in frame.error
    assert all(f.pixels is not None for f in frames if f.error is None)


def test_start_skips_files_without_decoding_them(small_folder, monkeypatch):
    folder, names = small_folder
    decoded = []
    real = sources_module.load_image

    def spy(path, **options):
        decoded.append(path.name)
        return real(path, **options)

    monkeypatch.setattr(sources_module, "load_image", spy)
    frames = list(open_source(folder, start=9))
    assert [(f.index, f.name) for f in frames] == list(enumerate(names))[9:]
    assert sorted(decoded) == sorted(names[9:])
    assert list(open_source(folder, start=12)) == []


def test_decoding_ahead_gives_the_same_frames_as_one_thread(small_folder):
    folder, _ = small_folder
    one = list(open_source(folder, workers=1))
    many = list(open_source(folder, workers=4))
    assert [f.name for f in one] == [f.name for f in many]
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a.pixels, b.pixels)


def test_leaving_a_folder_early_stops_its_threads(small_folder):
    folder, _ = small_folder
    source = open_source(folder, workers=3)
    for frame in source:
        if frame.index == 2:
            break
    source.close()
    assert not decode_threads()


@pytest.mark.parametrize(("analysis_size", "ahead"), [(32, 16), (None, 4)])
def test_a_folder_decodes_a_bounded_number_of_files_ahead(tmp_path, analysis_size, ahead):
    """Memory stays flat however long the folder: the decoding threads run at most a window of
    files ahead of the consumer. Eight per worker for small analysis images (deep enough to
    decode on while a kept frame is stored), two per worker for full-size ones."""
    for i in range(60):
        (tmp_path / f"f{i:03d}.jpg").write_bytes(jpeg_bytes(numbered_frame(i % FRAMES)))
    source = open_source(tmp_path, workers=2, analysis_size=analysis_size)
    started: list[int] = []
    load = source._load
    source._load = lambda index, path: (started.append(index), load(index, path))[1]
    frames = iter(source)
    assert next(frames).index == 0  # the consumer holds the first frame and takes no more
    deadline = time.monotonic() + 10
    while len(started) < ahead + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # time enough to start more, were that allowed
    assert sorted(started) == list(range(ahead + 1))
    frames.close()
    assert not decode_threads()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing", "missing: no such file or folder"),
        (lambda root: root, "holds no image file"),
        (lambda root: root / "*.png", r"\*\.png: the pattern matches no image file"),
    ],
)
def test_folder_errors(tmp_path, make, message):
    (tmp_path / "readme.txt").write_text("not an image")
    with pytest.raises(imgdelta.InputError, match=message):
        open_source(make(tmp_path))


def test_missing_folder_named_as_a_folder(tmp_path):
    with pytest.raises(imgdelta.InputError, match="gone: no such folder"):
        open_source(tmp_path / "gone", kind="folder")


def test_a_still_image_is_not_a_video(tmp_path):
    (tmp_path / "one.jpg").write_bytes(jpeg_bytes(numbered_frame(1)))
    (tmp_path / "disguised.bin").write_bytes(png_bytes(numbered_frame(1)))
    for name in ("one.jpg", "disguised.bin"):
        with pytest.raises(imgdelta.InputError, match=f"{name}: is a still image, not a video; give the folder"):
            open_source(tmp_path / name)


# -- video files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    import cv2

    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for i in range(FRAMES):
        writer.write(cv2.cvtColor(numbered_frame(i), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_video_frames_carry_number_name_time_and_full_image(clip):
    with open_source(clip, analysis_size=32) as source:
        assert (source.live, source.length, source.fps) == (False, FRAMES, FPS)
        assert source.description == f"video {clip} ({FRAMES} frames, 25 fps)"
        frames = list(source)
    assert [f.index for f in frames] == list(range(FRAMES))
    assert [bar_index(f.image) for f in frames] == list(range(FRAMES))
    for frame in frames:
        seconds = frame.index / FPS
        assert frame.time == pytest.approx(seconds, abs=1e-3)
        assert frame.name == f"clip_{frame.index:06d}_00m{seconds:06.3f}s"
        assert (frame.path, frame.data, frame.error, frame.suffix) == (None, None, None, ".jpg")
        assert frame.image.dtype == np.uint8 and frame.image.shape == (HEIGHT, WIDTH, 3)
        assert frame.image[56:, :, 0].mean() > 200 and frame.image[56:, :, 2].mean() < 60  # RGB, not BGR
        assert frame.pixels.dtype == np.float32 and frame.pixels.shape == (32, 48, 3)  # analysis_shape(96, 64, 32)
        assert frame.pixels.max() <= 1.0 and frame.pixels[-3:, :, 0].mean() > 0.75
    assert frames[5].name == "clip_000005_00m00.200s"


def test_video_start_seeks(clip):
    frames = list(open_source(clip, start=17))
    assert [f.index for f in frames] == list(range(17, FRAMES))
    assert [bar_index(f.image) for f in frames] == list(range(17, FRAMES))
    assert frames[0].time == pytest.approx(17 / FPS, abs=1e-3)
    assert list(open_source(clip, start=FRAMES + 5)) == []


def test_video_frames_at_full_size(clip):
    frame = next(iter(open_source(clip, analysis_size=None)))
    assert frame.pixels.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(frame.pixels, frame.image.astype(np.float32) / np.float32(255))


def test_closing_a_video_stops_its_thread(clip):
    source = open_source(clip)
    started = time.monotonic()
    for frame in source:
        if frame.index == 2:
            break
    source.close()
    assert not decode_threads()
    assert time.monotonic() - started < 5


def test_an_error_in_the_decoding_thread_is_raised_in_the_caller(clip, monkeypatch):
    real = sources_module._from_bgr

    def failing(bgr, analysis_size):
        if bar_index(bgr) == 4:
            raise RuntimeError("decoder exploded on frame 4")
        return real(bgr, analysis_size)

    monkeypatch.setattr(sources_module, "_from_bgr", failing)
    seen = []
    with pytest.raises(RuntimeError, match="decoder exploded on frame 4"):
        for frame in open_source(clip):
            seen.append(frame.index)
    assert seen == [0, 1, 2, 3]
    assert not decode_threads()


@pytest.mark.parametrize(
    ("name", "content", "kind", "message"),
    [
        ("notes.txt", b"just some text\n" * 50, "auto", "notes.txt: is text, not a video"),
        ("noise.dat", np.random.default_rng(SEED).bytes(5000), "video", "noise.dat: cannot open it as a video"),
        ("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(200), "auto", "broken.mp4: cannot open it as a video"),
        ("missing.mp4", None, "auto", "missing.mp4: no such file or folder"),
        ("missing.mp4", None, "video", "missing.mp4: no such file"),
    ],
)
def test_video_errors(tmp_path, capfd, name, content, kind, message):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(imgdelta.InputError, match=message) as caught:
        open_source(tmp_path / name, kind=kind)
    assert "\n" not in str(caught.value)
    assert capfd.readouterr().err == ""  # FFmpeg's and OpenCV's complaints stay quiet


# -- http: snapshots and MJPEG streams -----------------------------------------------------


class Site:
    """What the local server answers: set ``body``/``content_type``, or ``stream``."""

    def __init__(self):
        self.body = b""
        self.content_type = "image/jpeg"
        self.status = 200
        self.stream: list[bytes] | None = None
        self.stream_delay = 0.0
        self.requests = 0


def serve(site: Site, port: int = 0) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):  # noqa: N802 - the name http.server calls
            site.requests += 1
            try:
                if site.stream is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                    self.end_headers()
                    for part in site.stream:
                        head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(part)
                        self.wfile.write(head + part + b"\r\n")
                        self.wfile.flush()
                        time.sleep(site.stream_delay)
                    return
                self.send_response(site.status)
                self.send_header("Content-Type", site.content_type)
                self.send_header("Content-Length", str(len(site.body)))
                self.end_headers()
                self.wfile.write(site.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up: a probe, or a closed source

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), name="test-http", daemon=True).start()
    return server


def stop(server: http.server.ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def running(site: Site):
    server = serve(site)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop(server)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_snapshot_bytes_are_kept_as_received():
    site = Site()
    site.body = jpeg_bytes(photo("astronaut"), quality=80)  # 512x512
    with running(site) as url, open_source(url + "/snap.jpg", interval=0.05) as source:
        assert source.live and source.length is None and source.fps == pytest.approx(20)
        assert source.description == f"snapshot URL {url}/snap.jpg (every 0.05 s)"
        before = time.time()
        frames = [next(source) for _ in range(2)]
    for index, frame in enumerate(frames):
        assert frame.index == index and frame.data == site.body
        assert (frame.suffix, frame.image, frame.path, frame.error) == (".jpg", None, None, None)
        assert frame.pixels.shape == (256, 256, 3)  # decoded at 1/2 scale
        assert TIMESTAMP.match(frame.name)
        assert before - 1 < frame.time < time.time() + 1
    assert site.requests == 2  # the probe's image is the first frame


def test_snapshot_suffix_follows_the_content_type():
    site = Site()
    site.body, site.content_type = png_bytes(numbered_frame(3)), "image/png"
    with running(site) as url:
        frame = next(iter(open_source(url, kind="snapshot")))
    assert frame.suffix == ".png" and frame.data == site.body
    assert frame.pixels.shape == (HEIGHT, WIDTH, 3)


def test_snapshots_are_paced_by_the_interval():
    site = Site()
    site.body = jpeg_bytes(numbered_frame(0))
    with running(site) as url, open_source(url, interval=0.05) as source:
        started = time.monotonic()
        frames = [next(source) for _ in range(5)]
        elapsed = time.monotonic() - started
    since_first = np.array([f.time for f in frames]) - frames[0].time
    assert elapsed < 1.0
    # deadlines count from the first frame's grab, made while the source opened: frame k is
    # grabbed at its deadline or later, never early (a late grab under load only shortens
    # the gap to the next one, so the gaps alone would not be a fair test)
    assert np.all(since_first >= np.arange(5) * 0.05 - 0.005), since_first


def test_a_lost_snapshot_url_raises_and_reopens():
    site = Site()
    site.body = jpeg_bytes(numbered_frame(1))
    server = serve(site)
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/cam.jpg"
    source = open_source(url, interval=0.01)
    try:
        assert next(source).index == 0
        stop(server)
        with pytest.raises(SourceLostError, match=f"snapshot URL {url} .*: Connection refused"):
            next(source)
        with pytest.raises(SourceLostError, match="snapshot URL"):
            source.reopen()
        server = serve(site, port)  # back again: reopen, then go on iterating
        source.reopen()
        frame = next(source)
        assert frame.index == 1 and frame.data == site.body
    finally:
        source.close()
        stop(server)


def test_an_unreachable_url_at_start_is_an_input_error():
    url = f"http://127.0.0.1:{free_port()}/snap.jpg"
    for kind in ("auto", "snapshot"):
        with pytest.raises(imgdelta.InputError, match=f"cannot reach URL {url}: .*refused") as caught:
            open_source(url, kind=kind)
        assert not isinstance(caught.value, SourceLostError)


@pytest.mark.parametrize(
    ("status", "content_type", "body", "kind", "message"),
    [
        (404, "text/html", b"<h1>no</h1>", "auto", "cannot reach URL .*: HTTP 404 Not Found"),
        (200, "text/html", b"<h1>hello</h1>", "auto", "answers with text/html, neither an image .* nor an MJPEG"),
        (200, "image/jpeg", b"not really a jpeg", "auto", "the answer is not an image"),
    ],
)
def test_http_answers_that_are_not_frames(status, content_type, body, kind, message):
    site = Site()
    site.status, site.content_type, site.body = status, content_type, body
    with running(site) as url, pytest.raises(imgdelta.InputError, match=message):
        open_source(url, kind=kind)


def test_passwords_stay_out_of_messages():
    url = f"http://viewer:secret@127.0.0.1:{free_port()}/snap.jpg"
    with pytest.raises(imgdelta.InputError, match=r"viewer:\*\*\*@127\.0\.0\.1") as caught:
        open_source(url)
    assert "secret" not in str(caught.value)


def test_an_mjpeg_stream_is_recognised_and_read():
    site = Site()
    site.stream = [jpeg_bytes(numbered_frame(i)) for i in range(20)]
    with running(site) as url, open_source(url + "/video.mjpg", analysis_size=48) as source:
        assert source.live and source.length is None
        assert source.description == f"stream {url}/video.mjpg"
        frames = []
        with pytest.raises(SourceLostError, match="stream .*: the stream stopped sending frames"):
            for frame in source:
                frames.append(frame)
        assert [bar_index(f.image) for f in frames] == list(range(20))
        assert [f.index for f in frames] == list(range(20))
        assert all(f.image.shape == (HEIGHT, WIDTH, 3) and f.pixels.shape == (32, 48, 3) for f in frames)
        assert all(TIMESTAMP.match(f.name) and f.data is None and f.path is None for f in frames)
        source.reopen()  # the server sends the stream again on a new connection
        again = next(iter(source))
        assert again.index == 20 and bar_index(again.image) == 0


def test_a_stream_is_not_a_snapshot():
    site = Site()
    site.stream = [jpeg_bytes(numbered_frame(i)) for i in range(3)]
    with running(site) as url, pytest.raises(imgdelta.InputError, match="is an MJPEG stream, not a snapshot: use kind='stream'"):
        open_source(url, kind="snapshot")


def test_a_paced_stream_keeps_grabbing_so_frames_are_fresh():
    site = Site()
    site.stream = [jpeg_bytes(numbered_frame(i)) for i in range(30)]
    site.stream_delay = 0.01
    with running(site) as url, open_source(url, kind="stream", interval=0.08) as source:
        frames = [next(source) for _ in range(3)]
    numbers = [bar_index(f.image) for f in frames]
    assert np.all(np.diff(numbers) >= 3), numbers  # frames sent in between were dropped
    assert np.all(np.diff([f.time for f in frames]) > 0.06)


# -- cameras -------------------------------------------------------------------------------


def test_a_missing_camera_device_is_an_input_error(capfd):
    with pytest.raises(imgdelta.InputError, match=r"^camera /dev/video99: no such device; [^\n]*$"):
        open_source("/dev/video99")
    with pytest.raises(imgdelta.InputError, match=r"^camera 99: cannot open the device; [^\n]*$"):
        open_source(99)
    assert capfd.readouterr().err == ""


def test_frames_print_briefly():
    frame = Frame(index=3, name="a.png", time=None, pixels=np.zeros((2, 4, 1), np.float32), image=None, data=None, path=None)
    assert repr(frame) == "Frame(index=3, name='a.png', pixels=2x4x1)"
    assert frame.suffix == ".jpg" and frame.error is None


def test_prepare_runs_on_every_decoded_frame_and_its_result_travels_with_it(small_folder):
    import threading

    folder, names = small_folder
    threads = set()

    def prepare(pixels):
        threads.add(threading.current_thread().name)
        return float(pixels.mean())

    source = open_source(folder, workers=2)
    source.prepare = prepare
    frames = list(source)
    assert [f.prepared for f in frames] == [pytest.approx(float(f.pixels.mean())) for f in frames]
    assert all(name.startswith("imgdelta-decode") for name in threads)
