"""The public RDB test corpus, kept in the repository: ``tests/data/rdb-corpus/``.

Data files only, copied unchanged from public repositories; ``MANIFEST.md`` there names the
origin of each file and ``LICENSES/`` holds the licence of each origin. A fresh clone runs
every corpus test: nothing here depends on ``../shared``.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "rdb-corpus"
FILES = sorted(CORPUS.rglob("*.rdb"))
assert FILES, f"the RDB corpus is missing from {CORPUS}"


def case_id(path: Path) -> str:
    """A test id for a corpus file: its path inside the corpus."""
    return str(path.relative_to(CORPUS))
