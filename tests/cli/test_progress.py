"""The progress line: drawn only when asked (a terminal), throttled, closed with a newline."""

from __future__ import annotations

import io

from imgdelta.cli.progress import ProgressLine


def test_progress_line_draws_counts_and_ends_with_a_newline():
    stream = io.StringIO()
    line = ProgressLine("filter", stream=stream, enabled=True)
    line(1, 300, 0, force=True)
    line(2, 300, 0)  # within a tenth of a second of the last: not drawn
    line(300, 300, 4)  # the last frame is always drawn
    line.close()
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "1/300 frames, 0 kept" in text and "300/300 frames, 4 kept" in text and "[####################]" in text


def test_progress_line_is_silent_off_a_terminal_but_events_are_logged():
    stream = io.StringIO()
    line = ProgressLine("capture", stream=stream, enabled=False)
    line(10, None, 2, force=True)
    line.message("12 frames seen, 2 kept", event=False)
    line.message("source lost; retrying in 1 s")
    line.close()
    assert stream.getvalue() == "source lost; retrying in 1 s\n"
