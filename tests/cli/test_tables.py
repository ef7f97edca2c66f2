"""The readable tables: ranges and directions that say what a number means."""

from __future__ import annotations

import math

import numpy as np

import imgdelta
from imgdelta.cli.tables import comparison_table, format_value, table, with_unit


def test_infinities_keep_their_sign():
    assert format_value(math.inf) == "inf"
    assert format_value(-math.inf) == "-inf"
    assert format_value(None) == "inf"  # an infinite PSNR, as JSON carries it


def test_signed_figures_read_as_distance_from_their_identical_value():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    table = comparison_table(imgdelta.compare(a, a.copy(), metrics=["template", "mae"]))
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith(("template", "mae"))}
    assert "-inf..inf" in rows["template_dx"] and "further from it = more different" in rows["template_dx"]
    assert "higher = more different" in rows["mae"]
    assert "lower = less alike" in rows["template"]


def test_a_value_of_one_takes_its_unit_in_the_singular():
    assert with_unit(1, "bits") == "1 bit"
    assert with_unit(1.0, "pixels") == "1 pixel"
    assert with_unit(2, "bits") == "2 bits"
    assert with_unit(0, "bits") == "0 bits"
    assert with_unit(1.5, "pixels") == "1.5 pixels"
    assert with_unit(1, "dB") == "1 dB"
    assert with_unit(0.25, None) == "0.25"


def test_control_characters_in_a_cell_stay_on_its_row():
    """A file name may hold a newline or a tab; the table shows them as escapes."""
    lines = table(["path", "size"], [["one\ntwo.jpg", 10], ["tab\there.jpg", 20], ["café.jpg", 30]]).splitlines()
    assert lines[2:] == ["one\\ntwo.jpg   10", "tab\\there.jpg  20", "café.jpg       30"]
