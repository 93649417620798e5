"""Builds the optional C extension of the RDB reader; everything else is in pyproject.toml.

``optional=True``: where no compiler is present the build goes on without it and keyscope
uses its pure-Python reader (``keyscope.rdb.FAST_PATH_AVAILABLE`` is then False).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "keyscope.rdb._speedups",
            sources=["src/keyscope/rdb/_speedups.c"],
            extra_compile_args=["-O3", "-std=gnu11"],
            libraries=["pthread"],
            optional=True,
        )
    ]
)
