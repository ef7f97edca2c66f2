"""The report in a real headless Chromium (Debian's, driven by Playwright; .ci/run installs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from testdata import launch_chromium

from imgdelta.examples import write_example_sequence
from imgdelta.pipeline import filter_frames
from imgdelta.render import build_report

@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    sequence, _ = write_example_sequence(root / "example")
    filter_frames(sequence, root / "kept")
    page = root / "report.html"
    page.write_text(build_report(root / "kept"))
    return page


def test_the_report_loads_offline_without_errors_and_a_click_shows_a_heatmap(report, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri())
            assert page.locator("#score-plot polyline").count() == 1
            assert page.locator("#score-plot line.kept").count() == 4
            cards = page.locator(".card")
            assert cards.count() == 4
            second = cards.nth(1)
            assert not second.locator("img.heat").is_visible()
            second.click()
            assert second.locator("img.heat").is_visible() and not second.locator("img.frame").is_visible()
            box = second.locator("img.heat").bounding_box()
            assert box is not None and box["width"] > 100
            page.screenshot(path=str(tmp_path / "report.png"))
            assert problems == []
            assert all(url.startswith(("file:", "data:")) for url in requests), requests  # nothing from the network
        finally:
            browser.close()
