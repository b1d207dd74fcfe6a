"""A cheaper receive buffer for the channels the bastion relays.

Each paramiko channel buffers what arrives in a ``BufferedPipe`` holding an
``array('B')``: every packet is copied into the array, a read copies twice (a
slice, then ``tobytes``), and emptying the array frees it, so the next packets
grow a new one by repeated ``realloc`` (fresh pages: page faults on every MiB
relayed). A py-spy profile of a 200 MiB download put 14 % of the relay
thread in that read alone.

:class:`ChunkPipe` is the same pipe (paramiko's own locking, events and
``read``/``feed`` logic are kept: it subclasses ``BufferedPipe`` and overrides
only the two storage hooks paramiko factors out for this, ``_buffer_frombytes``
and ``_buffer_tobytes``) over :class:`Chunks`, a queue of the packets' own
``bytes``: a packet is kept as it arrives (no copy), a read joins the
packets it takes (one copy, none when it takes exactly one packet).

paramiko creates a channel's pipes itself, so :func:`use_chunk_pipes` changes
the class of one channel's two pipe objects, under each pipe's lock and
carrying over what is already buffered; nothing of paramiko's is changed for
any other channel. ``Chunks`` supports the operations ``BufferedPipe`` applies
to its storage: ``len``, ``del buffer[:]`` and ``del buffer[:n]``.

Those hooks and attributes are paramiko's internals (``pyproject.toml`` allows any
paramiko from 3.4): a paramiko whose ``BufferedPipe`` lacks one of them keeps its
own pipes (slower, still correct) rather than failing every relayed channel.
"""

from __future__ import annotations

from collections import deque

import paramiko
from paramiko.buffered_pipe import BufferedPipe


class Chunks:
    """Bytes kept as the pieces they arrived in; ``len`` is the number of bytes."""

    def __init__(self, data: bytes = b"") -> None:
        self._pieces: deque[bytes] = deque()
        self._size = 0
        self.append(data)

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        if data:
            self._pieces.append(bytes(data))
            self._size += len(data)

    def head(self, limit: int | None = None) -> bytes:
        """The first ``limit`` bytes (all of them for None), without removing them."""
        pieces = self._pieces
        if limit is None or limit >= self._size:
            return pieces[0] if len(pieces) == 1 else b"".join(pieces)
        out: list[bytes] = []
        need = limit
        for piece in pieces:
            if len(piece) >= need:
                out.append(piece[:need])  # the piece itself when it fits exactly
                break
            out.append(piece)
            need -= len(piece)
        return out[0] if len(out) == 1 else b"".join(out)

    def __delitem__(self, key: slice) -> None:
        if not isinstance(key, slice) or key.start not in (None, 0) or key.step is not None:
            raise TypeError("Chunks only drops bytes from the front: del chunks[:n]")
        drop = self._size if key.stop is None else min(max(key.stop, 0), self._size)
        self._size -= drop
        pieces = self._pieces
        while drop:
            piece = pieces.popleft()
            if len(piece) > drop:
                pieces.appendleft(piece[drop:])
                break
            drop -= len(piece)


class ChunkPipe(BufferedPipe):  # type: ignore[misc]
    """paramiko's BufferedPipe over :class:`Chunks` instead of an array."""

    _buffer: Chunks

    def _buffer_frombytes(self, data: bytes) -> None:
        self._buffer.append(data)

    def _buffer_tobytes(self, limit: int | None = None) -> bytes:
        return self._buffer.head(limit)


# What ChunkPipe relies on in paramiko's BufferedPipe: its storage hooks, and a pipe's lock and array.
_HOOKS = ("_buffer_frombytes", "_buffer_tobytes", "read", "feed")
_PIPE_PARTS = ("_lock", "_buffer")


def pipes_supported(pipe_class: type = BufferedPipe, pipe: object | None = None) -> bool:
    """Whether paramiko's pipe still has the hooks and attributes :class:`ChunkPipe` overrides and uses."""
    if not all(callable(getattr(pipe_class, name, None)) for name in _HOOKS):
        return False
    return pipe is None or all(hasattr(pipe, name) for name in _PIPE_PARTS)


def use_chunk_pipes(channel: paramiko.Channel) -> bool:
    """Give ``channel`` ChunkPipe receive buffers (stdout and stderr), keeping what they hold.

    Returns False, changing nothing, when this paramiko's pipes are not the ones ChunkPipe knows.
    """
    pipes = (channel.in_buffer, channel.in_stderr_buffer)
    if not all(
        isinstance(p, ChunkPipe) or (type(p) is BufferedPipe and pipes_supported(BufferedPipe, p)) for p in pipes
    ):
        return False
    for pipe in pipes:
        if isinstance(pipe, ChunkPipe):
            continue
        with pipe._lock:
            pipe._buffer = Chunks(pipe._buffer.tobytes())
            pipe.__class__ = ChunkPipe
    return True
