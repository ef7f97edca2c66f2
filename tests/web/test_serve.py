"""imgdelta serve: only the run's kept frames, read-only, on this machine unless told.

The tests talk to the real command (uvicorn) over HTTP, with raw paths: what a browser or
an attacker would send.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testdata import launch_chromium, snapshot

from imgdelta.examples import write_example_sequence
from imgdelta.pipeline import filter_frames

KEPT = ["frame_001.jpg", "frame_013.jpg", "frame_025.jpg", "frame_037.jpg"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve")
    sequence, _ = write_example_sequence(root / "example")
    filter_frames(sequence, root / "kept")
    (root / "secret.txt").write_text("outside the run")
    return root / "kept"


@pytest.fixture(scope="module")
def server(run):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "imgdelta", "serve", str(run), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if request(port, "/api/summary")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"imgdelta serve did not answer: {process.communicate()[1]}")
        time.sleep(0.2)
    yield port
    process.terminate()
    process.communicate(timeout=10)  # also closes the pipes


def test_the_page_and_its_data(run, server):
    import json

    before = snapshot(run)
    status, page = request(server, "/")
    assert status == 200 and b'<svg id="timeline"' in page
    summary = json.loads(request(server, "/api/summary")[1])
    assert summary["counts"]["total"] == 48 and [k["name"] for k in summary["kept"]] == KEPT
    timeline = json.loads(request(server, "/api/timeline")[1])
    assert len(timeline["points"]) > 0 and timeline["kept"] == [0, 12, 24, 36]
    assert request(server, "/frames/frame_013.jpg") == (200, (run / "frame_013.jpg").read_bytes())
    assert request(server, "/frames/latest") == (200, (run / "frame_037.jpg").read_bytes())
    status, heat = request(server, "/heatmaps/frame_013.jpg")
    assert status == 200 and heat.startswith(b"\x89PNG")
    assert request(server, "/heatmaps/frame_001.jpg")[0] == 404  # nothing was kept before the first
    assert snapshot(run) == before  # serving reads only


@pytest.mark.parametrize(
    "path",
    [
        "/frames/manifest.sqlite",
        "/frames/..%2Fsecret.txt",
        "/frames/%2e%2e%2fsecret.txt",
        "/frames/../secret.txt",
        "/frames/..%5Csecret.txt",
        "/frames/frame_002.jpg",  # a frame of the source that was not kept
        "/heatmaps/..%2Fsecret.txt",
        "/secret.txt",
        "/../secret.txt",
        "/frames/%2Fetc%2Fpasswd",
    ],
)
def test_nothing_but_kept_frames_is_served(server, path):
    status, body = request(server, path)
    assert status == 404
    assert b"outside the run" not in body and b"SQLite" not in body and b"root:" not in body


def test_it_is_read_only(server):
    for method in ("POST", "PUT", "DELETE"):
        assert request(server, "/frames/frame_013.jpg", method)[0] == 405


def test_it_listens_on_this_machine_only_by_default(server):
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{server}"], capture_output=True, text=True, check=True).stdout
    local = [line.split()[3] for line in listening.splitlines() if line.strip()]
    assert local == [f"127.0.0.1:{server}"]  # not 0.0.0.0, not [::]


def test_a_run_that_is_not_there_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "imgdelta", "serve", str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "no such folder" in done.stderr
    assert done.stdout == ""


def test_the_page_in_a_real_browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"http://127.0.0.1:{server}/")
            page.wait_for_selector("#gallery figure")
            page.wait_for_selector("#timeline polyline", state="attached")
            assert page.locator("#gallery figure").count() == 4
            assert page.locator("#timeline line.kept").count() == 4
            assert page.locator("#latest").evaluate("img => img.complete && img.naturalWidth > 0")
            page.locator("#gallery figure").nth(2).click()
            page.wait_for_function("() => { const h = document.getElementById('heat'); return h.complete && h.naturalWidth > 0; }")
            assert page.locator("#heat").is_visible()
            assert problems == []
        finally:
            browser.close()
