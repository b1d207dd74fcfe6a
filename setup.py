"""The optional C accelerator of the SQLite event store's index rows (everything else is in pyproject.toml).

``optional=True``: a machine without a C compiler or the Python headers installs the project
without it, and the store makes the same rows in Python (netguard/events/sqlite_index/batch.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "netguard.events.sqlite_index._rows",
            sources=["netguard/events/sqlite_index/_rows.c"],
            optional=True,
        )
    ]
)
