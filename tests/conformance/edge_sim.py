"""edge-sim as a child process on free loopback ports, for the conformance checks."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import plc_map as m
from modbus_plc_client import Failed

# How long edge-sim may take to say where it listens, and to stop after SIGTERM (it
# drains for up to 5 s).
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class EdgeSim:
    """edge-sim (one line) started with `regmap` and `line_args` on free loopback ports.

    `--base-port 0` lets the OS pick every port; the addresses come from the JSON line
    `--print-addresses-json` prints on stdout (`{"http": .., "lines": [{"plc": ..}]}`; its
    text table is understood too). The log goes to a temporary file for :meth:`log_tail`.
    """

    def __init__(self, binary: Path, regmap: m.RegisterMap, line_args: list[str]) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        args = [
            str(binary),
            *("--bind", "127.0.0.1", "--base-port", "0", "--print-addresses-json"),
            *("--unit-id", str(regmap.unit_id)),
            *("--status-base", str(regmap.status_base)),
            *("--command-base", str(regmap.command_base)),
            *line_args,
        ]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        # The --print-addresses-json document, once read.
        self.addresses: dict = {}
        threading.Thread(target=self._read_stdout, daemon=True).start()
        try:
            self.plc, self.http = self._addresses()
        except BaseException:
            self.terminate()
            raise

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _addresses(self) -> tuple[tuple[str, int], tuple[str, int]]:
        """Wait (bounded) until edge-sim prints where its PLC and HTTP API listen."""
        deadline = time.monotonic() + START_TIMEOUT
        found: dict[str, tuple[str, int]] = {}
        seen = []
        while not {"plc", "http"} <= found.keys():
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                line = None
            if line is None:
                raise Failed(
                    f"edge-sim did not print its PLC and HTTP addresses within "
                    f"{START_TIMEOUT:.0f} s (exit status {self.proc.poll()}); "
                    f"stdout: {seen!r}; log: {self.log_tail(10)!r}"
                )
            seen.append(line.rstrip())
            found.update(parse_addresses(line))
            if line.lstrip().startswith("{"):
                try:
                    self.addresses = json.loads(line)
                except ValueError:
                    pass
        return found["plc"], found["http"]

    def inject(self, code: str, length_mm: int, weight_kg: float) -> int:
        """Put a parcel in the feeder over the HTTP API; its sim id."""
        host, port = self.http
        parcel = {"code": code, "length_mm": length_mm, "weight_kg": weight_kg}
        req = urllib.request.Request(
            f"http://{host}:{port}/parcels",
            data=json.dumps(parcel).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback only
            return int(json.load(resp).get("id", 0))

    def terminate(self) -> int | None:
        """SIGTERM, then the exit status; None when it did not stop in time (killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of edge-sim's log."""
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])


_ADDR = r"(\d+\.\d+\.\d+\.\d+):(\d+)"
_TEXT_ADDR = re.compile(rf"^\s*(?:L\d+\s+)?(PLC|HTTP)\b.*?(?:https?://)?{_ADDR}", re.I)


def parse_addresses(line: str) -> dict[str, tuple[str, int]]:
    """PLC/HTTP addresses in one stdout line of edge-sim: a JSON object or its text listing."""
    line = line.strip()
    if line.startswith("{"):
        try:
            doc = json.loads(line)
        except ValueError:
            return {}
        out: dict[str, tuple[str, int]] = {}
        for key, value in _walk(doc):
            kind = key.lower()
            hit = re.search(_ADDR, value) if isinstance(value, str) else None
            if kind in ("plc", "http") and kind not in out and hit:
                out[kind] = (hit.group(1), int(hit.group(2)))
        return out
    if hit := _TEXT_ADDR.match(line):
        return {hit.group(1).lower(): (hit.group(2), int(hit.group(3)))}
    return {}


def _walk(doc):
    """(key, value) pairs anywhere in a JSON document."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from _walk(item)
