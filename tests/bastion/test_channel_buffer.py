"""The relay's channel receive buffers: paramiko's pipe semantics over the packets' own bytes."""

from __future__ import annotations

import random
import threading

import pytest
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

from bastion.channel_buffer import ChunkPipe, Chunks, pipes_supported, use_chunk_pipes


def test_chunks_hand_out_and_drop_bytes_from_the_front() -> None:
    chunks = Chunks(b"abc")
    chunks.append(b"")
    chunks.append(b"defg")
    chunks.append(b"h")
    assert len(chunks) == 8
    assert chunks.head(2) == b"ab" and chunks.head(5) == b"abcde" and chunks.head() == b"abcdefgh"
    del chunks[:5]
    assert len(chunks) == 3 and chunks.head() == b"fgh"
    del chunks[:3]
    assert len(chunks) == 0 and chunks.head() == b""
    with pytest.raises(TypeError):
        del chunks[1:2]


def test_a_read_of_exactly_one_packet_is_that_packet_not_a_copy() -> None:
    packet = bytes(range(256)) * 128
    chunks = Chunks()
    chunks.append(packet)
    assert chunks.head() is packet


def test_chunk_pipe_reads_what_buffered_pipe_reads() -> None:
    # The same random feeds and reads through paramiko's pipe and ours give the same bytes.
    rng = random.Random(8)
    theirs, ours = BufferedPipe(), BufferedPipe()
    ours._buffer = Chunks()
    ours.__class__ = ChunkPipe
    for _ in range(2000):
        if rng.random() < 0.55:
            data = rng.randbytes(rng.randint(0, 40_000))
            theirs.feed(data)
            ours.feed(data)
        else:
            n = rng.randint(1, 100_000)
            assert len(theirs) == len(ours)
            if len(theirs) == 0:
                with pytest.raises(PipeTimeout):
                    ours.read(n, timeout=0.0)
                continue
            assert ours.read(n) == theirs.read(n)
    assert ours.empty() == theirs.empty()
    ours.close()
    assert ours.read(10) == b""


def test_switching_a_channel_keeps_what_is_buffered_and_wakes_a_waiting_reader() -> None:
    class Channel:  # the two attributes use_chunk_pipes touches, as paramiko.Channel has them
        def __init__(self) -> None:
            self.in_buffer = BufferedPipe()
            self.in_stderr_buffer = BufferedPipe()

    channel = Channel()
    channel.in_buffer.feed(b"already here ")
    channel.in_stderr_buffer.feed(b"err")
    use_chunk_pipes(channel)
    use_chunk_pipes(channel)  # a second call changes nothing
    assert isinstance(channel.in_buffer, ChunkPipe) and isinstance(channel.in_stderr_buffer, ChunkPipe)
    assert channel.in_buffer.read(100) == b"already here "
    assert channel.in_stderr_buffer.read(100) == b"err"
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(channel.in_buffer.read(100, timeout=30)))
    reader.start()
    channel.in_buffer.feed(b"later")
    reader.join(30)
    assert got == [b"later"]


def test_concurrent_feeds_reads_and_a_close_lose_and_reorder_nothing() -> None:
    # paramiko's transport thread feeds while the relay reads; the channel closes while a read waits.
    rng = random.Random(31)
    packets = [rng.randbytes(rng.randint(1, 40_000)) for _ in range(3000)]
    pipe = BufferedPipe()
    pipe._buffer = Chunks()
    pipe.__class__ = ChunkPipe
    got: list[bytes] = []

    def reader() -> None:
        sizes = random.Random(32)
        while data := pipe.read(sizes.choice((1, 700, 32_768, 1 << 20)), timeout=30):
            got.append(data)

    thread = threading.Thread(target=reader)
    thread.start()
    for packet in packets:
        pipe.feed(packet)
    pipe.close()
    thread.join(60)
    assert not thread.is_alive()
    assert b"".join(got) == b"".join(packets)
    assert len(pipe) == 0 and pipe.read(10) == b""


def test_a_paramiko_whose_pipes_changed_keeps_its_own_pipes() -> None:
    """paramiko's internals are not an API: a pipe without the hooks or attributes ChunkPipe uses is left alone."""

    class OtherPipe(BufferedPipe):  # type: ignore[misc]
        _buffer_frombytes = None  # a paramiko that no longer factors the storage out

    class Channel:
        def __init__(self, pipe: BufferedPipe) -> None:
            self.in_buffer = pipe
            self.in_stderr_buffer = BufferedPipe()

    assert pipes_supported()
    assert not pipes_supported(OtherPipe)
    changed = Channel(OtherPipe())
    assert use_chunk_pipes(changed) is False
    assert type(changed.in_buffer) is OtherPipe and type(changed.in_stderr_buffer) is BufferedPipe
    bare = BufferedPipe()
    del bare._buffer  # a pipe that keeps its bytes under another name
    assert use_chunk_pipes(Channel(bare)) is False
    assert use_chunk_pipes(Channel(BufferedPipe())) is True
