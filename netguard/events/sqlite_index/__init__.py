"""Side indexes of the embedded event store, for the searches a JSON column cannot serve.

The ``events`` table keeps each document once; text goes through a trigram
FTS5 index (see :mod:`netguard.events.sqlite_store`). Two kinds of search
stayed full scans with a call into Python per row (1.7 s and 3.0 s on a
million events), and get an index here: addresses
(:mod:`~netguard.events.sqlite_index.addresses`) and short CJK words
(:mod:`~netguard.events.sqlite_index.cjk`). Schema 3 adds the terms, numbers,
shapes and values index (:mod:`~netguard.events.sqlite_index.terms`);
:mod:`~netguard.events.sqlite_index.trigrams` makes the trigram index's query terms.

The address and CJK indexes are filled at write time from the values already in memory
(:mod:`~netguard.events.sqlite_index.batch`), and rebuilt from the stored
documents when an older store is upgraded (migration 2, which calls the
functions :func:`~netguard.events.sqlite_index.migrations.register_index_functions` registers).
"""
