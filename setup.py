"""Builds the optional C extension of the RDB reader; everything else is in pyproject.toml.

``optional=True``: where no compiler is present the build goes on without it and keyscope
uses its pure-Python reader (``keyscope.rdb.FAST_PATH_AVAILABLE`` is then False).

The extension is one module built from the layered files of ``src/keyscope/rdb/native/``
(``common.h`` maps them). Link-time optimisation lets the hot per-element calls between
files (lengths, strings, the memory model) inline as they did in one file; symbols stay
hidden so that only ``PyInit__speedups`` is exported.
"""

from pathlib import Path

from setuptools import Extension, setup

NATIVE = Path("src/keyscope/rdb/native")

setup(
    ext_modules=[
        Extension(
            "keyscope.rdb._speedups",
            sources=sorted(str(p) for p in NATIVE.glob("*.c")),
            depends=sorted(str(p) for p in NATIVE.glob("*.h")),
            extra_compile_args=["-O3", "-std=gnu11", "-flto", "-fvisibility=hidden"],
            extra_link_args=["-O3", "-flto", "-fvisibility=hidden"],
            libraries=["pthread"],
            optional=True,
        )
    ]
)
