"""find_duplicates on a real collection: grouping, hard negatives, the index across runs,
--against, unreadable files, a killed run, Dask, keepers and actions."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import found_groups, truth_groups
from PIL import Image

from imgdelta.dedupe import INDEX_NAME, apply_actions, find_duplicates, plan_actions
from imgdelta.dedupe.collection import walk
from imgdelta.errors import InputError, OptionError


def test_every_copy_is_grouped_with_its_original_and_nothing_else(collection):
    folder, items = collection
    report = find_duplicates(folder, jobs=1)
    assert found_groups([g.paths for g in report.groups]) == truth_groups(items)
    assert report.files == len(items) and report.hashed == len(items) and report.unreadable == ()
    assert report.exit_code == 1


def test_hard_negatives_stay_apart_with_the_widest_search(collection):
    """Radius 16 lets far more pairs through the hash search; verification keeps the groups."""
    folder, items = collection
    wide = find_duplicates(folder, radius=16, jobs=1)
    assert found_groups([g.paths for g in wide.groups]) == truth_groups(items)
    assert wide.candidates >= wide.confirmed


def test_processes_give_the_same_groups(collection):
    folder, items = collection
    assert found_groups([g.paths for g in find_duplicates(folder, jobs=2).groups]) == truth_groups(items)


def test_the_index_hashes_only_new_and_changed_files(copy_of):
    folder, items = copy_of
    index = folder / INDEX_NAME
    first = find_duplicates(folder, index=index)
    assert first.hashed == len(items)
    again = find_duplicates(folder, index=index)
    assert (again.hashed, again.reused) == (0, len(items))
    assert [g.paths for g in again.groups] == [g.paths for g in first.groups]

    (folder / "new").mkdir()
    shutil.copy(folder / "coffee_jpeg.jpg", folder / "new" / "coffee_again.jpg")
    changed = folder / "camera_resized.jpg"
    Image.open(changed).rotate(180).save(changed, quality=80)  # same name, another picture
    (folder / "chelsea_grayscale.jpg").unlink()
    third = find_duplicates(folder, index=index)
    assert third.hashed == 2 and third.reused == len(items) - 2
    groups = found_groups([g.paths for g in third.groups])
    assert any({"coffee.jpg", "coffee_again.jpg"} <= group for group in groups)
    assert not any("camera_resized.jpg" in group for group in groups)
    with sqlite3.connect(index) as db:
        keys = {row[0] for row in db.execute("SELECT path FROM images")}
    assert "chelsea_grayscale.jpg" not in keys and os.path.join("new", "coffee_again.jpg") in keys
    assert len(keys) == len(items)


def test_against_an_index_of_another_collection(collection, tmp_path):
    source, items = collection
    archive, incoming = tmp_path / "archive", tmp_path / "incoming"
    archive.mkdir()
    incoming.mkdir()
    for item in items:
        name = Path(item.path).name
        if item.kind == "original" and item.picture != "chelsea":
            shutil.copy(item.path, archive / name)
    for name in ("astronaut_cropped.jpg", "astronaut_grayscale.jpg", "coffee_watermark.jpg", "chelsea_jpeg.jpg", "grass-tile0.jpg"):
        shutil.copy(source / name, incoming / name)
    find_duplicates(archive, index=archive / INDEX_NAME)
    before = (archive / INDEX_NAME).read_bytes()
    for picture in archive.glob("*.*g"):  # the archive goes offline: only its index is needed
        picture.unlink()
    report = find_duplicates(incoming, against=archive / INDEX_NAME)
    groups = {frozenset(Path(p).name for p in g.paths) for g in report.groups}
    originals = {Path(item.path).name for item in items if item.kind == "original"}
    astronaut = next(name for name in originals if name.startswith("astronaut."))
    coffee = next(name for name in originals if name.startswith("coffee."))
    assert groups == {frozenset({astronaut, "astronaut_cropped.jpg", "astronaut_grayscale.jpg"}), frozenset({coffee, "coffee_watermark.jpg"})}
    for group in report.groups:
        assert group.keeper.existing and all(not f.existing for f in group.duplicates)
        assert str(archive) in group.keeper.path
    actions = plan_actions(report, delete=True)
    assert sorted(Path(a.path).name for a in actions) == ["astronaut_cropped.jpg", "astronaut_grayscale.jpg", "coffee_watermark.jpg"]
    assert (archive / INDEX_NAME).read_bytes() == before


def test_against_its_own_index_is_refused(copy_of):
    folder, _ = copy_of
    find_duplicates(folder, index=folder / INDEX_NAME)
    with pytest.raises(OptionError, match="that is the index of these files"):
        find_duplicates(folder, index=folder / INDEX_NAME, against=folder / INDEX_NAME)


def broken_files(folder: Path) -> dict[str, str]:
    good = (folder / "coffee_jpeg.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a picture")
    return {"truncated.jpg": "cannot decode", "empty.png": "empty file", "notes.jpg": "not an image file"}


def test_unreadable_files_are_listed_and_skipped(copy_of):
    folder, items = copy_of
    expected = broken_files(folder)
    report = find_duplicates(folder, index=folder / INDEX_NAME, jobs=2)
    listed = {Path(path).name: error for path, error in report.unreadable}
    assert set(listed) == set(expected)
    for name, words in expected.items():
        assert words in listed[name]
    assert found_groups([g.paths for g in report.groups]) == truth_groups(items)
    again = find_duplicates(folder, index=folder / INDEX_NAME)
    assert again.hashed == 0 and {Path(p).name for p, _ in again.unreadable} == set(expected)


def test_nothing_readable_and_nothing_found(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (broken / "b.png").write_bytes(b"")
    report = find_duplicates(broken)
    assert report.exit_code == 2 and report.groups == () and len(report.unreadable) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures here")
    with pytest.raises(InputError, match="no image file"):
        find_duplicates(empty)
    with pytest.raises(InputError, match="no such file or folder"):
        find_duplicates(tmp_path / "missing")


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from imgdelta.dedupe import find_duplicates

    def progress(done, total):
        if done >= total // 2 and 0 < done < total:
            os.kill(os.getpid(), signal.SIGKILL)

    find_duplicates(sys.argv[1], index=sys.argv[2], jobs=1, progress=progress)
    """
)


def test_a_killed_run_loses_nothing_it_indexed(copy_of):
    folder, items = copy_of
    index = folder / INDEX_NAME
    done = subprocess.run([sys.executable, "-c", KILLER, str(folder), str(index)], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    with sqlite3.connect(index) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = db.execute("SELECT count(*) FROM images").fetchone()[0]
    assert 0 < kept < len(items)
    resumed = find_duplicates(folder, index=index, jobs=1)
    assert resumed.hashed == len(items) - kept and resumed.reused == kept
    clean = find_duplicates(folder, jobs=1)
    assert [g.paths for g in resumed.groups] == [g.paths for g in clean.groups]


def test_a_dask_cluster_gives_the_local_groups(collection):
    from dask.distributed import LocalCluster

    folder, _ = collection
    local = find_duplicates(folder, jobs=1)
    with LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = find_duplicates(folder, dask=cluster.scheduler_address)
    assert [g.paths for g in remote.groups] == [g.paths for g in local.groups]
    assert (remote.candidates, remote.confirmed, remote.hashed) == (local.candidates, local.confirmed, local.hashed)


def test_dask_missing_gives_the_install_hint(collection, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(OptionError, match=r"pip install 'imgdelta\[dask\]'"):
        find_duplicates(collection[0], dask="tcp://127.0.0.1:1")


def test_an_unreachable_scheduler_is_one_clear_error(collection, monkeypatch):
    import dask.distributed

    class Refusing(dask.distributed.Client):
        def __init__(self, address, **options):
            raise OSError(f"Timed out trying to connect to {address}")

    monkeypatch.setattr(dask.distributed, "Client", Refusing)
    with pytest.raises(OptionError, match=r"--dask tcp://10.0.0.1:8786: cannot reach the scheduler \(Timed out"):
        find_duplicates(collection[0], dask="tcp://10.0.0.1:8786")


def save_with_date(image: np.ndarray, path: Path, date: str, **options) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = date
    Image.fromarray(image).save(path, exif=exif, **options)


def test_keepers(tmp_path):
    from skimage import data

    import cv2

    photo = cv2.resize(data.chelsea(), (240, 160), interpolation=cv2.INTER_AREA)
    save_with_date(photo, tmp_path / "big.jpg", "2020:01:01 10:00:00", quality=95)
    save_with_date(cv2.GaussianBlur(photo, (0, 0), 2.0), tmp_path / "blurred.jpg", "2018:01:01 10:00:00", quality=80)
    save_with_date(cv2.resize(photo, (72, 48), interpolation=cv2.INTER_AREA), tmp_path / "small.jpg", "2015:06:01 12:00:00", quality=90)
    keepers = {}
    for policy in ("largest", "oldest", "sharpest"):
        report = find_duplicates(tmp_path, keep=policy)
        assert len(report.groups) == 1 and len(report.groups[0].files) == 3
        keepers[policy] = Path(report.groups[0].keeper.path).name
    assert keepers == {"largest": "big.jpg", "oldest": "small.jpg", "sharpest": "big.jpg"}
    assert report.groups[0].similarity[0] == 1.0


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_actions_plan_then_apply(copy_of, tmp_path):
    folder, items = copy_of
    index = folder / INDEX_NAME
    report = find_duplicates(folder, index=index)
    before = snapshot(folder)
    target = tmp_path / "dups"
    plan = plan_actions(report, move_to=target)
    assert len(plan) == sum(len(g.files) - 1 for g in report.groups) and not any(a.done for a in plan)
    assert snapshot(folder) == before and not target.exists()
    assert plan[0].describe().startswith("would move ")
    # An existing file at a target is never replaced; a file changed since hashing is left alone.
    first = Path(plan[0].target)
    first.parent.mkdir(parents=True)
    first.write_bytes(b"already here")
    changed = Path(plan[1].location)
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    done = apply_actions(plan, index=index)
    assert first.read_bytes() == b"already here"
    assert done[0].done and done[0].target.endswith(" (2)" + first.suffix) and Path(done[0].target).exists()
    assert not done[1].done and "changed since it was hashed" in done[1].error and changed.exists()
    assert all(a.done for a in done[2:])
    keepers = {Path(g.keeper.location) for g in report.groups}
    assert all(k.exists() for k in keepers)
    after = find_duplicates(folder, index=index)
    assert after.hashed == 1  # only the touched file: the moved ones left the index
    left_behind = next(g for g in report.groups if changed.name in {Path(p).name for p in g.paths})
    assert found_groups([g.paths for g in after.groups]) == {frozenset({Path(left_behind.keeper.path).name, changed.name})}


def test_a_failed_move_leaves_no_empty_folders(copy_of, tmp_path, monkeypatch):
    """The folders a move makes below DIR go again when it fails; those it needs stay."""
    from imgdelta.dedupe import actions
    from imgdelta.errors import StorageError

    folder, _ = copy_of
    report = find_duplicates(folder, jobs=1)
    target = tmp_path / "dups"
    plan = plan_actions(report, move_to=target)
    moved = actions.link_or_copy

    def refuse_the_first(src, dst, mode):
        if Path(src) == Path(plan[0].location):
            raise StorageError(f"cannot write {dst}: no space left on device")
        return moved(src, dst, mode)

    monkeypatch.setattr(actions, "link_or_copy", refuse_the_first)
    first = apply_actions(plan[:1])
    assert first[0].error == f"cannot write {plan[0].target}: no space left on device" and not first[0].done
    assert not target.exists()
    rest = apply_actions(plan)
    assert not rest[0].done and all(a.done for a in rest[1:])
    assert Path(plan[0].target).parent.is_dir()  # the others moved there


def test_delete_and_the_choice_of_one_action(copy_of):
    folder, _ = copy_of
    report = find_duplicates(folder)
    with pytest.raises(OptionError, match="choose one action"):
        plan_actions(report)
    with pytest.raises(OptionError, match="choose one action"):
        plan_actions(report, move_to=folder / "x", delete=True)
    done = apply_actions(plan_actions(report, delete=True))
    assert all(a.done for a in done) and not any(Path(a.location).exists() for a in done)
    assert find_duplicates(folder).groups == ()


def test_walk_rules(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".cache").mkdir()
    (tmp_path / "moved").mkdir()
    for name in ("a10.jpg", "a2.JPG", "b/c.png", ".hidden.jpg", "._a2.jpg", ".cache/x.jpg", "moved/y.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    os.symlink(tmp_path / "a2.JPG", tmp_path / "link.jpg")
    os.symlink(tmp_path / "b", tmp_path / "linked_folder")
    files, problems = walk([tmp_path, tmp_path / "a2.JPG"], exclude=[tmp_path / "moved"])
    assert [os.path.relpath(f.location, tmp_path) for f in files] == ["a2.JPG", "a10.jpg", os.path.join("b", "c.png")]
    assert problems == []
    single, _ = walk([tmp_path / "notes.txt"])  # a file named is taken as it is
    assert [f.path for f in single] == [str(tmp_path / "notes.txt")]


def test_an_unlistable_folder_is_a_problem_not_an_end(tmp_path, monkeypatch):
    (tmp_path / "locked").mkdir()
    (tmp_path / "a.jpg").write_bytes(b"x")
    real = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, problems = walk([tmp_path])
    assert [Path(f.path).name for f in files] == ["a.jpg"]
    assert problems == [(str(tmp_path / "locked"), "cannot list the folder (Permission denied)")]


def test_options_are_checked(collection):
    folder, _ = collection
    with pytest.raises(OptionError, match="threshold"):
        find_duplicates(folder, threshold=1.5)
    with pytest.raises(OptionError, match="keep 'newest'"):
        find_duplicates(folder, keep="newest")
    with pytest.raises(OptionError, match="radius"):
        find_duplicates(folder, radius=40)


def test_report_to_dict_is_json_ready(collection):
    import json

    folder, _ = collection
    document = json.loads(json.dumps(find_duplicates(folder, jobs=1).to_dict()))
    assert all(isinstance(group, list) and all(isinstance(p, str) for p in group) for group in document["groups"])
    assert document["details"][0]["files"][0]["similarity"] == 1.0
