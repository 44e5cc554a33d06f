"""Refresh the web app's vendored JavaScript from the npm registry: pinned versions, checked sums.

    python scripts/vendor_assets.py          # fetch, verify and copy into ximilar_platform/web/static/vendor/
    python scripts/vendor_assets.py --check  # only verify the files already vendored

Each asset is `npm pack`ed at its pinned version; its files and licence are copied to
``static/vendor/<package>-<version>/`` and must match the sha256 recorded here, so a changed
upstream file fails loudly instead of shipping. To upgrade: change the version, run with
``--print-sums``, review the diff, paste the sums.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "ximilar_platform" / "web" / "static" / "vendor"

# package, version, {file in the package: sha256}
ASSETS = [
    (
        "htmx.org",
        "2.0.11",
        {
            "dist/htmx.min.js": "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
            "LICENSE": "d3d2456f76414f2456104660ebd65aff1c04cd7966b942bdabd63f3cdb316a38",
        },
    )
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(package: str, version: str, work: Path) -> Path:
    subprocess.run(["npm", "pack", f"{package}@{version}", "--silent"], cwd=work, check=True, capture_output=True)
    tarball = next(work.glob("*.tgz"))
    with tarfile.open(tarball) as archive:
        archive.extractall(work / "x", filter="data")
    return work / "x" / "package"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="verify the vendored files, fetch nothing")
    parser.add_argument("--print-sums", action="store_true", help="print the sums of what was fetched")
    args = parser.parse_args()
    failed = False
    for package, version, files in ASSETS:
        target = VENDOR / f"{package}-{version}"
        if args.check:
            for name, expected in files.items():
                found = target / Path(name).name
                if not found.is_file() or sha256(found) != expected:
                    print(f"MISMATCH {found}")
                    failed = True
            continue
        with tempfile.TemporaryDirectory() as work:
            source = fetch(package, version, Path(work))
            target.mkdir(parents=True, exist_ok=True)
            for name, expected in files.items():
                digest = sha256(source / name)
                if args.print_sums:
                    print(f'"{name}": "{digest}",')
                elif digest != expected:
                    print(f"MISMATCH {package}@{version} {name}: {digest}")
                    failed = True
                    continue
                shutil.copy(source / name, target / Path(name).name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
