"""The public RDB test corpus, kept in the repository: ``tests/data/rdb-corpus/``.

Data files only, copied unchanged from public repositories; ``MANIFEST.md`` there names the
origin of each file and ``LICENSES/`` holds the licence of each origin. A fresh clone runs
every corpus test: nothing here depends on ``../shared``.

``FILES`` are the files a reader must read to the end; ``REFUSED`` the ones its origin keeps
to be refused (a future version, a wrong checksum), with the reason and offset expected.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "rdb-corpus"
REFUSED: dict[str, tuple[str, int | None]] = {
    "librdb/future_v19.rdb": ("unsupported RDB version 99", 5),
    "librdb/invalid_chksum_v8.rdb": ("checksum mismatch", None),
}
"""corpus path -> (start of the error's reason, its offset; None: the trailing checksum's)."""
ALL_FILES = sorted(CORPUS.rglob("*.rdb"))
FILES = [f for f in ALL_FILES if str(f.relative_to(CORPUS)) not in REFUSED]
assert FILES, f"the RDB corpus is missing from {CORPUS}"


def case_id(path: Path) -> str:
    """A test id for a corpus file: its path inside the corpus."""
    return str(path.relative_to(CORPUS))
