"""One worker process per peer (``benchmarks.run_one``), kept across cases, with time limits."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
# Starting a worker imports its libraries; loading copies the arrays (8 GB at the largest).
START_LIMIT = 120.0
LOAD_LIMIT = 300.0


class WorkerFailed(Exception):
    """The worker stopped or ran out of time; the message says which."""


class Worker:
    """A running ``benchmarks.run_one`` process for one peer."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._log = tempfile.TemporaryFile()
        # One malloc arena: with one per thread, pages freed in one case stay resident in
        # per-thread arenas that trimming does not reach, and hide part of the next case's
        # memory (gradreg's pass read 3-6 MB instead of its 8-9 MB of chunk buffers).
        env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONWARNINGS": "ignore",
               "MALLOC_ARENA_MAX": "1"}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.run_one", name], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, env=env, cwd=ROOT)
        self._pending = b""
        self._expect("ready", START_LIMIT)

    def measure(self, request: dict, limit: float) -> dict:
        """Send one data set; ``limit`` seconds for the measurements once it is loaded."""
        assert self._process.stdin is not None
        self._process.stdin.write((json.dumps(request) + "\n").encode())
        self._process.stdin.flush()
        self._expect("loaded", LOAD_LIMIT)
        return self._expect("median", limit)

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()

    def kill(self) -> None:
        self._process.kill()
        self._process.wait()
        self._log.close()

    def _expect(self, key: str, limit: float) -> dict:
        """The next JSON line holding ``key``; lines a library printed itself are skipped."""
        deadline = time.monotonic() + limit
        while True:
            line = self._line(deadline, limit)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and key in message:
                return message

    def _line(self, deadline: float, limit: float) -> bytes:
        assert self._process.stdout is not None
        stream = self._process.stdout.fileno()
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise WorkerFailed(f"stopped after {limit:.0f} s")
            ready, _, _ = select.select([stream], [], [], remaining)
            if ready:
                chunk = os.read(stream, 1 << 16)
                if not chunk:
                    raise WorkerFailed(f"failed: {self._last_error()[:80]}")
                self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line

    def _last_error(self) -> str:
        self._process.wait()
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self._process.returncode}"


class Pool:
    """Workers by peer name, started on first use and replaced after a failure."""

    def __init__(self) -> None:
        self._workers: dict[str, Worker] = {}

    def measure(self, name: str, request: dict, limit: float) -> dict:
        try:
            if name not in self._workers:
                self._workers[name] = Worker(name)
            result = self._workers[name].measure(request, limit)
        except WorkerFailed as failure:
            self._workers.pop(name, None)
            return {"status": str(failure)}
        result["status"] = "ok"
        return result

    def close(self) -> None:
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()
