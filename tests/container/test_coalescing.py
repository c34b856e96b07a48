"""The coalescing transport: the writes of one event-loop turn leave in one write, in order,
and closing or aborting keeps the transport's meaning."""

from __future__ import annotations

import asyncio
from typing import Any

from container.coalescing import CoalescingTransport


class RecordingTransport:
    """What a socket transport was asked to do."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8080) if name == "sockname" else default


def run(scenario: Any) -> RecordingTransport:
    async def main() -> RecordingTransport:
        real = RecordingTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        await scenario(transport)
        await asyncio.sleep(0)  # let the loop finish its turn
        return real

    return asyncio.run(main())


def test_the_writes_of_one_turn_are_one_write_in_order():
    async def scenario(transport: CoalescingTransport) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(memoryview(b"{}"))
        await asyncio.sleep(0)
        transport.write(b"next")

    assert run(scenario).writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", b"next"]


def test_close_sends_what_is_held_first():
    async def scenario(transport: CoalescingTransport) -> None:
        transport.write(b"last answer")
        transport.close()

    real = run(scenario)
    assert (real.writes, real.closed) == ([b"last answer"], True)


def test_abort_drops_what_is_held_and_nothing_is_written_to_a_closing_transport():
    async def dropped(transport: CoalescingTransport) -> None:
        transport.write(b"never sent")
        transport.abort()

    real = run(dropped)
    assert (real.writes, real.aborted) == ([], True)


def test_everything_else_is_the_real_transports():
    async def scenario(transport: CoalescingTransport) -> None:
        assert transport.get_extra_info("sockname") == ("127.0.0.1", 8080)
        assert transport.is_closing() is False

    run(scenario)
