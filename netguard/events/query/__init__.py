"""The search language: parse (:mod:`.parser`), bind to the schema (:mod:`.plan`),
compile per backend (:mod:`.to_sqlite`, :mod:`.to_es`). See docs/query.md."""

from netguard.events.query.plan import Plan, compile_query, parse_duration_ms, time_window

__all__ = ["Plan", "compile_query", "parse_duration_ms", "time_window"]
