"""A sorting-line PLC played by pymodbus, holding the register map of map.rs.

The Rust driver (``LinePlc``) is tested against this server in
``devices/tests/it/pymodbus_server.rs``: a Modbus TCP stack no one here wrote, encoding the
status block from the documented map (``plc_map.py``, cross-checked against map.rs at
start), so a driver that only agrees with our own simulator cannot pass.

What it holds (the Rust test asserts this scene):

- status block at ``--status-base`` (read-only: a write is exception 0x02):
  belt running with the X-ray on (STATUS bits 0 and 3), ``--belt-speed`` mm/s, no fault;
  PLC_HEARTBEAT advancing by one every 10 ms (read from the clock at each request);
  PLC_CLOCK_MS at 1000; parcels 1..=7 entered (length 300 + 20 * n mm, stamped at
  PLC_CLOCK_MS 100 * n); parcels 1..=6 weighed (1000 + 50 * n g,
  all stable except parcel 6); parcels 1..=5 dropped into lanes 1, 2, 1, 3, 1 (so
  LANE_DROPS is 3, 1, 1, 0...); last accepted command (5, lane 1); heartbeat echo 0.
- command block at ``--command-base``, readable and writable: heartbeat 0, the command
  (5, 1), BELT_RUN 1. Writing CMD_TRACKING and CMD_LANE together is a lane command,
  acked in CMD_ACK_*; a lane outside 1..=``--lanes``, tracking number 0, or one of the two
  written alone is exception 0x03 and changes nothing. A heartbeat write is echoed in
  CONTROLLER_HEARTBEAT_ECHO. BELT_RUN 0/1 stops/starts the belt (STATUS bit 0 and
  BELT_SPEED follow); other values are 0x03.
- any other address: 0x02; function codes other than 03, 06, 16: 0x01; any unit id but
  ``--unit-id``: 0x0B GatewayTargetDevice (like edge-sim).

When listening it prints one JSON line on stdout, e.g.
``{"event": "ready", "host": "127.0.0.1", "port": 40123, "unit_id": 1, ...}``,
then logs only to stderr. It stops on SIGTERM or SIGINT, and when its stdin is a pipe,
when that pipe closes (so it dies with the test that started it).

Needs pymodbus as pinned in requirements.txt (the SimDevice/SimData server API of 3.16).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import stat  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import plc_map as m  # noqa: E402
from pymodbus.constants import ExcCodes  # noqa: E402
from pymodbus.server import ModbusTcpServer  # noqa: E402
from pymodbus.simulator import DataType, SimData, SimDevice  # noqa: E402

log = logging.getLogger("pymodbus_plc")

# The scene: (tracking number, lane) of the dropped parcels, oldest first.
DROPPED = [(1, 1), (2, 2), (3, 1), (4, 3), (5, 1)]
ENTERED = 7
WEIGHED = 6
UNSTABLE_WEIGHING = 6


def entry_length_mm(tracking_no: int) -> int:
    """Length of parcel `tracking_no` in the scene."""
    return 300 + 20 * tracking_no


def weight_g(tracking_no: int) -> int:
    """Weight of parcel `tracking_no` in the scene."""
    return 1000 + 50 * tracking_no


def initial_status(belt_speed: int) -> list[int]:
    """The status block of the scene, encoded by the documented map."""
    words = [0] * m.STATUS_LEN
    words[m.PLC_HEARTBEAT] = 1
    words[m.PLC_CLOCK_MS] = 1000
    words[m.STATUS] = m.STATUS_RUNNING | m.STATUS_XRAY_RUNNING
    words[m.BELT_SPEED] = belt_speed
    words[m.FAULT_CODE] = 0
    for t in range(1, ENTERED + 1):
        slot = m.ENTRY_RING + (t % m.RING_SLOTS) * m.ENTRY_SLOT_WORDS
        words[slot : slot + 3] = [t, entry_length_mm(t), 100 * t]
    words[m.ENTRY_COUNT] = ENTERED
    for count, t in enumerate(range(1, WEIGHED + 1), start=1):
        slot = m.WEIGHT_RING + ((count - 1) % m.RING_SLOTS) * m.WEIGHT_SLOT_WORDS
        stable = 0 if t == UNSTABLE_WEIGHING else 1
        words[slot : slot + 3] = [t, weight_g(t), stable]
    words[m.WEIGHT_COUNT] = WEIGHED
    for count, (t, lane) in enumerate(DROPPED, start=1):
        slot = m.DROP_RING + ((count - 1) % m.RING_SLOTS) * m.DROP_SLOT_WORDS
        words[slot : slot + 2] = [t, lane]
        if 1 <= lane <= m.COUNTED_LANES:
            words[m.LANE_DROPS + lane - 1] += 1
    words[m.DROP_COUNT] = len(DROPPED)
    last_t, last_lane = DROPPED[-1]
    words[m.CMD_ACK_TRACKING] = last_t
    words[m.CMD_ACK_LANE] = last_lane
    words[m.CONTROLLER_HEARTBEAT_ECHO] = 0
    return words


def initial_command() -> list[int]:
    """The command block of the scene."""
    words = [0] * m.COMMAND_LEN
    last_t, last_lane = DROPPED[-1]
    words[m.CMD_TRACKING] = last_t
    words[m.CMD_LANE] = last_lane
    words[m.BELT_RUN] = 1
    return words


class LinePlc:
    """The PLC's behaviour on top of pymodbus' register store (the SimDevice action)."""

    def __init__(self, regmap: m.RegisterMap, lanes: int, belt_speed: int) -> None:
        self.map = regmap
        self.lanes = lanes
        self.belt_speed = belt_speed
        self.started = time.monotonic()

    def heartbeat(self) -> int:
        """PLC_HEARTBEAT: +1 every 10 ms scan cycle since start, wrapping at 16 bits."""
        return (1 + int((time.monotonic() - self.started) * 100)) & 0xFFFF

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Called by pymodbus after its address checks, before it reads or writes."""
        if function_code not in (3, 6, 16):
            return ExcCodes.ILLEGAL_FUNCTION

        def at(status_offset: int) -> int:
            return self.map.status(status_offset) - start_address

        if values is None:
            registers[at(m.PLC_HEARTBEAT)] = self.heartbeat()
            return None
        # pymodbus refused writes into the read-only status block already; this write
        # lies inside the command block.
        first = address - self.map.command_base
        written = {first + i: int(v) for i, v in enumerate(values)}
        if (m.CMD_TRACKING in written) != (m.CMD_LANE in written):
            log.info("refused: CMD_TRACKING and CMD_LANE must be written together")
            return ExcCodes.ILLEGAL_VALUE
        if m.CMD_TRACKING in written:
            tracking_no, lane = written[m.CMD_TRACKING], written[m.CMD_LANE]
            if tracking_no == 0 or not 1 <= lane <= self.lanes:
                log.info("refused lane command %s -> lane %s", tracking_no, lane)
                return ExcCodes.ILLEGAL_VALUE
        run = written.get(m.BELT_RUN)
        if run is not None and run not in (0, 1):
            log.info("refused BELT_RUN %s", run)
            return ExcCodes.ILLEGAL_VALUE
        # Valid: apply the side effects; pymodbus stores the written words after we return.
        if m.CMD_TRACKING in written:
            registers[at(m.CMD_ACK_TRACKING)] = written[m.CMD_TRACKING]
            registers[at(m.CMD_ACK_LANE)] = written[m.CMD_LANE]
            log.info("lane command %s -> lane %s", written[m.CMD_TRACKING], written[m.CMD_LANE])
        if m.CONTROLLER_HEARTBEAT in written:
            registers[at(m.CONTROLLER_HEARTBEAT_ECHO)] = written[m.CONTROLLER_HEARTBEAT]
        if run is not None:
            status = registers[at(m.STATUS)] & ~m.STATUS_RUNNING
            registers[at(m.STATUS)] = status | (m.STATUS_RUNNING if run else 0)
            registers[at(m.BELT_SPEED)] = self.belt_speed if run else 0
        return None


async def other_unit(*_args) -> ExcCodes:
    """Every request for a unit id this PLC is not: 0x0B, as a gateway would answer."""
    return ExcCodes.GATEWAY_NO_RESPONSE


def devices(plc: LinePlc, belt_speed: int) -> list[SimDevice]:
    """The PLC on its unit id, and a catch-all (id 0) answering 0x0B for all others."""
    regmap = plc.map
    blocks = [
        SimData(
            regmap.status_base,
            count=1,
            values=initial_status(belt_speed),
            datatype=DataType.REGISTERS,
            readonly=True,
        ),
        SimData(
            regmap.command_base,
            count=1,
            values=initial_command(),
            datatype=DataType.REGISTERS,
        ),
    ]
    anyone_else = SimData(0, count=0x1_0000, values=0, datatype=DataType.REGISTERS)
    return [
        SimDevice(id=regmap.unit_id, simdata=blocks, action=plc.action),
        SimDevice(id=0, simdata=[anyone_else], action=other_unit),
    ]


def watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop when stdin is a pipe and it closes (the parent went away)."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return

    def drain() -> None:
        while sys.stdin.buffer.read1(4096):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=drain, name="stdin-watch", daemon=True).start()


async def serve(args: argparse.Namespace) -> None:
    """Listen, announce the port, and serve until told to stop."""
    regmap = m.RegisterMap(args.unit_id, args.status_base, args.command_base)
    plc = LinePlc(regmap, args.lanes, args.belt_speed)
    server = ModbusTcpServer(devices(plc, args.belt_speed), address=(args.host, args.port))
    await server.serve_forever(background=True)
    host, port = server.transport.sockets[0].getsockname()[:2]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch_stdin(loop, stop)
    ready = {
        "event": "ready",
        "host": host,
        "port": port,
        "unit_id": regmap.unit_id,
        "status_base": regmap.status_base,
        "command_base": regmap.command_base,
        "lanes": args.lanes,
    }
    print(json.dumps(ready), flush=True)
    await stop.wait()
    log.info("stopping")
    await server.shutdown()


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=0, help="TCP port (0: a free one)")
    p.add_argument("--unit-id", type=int, default=1, help="Modbus unit id, 1..=247")
    p.add_argument("--status-base", type=int, default=0)
    p.add_argument("--command-base", type=int, default=100)
    p.add_argument("--lanes", type=int, default=3, help="valid lanes are 1..=LANES")
    p.add_argument("--belt-speed", type=int, default=500, help="mm/s")
    p.add_argument("-v", "--verbose", action="store_true", help="log every command")
    args = p.parse_args(argv)
    if not 1 <= args.unit_id <= 247:
        p.error("--unit-id must be 1..=247")
    if not 1 <= args.lanes <= m.MAX_LANE:
        p.error(f"--lanes must be 1..={m.MAX_LANE}")
    if not 0 <= args.belt_speed <= m.MAX_BELT_SPEED:
        p.error(f"--belt-speed must be 0..={m.MAX_BELT_SPEED}")
    s0, c0 = args.status_base, args.command_base
    if s0 + m.STATUS_LEN > 0x1_0000 or c0 + m.COMMAND_LEN > 0x1_0000:
        p.error("a block runs past register 65535")
    if s0 < c0 + m.COMMAND_LEN and c0 < s0 + m.STATUS_LEN:
        p.error("the status and command blocks overlap")
    return args


def main(argv: list[str]) -> int:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="pymodbus_plc: %(levelname)s %(message)s",
    )
    if problems := m.check_against_rust():
        for problem in problems:
            print(f"pymodbus_plc: register map drift: {problem}", file=sys.stderr)
        return 2
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
