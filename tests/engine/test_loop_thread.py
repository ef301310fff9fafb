"""The engine's own loop thread: work submitted from another thread runs there and its result comes
back; a failing command is logged, not fatal; stop cancels what still runs."""

from __future__ import annotations

import asyncio
import threading

import pytest

from traywidget.engine.loop_thread import LoopThread


@pytest.fixture
def loop_thread():
    host = LoopThread("test-loop")
    host.start()
    yield host
    host.stop()


def test_a_coroutine_runs_on_the_loop_thread_and_its_result_returns(loop_thread):
    async def where() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    assert loop_thread.submit(where()).result(timeout=5) == "test-loop"


def test_another_event_loop_awaits_work_done_on_the_loop_thread(loop_thread):
    async def double(n: int) -> int:
        await asyncio.sleep(0.01)
        return 2 * n

    async def gui_side() -> list[int]:
        return list(await asyncio.gather(*(loop_thread.run(double(n)) for n in range(5))))

    assert asyncio.run(gui_side()) == [0, 2, 4, 6, 8]


def test_an_exception_crosses_back_to_the_caller(loop_thread):
    async def fails() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        loop_thread.submit(fails()).result(timeout=5)


def test_a_failing_call_is_logged_and_the_loop_goes_on(loop_thread, caplog):
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("bug in a command")

    loop_thread.call(broken)
    loop_thread.call(done.set)
    assert done.wait(5)
    assert "bug in a command" in caplog.text


def test_stop_cancels_what_still_runs_and_joins():
    host = LoopThread("stopping")
    host.start()
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    host.submit(forever())
    assert started.wait(5)
    host.stop()
    assert cancelled.is_set()
    assert not any(t.name == "stopping" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="not running"):
        host.call(print)
