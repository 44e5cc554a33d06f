"""Hostile zips are refused before a byte is written, naming the entries to blame."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from ximilar_platform.datasets.archives import ArchiveLimits, DatasetError, dataset_root, extract

LIMITS = ArchiveLimits(max_files=10, max_bytes=10_000)


def archive(tmp_path: Path, *entries: tuple[zipfile.ZipInfo | str, bytes]) -> Path:
    path = tmp_path / "in.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in entries:
            out.writestr(info, data)
    return path


def refused(tmp_path: Path, path: Path, limits: ArchiveLimits = LIMITS) -> DatasetError:
    into = tmp_path / "out"
    into.mkdir()
    with pytest.raises(DatasetError) as raised:
        extract(path, into, limits)
    return raised.value


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.txt", "climb out"),
        ("images/../../evil.txt", "climb out"),
        ("..\\evil.txt", "climb out"),
        ("/etc/evil.txt", "absolute"),
        ("C:\\evil.txt", "absolute"),
    ],
)
def test_paths_leaving_the_archive_are_refused_and_nothing_is_written(tmp_path, name, reason) -> None:
    error = refused(tmp_path, archive(tmp_path, ("good.txt", b"ok"), (name, b"x")))
    assert [problem["file"] for problem in error.errors] == [name] and reason in error.errors[0]["error"]
    assert list((tmp_path / "out").iterdir()) == [] and not (tmp_path / "evil.txt").exists()


def test_symbolic_links_are_refused(tmp_path) -> None:
    error = refused(tmp_path, archive(tmp_path, (symlink("link.jpg"), b"/etc/passwd")))
    assert error.errors == [{"file": "link.jpg", "error": "symbolic links are not allowed"}]


def test_too_many_entries_or_too_many_bytes_are_refused_from_the_central_directory(tmp_path) -> None:
    many = archive(tmp_path, *((f"{n}.txt", b"x") for n in range(11)))
    assert "11 entries" in str(refused(tmp_path, many))
    (tmp_path / "out").rmdir()
    bomb = archive(tmp_path, ("zeros.bin", bytes(10_001)))  # deflates to a few bytes
    assert bomb.stat().st_size < 200
    assert "unpacks to 10001 bytes" in str(refused(tmp_path, bomb))


def test_sizes_are_counted_again_while_extracting(tmp_path, monkeypatch) -> None:
    """An entry whose central directory understates its size is stopped by the bytes it writes."""
    path = archive(tmp_path, ("a.bin", bytes(6000)), ("b.bin", bytes(6000)))
    monkeypatch.setattr("ximilar_platform.datasets.archives.check_entries", lambda entries, limits: None)
    assert "understated" in str(refused(tmp_path, path))


def test_a_name_twice_is_refused(tmp_path) -> None:
    with pytest.warns(UserWarning):  # zipfile warns when writing a duplicate name
        path = archive(tmp_path, ("a.txt", b"1"), ("a.txt", b"2"))
    assert refused(tmp_path, path).errors == [{"file": "a.txt", "error": "a second entry of this name"}]


def test_a_file_that_is_no_zip_is_refused(tmp_path) -> None:
    path = tmp_path / "in.zip"
    path.write_bytes(b"not a zip")
    assert "not a readable zip" in str(refused(tmp_path, path))


def test_a_good_archive_is_extracted_and_its_lone_top_folder_entered(tmp_path) -> None:
    path = archive(tmp_path, ("set/a/1.txt", b"1"), ("__MACOSX/set/._1.txt", b"junk"))
    into = tmp_path / "out"
    into.mkdir()
    extract(path, into, LIMITS)
    assert not (into / "__MACOSX").exists() and (into / "set" / "a" / "1.txt").read_bytes() == b"1"
    assert dataset_root(into) == into / "set"


@pytest.mark.parametrize(
    ("names", "labels", "root"),
    [
        (["pets/cat/a.png", "pets/dog/b.png"], True, "pets"),
        (["cat/a.png"], True, "."),  # one label folder, not a wrapper
        (["cars/_annotations.coco.json", "cars/a.png"], False, "cars"),
        (["train/_annotations.coco.json"], False, "."),  # a subset, not a wrapper
    ],
)
def test_a_lone_top_folder_is_a_wrapper_unless_it_is_a_subset_or_a_label(tmp_path, names, labels, root) -> None:
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert dataset_root(tmp_path, folders_are_labels=labels) == (tmp_path / root).resolve()
