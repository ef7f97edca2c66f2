"""``imgdelta dedupe`` and ``imgdelta hash --jobs`` at the command line: outputs, exit status,
dry run against --apply, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import imagehash
import pytest
from conftest import found_groups, truth_groups
from PIL import Image

from imgdelta.cli.main import main
from imgdelta.dedupe import INDEX_NAME


def run(capsys, *args) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_json_lists_the_groups_and_exits_1(collection, capsys):
    folder, items = collection
    status, out, err = run(capsys, "dedupe", folder, "--json", "--no-index", "--jobs", "1")
    document = json.loads(out)
    assert status == 1 and err == ""
    assert found_groups(document["groups"]) == truth_groups(items)
    assert document["files"] == len(items) and document["unreadable"] == []


def test_no_duplicates_exits_0(collection, tmp_path, capsys):
    folder, _ = collection
    for name in ("astronaut.jpg", "grass-tile0.jpg", "coffee-overlap0.jpg", "coffee-overlap1.jpg"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    status, out, _ = run(capsys, "dedupe", tmp_path, "--json", "--no-index")
    assert status == 0 and json.loads(out)["groups"] == []


def test_table_and_the_default_index(copy_of, capsys):
    folder, items = copy_of
    status, out, _ = run(capsys, "dedupe", folder)
    lines = out.splitlines()
    assert status == 1 and lines[0].split() == ["group", "keep", "path", "size", "dimensions", "reason"]
    kept = [line for line in lines if line.split()[1:2] == ["*"]]
    assert len(kept) == len(truth_groups(items))
    assert lines[-1].startswith(f"{len(items)} files ({len(items)} hashed, 0 from the index, 0 unreadable): 5 groups, 45 duplicates")
    assert (folder / INDEX_NAME).is_file()
    status, out, _ = run(capsys, "dedupe", folder)
    assert f"(0 hashed, {len(items)} from the index" in out.splitlines()[-1]


def test_csv_on_stdout_and_to_a_file(collection, tmp_path, capsys):
    folder, items = collection
    status, out, _ = run(capsys, "dedupe", folder, "--format", "csv", "--no-index", "--csv", tmp_path / "groups.csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 1 and len(rows) == 50 and sum(row["keep"] == "yes" for row in rows) == 5
    assert set(rows[0]) >= {"group", "keep", "path", "size", "width", "height", "similarity", "reason"}
    assert (tmp_path / "groups.csv").read_text() == out


def test_dry_run_then_apply(copy_of, tmp_path, capsys):
    folder, _ = copy_of
    target = tmp_path / "dups"
    before = snapshot(folder)
    status, out, _ = run(capsys, "dedupe", folder, "--no-index", "--move-to", target)
    assert status == 1 and snapshot(folder) == before and not target.exists()
    would = [line for line in out.splitlines() if line.startswith("would move ")]
    assert len(would) == 45 and out.splitlines()[-1] == "dry run: nothing was changed; add --apply to do it"
    status, out, _ = run(capsys, "dedupe", folder, "--no-index", "--delete")
    assert status == 1 and snapshot(folder) == before and out.count("would delete ") == 45
    status, out, _ = run(capsys, "dedupe", folder, "--no-index", "--move-to", target, "--apply", "--json")
    document = json.loads(out)
    assert status == 1 and document["applied"] and all(a["done"] for a in document["actions"])
    assert len(list(target.rglob("*.*g"))) == 45
    status, out, _ = run(capsys, "dedupe", folder, "--no-index", "--json")
    assert status == 0 and json.loads(out)["groups"] == []


def test_delete_needs_apply(copy_of, capsys):
    folder, _ = copy_of
    status, out, _ = run(capsys, "dedupe", folder, "--no-index", "--delete", "--apply")
    assert status == 1 and out.count("deleted ") == 45
    assert len(list(folder.glob("*.*g"))) == 64 - 45


def test_unreadable_files_are_one_line_each_on_stderr(copy_of, capsys):
    folder, _ = copy_of
    (folder / "empty.jpg").write_bytes(b"")
    status, out, err = run(capsys, "dedupe", folder, "--no-index")
    assert status == 1
    assert err == f"imgdelta dedupe: {folder / 'empty.jpg'}: empty file\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--no-index", "--apply"], "--apply needs an action"),
        (["--no-index", "--radius", "17"], "must lie in [0, 16]"),
        (["--no-index", "--threshold", "2"], "must lie in [-1, 1]"),
        (["--no-index", "--keep", "newest"], "invalid choice: 'newest'"),
        (["--no-index", "--move-to", "x", "--delete"], "not allowed with argument"),
        (["--index", "i.sqlite", "--no-index"], "not allowed with argument"),
    ],
)
def test_bad_options_exit_2_with_one_line(collection, capsys, arguments, message):
    folder, _ = collection
    status, out, err = run(capsys, "dedupe", folder, *arguments)
    assert status == 2 and out == "" and err.count("\n") == 1 and message in err


def test_several_folders_need_an_index_choice(collection, tmp_path, capsys):
    folder, _ = collection
    status, out, err = run(capsys, "dedupe", folder, tmp_path)
    assert status == 2 and out == "" and "more than one folder or file: choose where their index goes with --index FILE, or use --no-index" in err
    status, out, _ = run(capsys, "dedupe", folder, tmp_path, "--index", tmp_path / "both.sqlite", "--json")
    assert status == 1 and (tmp_path / "both.sqlite").is_file()


def test_nothing_readable_exits_2(tmp_path, capsys):
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0broken")
    status, out, err = run(capsys, "dedupe", tmp_path, "--no-index")
    assert status == 2
    assert err.splitlines()[-1] == "imgdelta dedupe: the image file could not be read"
    assert out.splitlines()[-1].startswith("1 file (0 hashed, 0 from the index, 1 unreadable): 0 groups, 0 duplicates")
    (tmp_path / "b.png").write_bytes(b"")
    status, out, err = run(capsys, "dedupe", tmp_path, "--no-index")
    assert status == 2
    assert err.splitlines()[-1] == "imgdelta dedupe: none of the 2 image files could be read"
    assert out.splitlines()[-1].startswith("2 files (0 hashed, 0 from the index, 2 unreadable): 0 groups, 0 duplicates")


def test_missing_folder_exits_2(tmp_path, capsys):
    status, out, err = run(capsys, "dedupe", tmp_path / "missing")
    assert status == 2 and out == "" and err == f"imgdelta dedupe: {tmp_path / 'missing'}: no such file or folder\n"


def test_against_at_the_command_line(collection, tmp_path, capsys):
    folder, _ = collection
    archive, incoming = tmp_path / "archive", tmp_path / "incoming"
    archive.mkdir()
    incoming.mkdir()
    (archive / "camera.jpg").write_bytes((folder / "camera.jpg").read_bytes())
    (incoming / "camera_exif.jpg").write_bytes((folder / "camera_exif.jpg").read_bytes())
    (incoming / "gravel-tile1.jpg").write_bytes((folder / "gravel-tile1.jpg").read_bytes())
    run(capsys, "dedupe", archive)
    status, out, _ = run(capsys, "dedupe", incoming, "--no-index", "--against", archive / INDEX_NAME, "--json")
    groups = json.loads(out)["groups"]
    assert status == 1 and [[Path(p).name for p in g] for g in groups] == [["camera.jpg", "camera_exif.jpg"]]


def test_a_real_process_prints_no_traceback(collection):
    folder, _ = collection
    done = subprocess.run([sys.executable, "-m", "imgdelta", "dedupe", str(folder), "--no-index", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr == "" and len(json.loads(done.stdout)["groups"]) == 5


def test_hash_with_processes_is_bit_identical_and_in_order(collection, tmp_path, capsys):
    folder, items = collection
    paths = [item.path for item in items[:12]]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    files = paths[:6] + [str(broken)] + paths[6:]
    status, out, err = run(capsys, "hash", *files, "--json", "--jobs", "2")
    assert status == 2 and err.startswith(f"imgdelta hash: {broken}: ") and err.count("\n") == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["path"] for row in rows] == paths
    for row in rows:
        with Image.open(row["path"]) as image:
            expected = {"ahash": imagehash.average_hash(image), "dhash": imagehash.dhash(image), "phash": imagehash.phash(image), "whash": imagehash.whash(image)}
        assert {k: row[k] for k in expected} == {k: str(v) for k, v in expected.items()}


def test_against_reads_as_new_files_already_in_the_collection(collection, tmp_path, capsys):
    """Every indexed file is kept and marked so; each new file names the indexed file it
    matches; the new file is the larger one, and nothing claims the kept one is largest."""
    folder, _ = collection
    archive, incoming = tmp_path / "archive", tmp_path / "incoming"
    archive.mkdir()
    incoming.mkdir()
    for name in ("camera_resized.jpg", "camera_grayscale.jpg"):
        shutil.copy(folder / name, archive)
    for name in ("camera.jpg", "camera_jpeg.jpg", "gravel-tile1.jpg"):
        shutil.copy(folder / name, incoming)
    run(capsys, "dedupe", archive)
    index = archive / INDEX_NAME
    status, out, err = run(capsys, "dedupe", incoming, "--no-index", "--against", index)
    assert status == 1 and err == ""
    rows = [line.split(None, 2) for line in out.splitlines()[2:-2]]
    assert [(row[0], row[1]) for row in rows] == [("1", "*"), ("1", "*"), ("1", str(incoming / "camera.jpg")), ("1", str(incoming / "camera_jpeg.jpg"))]
    kept = [archive / "camera_grayscale.jpg", archive / "camera_resized.jpg"]
    for line, path in zip(out.splitlines()[2:4], kept):
        assert line.split()[2] == str(path) and line.endswith("in the indexed collection: kept, never touched")
    status, out_json, _ = run(capsys, "dedupe", incoming, "--no-index", "--against", index, "--json")
    document = json.loads(out_json)
    assert document["groups"] == [[str(kept[0]), str(kept[1]), str(incoming / "camera.jpg"), str(incoming / "camera_jpeg.jpg")]]
    details = document["details"][0]
    assert details["keep"] == str(kept[0]) and details["reason"] == "in the indexed collection: kept, never touched"
    for line, new in zip(out.splitlines()[4:6], details["files"][2:]):
        assert new["similar_to"] in map(str, kept) and new["similarity"] >= 0.75
        assert line.endswith(f"already in the collection as {new['similar_to']} (similarity {new['similarity']:.2f})")
    assert "largest" not in out and "same picture" not in out
    assert out.splitlines()[-1].startswith(f"3 files (3 hashed, 0 from the index, 0 unreadable): 1 group, 2 duplicates already in {index}")


def test_an_index_away_from_its_collection_is_said_once(collection, tmp_path, capsys):
    folder, _ = collection
    archive, incoming, elsewhere = tmp_path / "archive", tmp_path / "incoming", tmp_path / "elsewhere"
    for place in (archive, incoming, elsewhere):
        place.mkdir()
    shutil.copy(folder / "camera.jpg", archive)
    shutil.copy(folder / "camera_exif.jpg", incoming)
    run(capsys, "dedupe", archive)
    shutil.copy(archive / INDEX_NAME, elsewhere / INDEX_NAME)
    status, out, err = run(capsys, "dedupe", incoming, "--no-index", "--against", elsewhere / INDEX_NAME)
    assert status == 1 and str(elsewhere / "camera.jpg") in out
    assert err == (
        f"imgdelta dedupe: warning: none of the files of {elsewhere / INDEX_NAME} exists where it places them: its paths are "
        f"relative to its own folder ({elsewhere}); the collection may be offline, or the index was moved without it\n"
    )


def test_unreadable_files_are_counted_apart(copy_of, tmp_path, capsys):
    folder, _ = copy_of
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(folder / "camera.jpg", small)
    shutil.copy(folder / "camera_jpeg.jpg", small)
    (small / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0broken")
    status, out, _ = run(capsys, "dedupe", small)
    assert status == 1 and out.splitlines()[-1].startswith("3 files (2 hashed, 0 from the index, 1 unreadable): 1 group, 1 duplicate (")
    status, out, _ = run(capsys, "dedupe", small)
    assert status == 1 and out.splitlines()[-1].startswith("3 files (0 hashed, 2 from the index, 1 unreadable): 1 group, 1 duplicate (")
