"""Zip archives in and out, safely: hostile entries are refused before a byte is written.

Refused from the central directory, before extracting: more than ``max_files`` entries, declared
sizes adding up past ``max_bytes``, names that are absolute (``/x``, ``C:\\x``) or climb out (``../``),
symbolic links, encrypted entries and NUL bytes. While extracting, the bytes actually written are
counted again, since a zip bomb may declare small sizes; an entry that would overwrite another
(a duplicate name) is refused too. Errors name the entry, so a person can fix the archive.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ximilar_platform.datasets.records import SPLITS

CHUNK = 1 << 20
IGNORED = ("__MACOSX/",)  # resource forks macOS adds to zips it makes
STORED_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".tif", ".tiff", ".bmp", ".mpo"}
_DRIVE = re.compile(r"^[A-Za-z]:")


class DatasetError(Exception):
    """A dataset that cannot be imported (or a task that cannot be exported), with the files to blame."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int
    max_bytes: int  # unpacked, all entries together


@dataclass
class _Budget:
    left: int  # bytes still allowed to be written


def entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry may not be extracted, or None."""
    name = info.filename
    if "\x00" in name:
        return "the name holds a NUL byte"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute paths are not allowed"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "paths may not climb out of the archive (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic links are not allowed"
    if info.flag_bits & 0x1:
        return "encrypted entries are not supported"
    return None


def extract(archive: Path, into: Path, limits: ArchiveLimits) -> None:
    """Extract ``archive`` into the empty folder ``into``."""
    try:
        with zipfile.ZipFile(archive) as source:
            entries = [info for info in source.infolist() if not info.filename.startswith(IGNORED)]
            check_entries(entries, limits)
            budget = _Budget(limits.max_bytes)
            for info in entries:
                _extract_entry(source, info, into, budget, limits)
    except zipfile.BadZipFile as error:
        raise DatasetError(f"The archive is not a readable zip file ({error}).") from None


def check_entries(entries: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(entries) > limits.max_files:
        raise DatasetError(f"The archive holds {len(entries)} entries; at most {limits.max_files} are allowed.")
    declared = sum(info.file_size for info in entries)
    if declared > limits.max_bytes:
        raise DatasetError(f"The archive unpacks to {declared} bytes; at most {limits.max_bytes} are allowed.")
    errors = [{"file": info.filename, "error": problem} for info in entries if (problem := entry_problem(info))]
    if errors:
        raise DatasetError("The archive holds entries that cannot be extracted safely.", errors)


def _extract_entry(
    source: zipfile.ZipFile, info: zipfile.ZipInfo, into: Path, budget: _Budget, limits: ArchiveLimits
) -> None:
    relative = PurePosixPath(info.filename.replace("\\", "/"))
    target = into.joinpath(*relative.parts)
    if not target.resolve().is_relative_to(into.resolve()):  # a last line of defence; entry_problem refused it
        raise DatasetError("The archive holds entries that cannot be extracted safely.", [_error(info, "outside")])
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with source.open(info) as data, target.open("xb") as out:
            while chunk := data.read(CHUNK):
                budget.left -= len(chunk)
                if budget.left < 0:
                    raise DatasetError(
                        f"The archive unpacks to more than {limits.max_bytes} bytes (its sizes were understated)."
                    )
                out.write(chunk)
    except FileExistsError:
        raise DatasetError("The archive names one file twice.", [_error(info, "a second entry of this name")]) from None
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:  # CRC, truncation, method
        raise DatasetError("An entry of the archive cannot be read.", [_error(info, str(error))]) from None


def _error(info: zipfile.ZipInfo, message: str) -> dict[str, str]:
    return {"file": info.filename, "error": message}


def dataset_root(folder: Path, *, folders_are_labels: bool = False) -> Path:
    """The folder itself, or its only subfolder when it holds nothing else (a zip of one folder).

    Not when that subfolder is a subset (a zip of ``train/`` alone), nor, where folders are labels (class
    folders), when it holds files itself: then it is the one label of the dataset.
    """
    children = [child for child in folder.iterdir() if not child.name.startswith(".")]
    if len(children) != 1 or not children[0].is_dir() or children[0].name.lower() in SPLITS:
        return folder
    if folders_are_labels and any(path.is_file() for path in children[0].iterdir()):
        return folder
    return children[0]


def write_zip(folder: Path, archive: Path) -> int:
    """Zip every file under ``folder`` (images stored, the rest deflated); the number of files."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
        for path in files:
            method = zipfile.ZIP_STORED if path.suffix.lower() in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
            out.write(path, path.relative_to(folder).as_posix(), compress_type=method)
    return len(files)
