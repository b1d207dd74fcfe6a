"""The ``netguard`` command's groups, one module per area.

Each module parses options, calls the library and renders (rich tables for
people, ``--json`` for programs). No domain logic lives here.
"""
