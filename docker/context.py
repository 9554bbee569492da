"""The build context of the dblink_py image, and the hash that names its sources.

`make install` reads only the entries in SOURCES; scripts/docker-image copies
exactly those (what git would commit: tracked and untracked, not ignored) into
the build context and labels the image with their hash. The Docker test
provider (tests/docker_servers.py) computes the hash of the working tree the
same way and refuses an image built from other sources.

    python3 docker/context.py copy DEST    copy the sources to DEST, print the hash
    python3 docker/context.py hash         print the hash of the working tree's sources

Standard library only: it runs with whatever python3 the host has.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# What `make install` and the Dockerfile read, relative to the repository.
SOURCES = (
    "Makefile",
    "dblink_py.control",
    "server-requirements.txt",
    "scripts/server-python",
    "scripts/install-python",
    "scripts/build-sql",
    "python",
    "sql",
    "docker/Dockerfile",
)
# The image label that holds the hash.
LABEL = "org.dblink-py.source-hash"


def files(repo: Path = REPO) -> list[str]:
    """The relative paths of the files under SOURCES, sorted."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *SOURCES],
            check=True, capture_output=True,
        ).stdout.decode()
        # --cached lists files deleted from the work tree, too
        found = {p for p in out.split("\0") if p and (repo / p).is_file()}
    except (OSError, subprocess.CalledProcessError):  # no git, or not a git work tree
        found = set()
        for entry in SOURCES:
            path = repo / entry
            candidates = [path] if path.is_file() else path.rglob("*")
            for p in candidates:
                rel = p.relative_to(repo)
                if p.is_file() and "__pycache__" not in rel.parts and p.suffix != ".pyc":
                    found.add(rel.as_posix())
    return sorted(found)


def _hash(entries: list[tuple[str, bool, bytes]]) -> str:
    h = hashlib.sha256()
    for rel, executable, data in entries:
        h.update(rel.encode() + b"\0" + (b"x" if executable else b"-"))
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def _read(repo: Path) -> list[tuple[str, bool, bytes]]:
    """(path, executable, contents) of files(), each read once."""
    entries = []
    for rel in files(repo):
        path = repo / rel
        entries.append((rel, bool(path.stat().st_mode & 0o111), path.read_bytes()))
    return entries


def source_hash(repo: Path = REPO) -> str:
    """sha256 over the paths, executable bits and contents of files()."""
    return _hash(_read(repo))


def copy(dest: Path, repo: Path = REPO) -> str:
    """Write files() below dest; return the hash of what was written."""
    entries = _read(repo)
    for rel, executable, data in entries:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o755 if executable else 0o644)
    return _hash(entries)


def main(argv: list[str]) -> int:
    if argv[:1] == ["hash"] and len(argv) == 1:
        print(source_hash())
        return 0
    if argv[:1] == ["copy"] and len(argv) == 2:
        print(copy(Path(argv[1])))
        return 0
    print(__doc__.split("\n\n")[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
