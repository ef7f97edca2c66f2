"""The process pool: every chunk's results, and a worker that dies costs only its own item."""

from __future__ import annotations

import os

from imgdelta.dedupe.parallel import default_jobs, map_chunks


def shout_or_die(items: list[str]) -> list[str]:
    """Upper-case each item; the item 'die' ends the worker process at once."""
    out = []
    for item in items:
        if item == "die":
            os._exit(3)
        out.append(item.upper())
    return out


def test_every_chunk_comes_back():
    chunks = [[f"a{i}", f"b{i}"] for i in range(9)]
    seen = {tuple(chunk): results for chunk, results in map_chunks(shout_or_die, chunks, jobs=2, on_crash=lambda item: None)}
    assert seen == {tuple(chunk): [item.upper() for item in chunk] for chunk in chunks}


def test_a_dying_worker_is_isolated_to_its_item():
    chunks = [["a", "b"], ["c", "die", "d"], ["e"], ["f", "g"], ["h"]]
    results = {}
    for chunk, answers in map_chunks(shout_or_die, chunks, jobs=2, on_crash=lambda item: f"crashed on {item}"):
        for item, answer in zip(chunk, answers):
            assert item not in results
            results[item] = answer
    expected = {item: item.upper() for chunk in chunks for item in chunk if item != "die"}
    expected["die"] = "crashed on die"
    assert results == expected


def test_default_jobs_is_positive():
    assert default_jobs() >= 1
