"""edge-sim's line PLC, checked by a Modbus stack no one here wrote (pymodbus).

Usage: sim_with_pymodbus.py [--edge-sim PATH]   (or $EDGE_SIM; default target/debug/edge-sim)

For each of two register maps (the default one, and one moved by config to other bases
and another unit id) it starts edge-sim (one line) on free loopback ports, waits until it
prints where its PLC listens (bounded), and then, acting as a controller would (writing
heartbeats while it waits for the line), checks with pymodbus:

- the whole status block reads in one FC03 request, and every mapped register of both
  blocks reads on its own;
- structural facts of the status block: only defined STATUS bits, the belt running at the
  speed it was given, no fault, heartbeat advancing between reads, ring values in range;
- a parcel injected over HTTP shows up in the entry ring with its length; a lane command
  (FC16 of CMD_TRACKING + CMD_LANE) for it reads back from the command block and is acked
  in CMD_ACK_*; it is weighed (weight ring, stable, about its weight) and drops into that
  lane (drop ring, lane counter);
- a heartbeat written with FC06 is echoed in CONTROLLER_HEARTBEAT_ECHO;
- BELT_RUN (FC06) 0 stops and 1 restarts the belt (STATUS running bit), 2 is refused;
- Modbus exceptions: 0x02 for reads outside the blocks and writes into the status block,
  0x03 for a lane out of range and for CMD_TRACKING / CMD_LANE written alone, 0x01 for
  FC04, 0x0B for another unit id; refused writes change nothing;
- SIGTERM stops edge-sim with exit status 0.

Then edge-sim with a gate lane (scenario) for the malformed requests
(malformed_modbus.py): the PLC, the gate I/O and the weighbridge each answer truncated
PDUs, trailing bytes, FC16/FC23 byte counts that disagree with their quantity and
quantities out of range with exception 0x03 (0x01 on the read-only weighbridge for
writes), unknown functions with 0x01, keep the connection and answer a good request
after them; a bad MBAP header (protocol id, length) closes the connection unanswered.

Register offsets come from plc_map.py, which is cross-checked against map.rs first.
Prints PASS/FAIL per check, then "sim_with_pymodbus: N passed, M failed"; exits 1 on any
failure (with the tail of edge-sim's log).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import malformed_modbus  # noqa: E402
import plc_map as m  # noqa: E402
from edge_sim import EdgeSim  # noqa: E402
from modbus_plc_client import Failed, PlcClient, expect, expect_exception, show  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# How long a parcel may take from injection to the photo-eye, and on to its lane.
PARCEL_TIMEOUT = 20.0
# The weight of the parcel injected for the lane command, in grams.
WEIGHT_G = 1250
# How long the belt may take to stop or start after a BELT_RUN write.
BELT_TIMEOUT = 10.0
# A controller's poll period.
POLL = 0.01

# The line edge-sim is started with: a short, fast belt so a parcel drops in ~0.5 s.
LANES = 3
BELT_SPEED = 2000
LINE_ARGS = [
    *("--lines", "1", "--belt-speed", str(BELT_SPEED)),
    *("--scale-at", "200", "--scanner-at", "400", "--xray-at", "600", "--diverter-at", "1000"),
    *("--lanes", str(LANES), "--exception-lane", str(LANES)),
]
MAPS = {
    "default map": m.RegisterMap(),
    "moved map": m.RegisterMap(unit_id=7, status_base=2000, command_base=1000),
}


class Report:
    """PASS/FAIL lines and the counts."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, scope: str, name: str, body: Callable[[], str | None]) -> bool:
        """Run one check; `body` raises (Failed or anything) to fail, may return a detail."""
        try:
            detail = body()
        except Exception as err:  # noqa: BLE001 - every error is a failed check
            self.failure(scope, name, err)
            return False
        self.passed += 1
        print(f"PASS  [{scope}] {name}" + (f" ({detail})" if detail else ""), flush=True)
        return True

    def failure(self, scope: str, name: str, err: BaseException) -> None:
        """Count and print a failed check."""
        self.failed += 1
        why = str(err) if isinstance(err, Failed) else f"{type(err).__name__}: {err}"
        print(f"FAIL  [{scope}] {name}: {why}", flush=True)


def unmapped_address(regmap: m.RegisterMap) -> int:
    """5000, or the first address above it outside both blocks."""
    blocks = [
        (regmap.status_base, regmap.status_base + m.STATUS_LEN),
        (regmap.command_base, regmap.command_base + m.COMMAND_LEN),
    ]
    addr = 5000
    while any(lo <= addr < hi for lo, hi in blocks):
        addr += 1
    return addr


def run_suite(binary: Path, scope: str, regmap: m.RegisterMap, report: Report) -> None:
    """Every check against one edge-sim started with `regmap`."""
    started = "edge-sim starts and prints its addresses"
    try:
        sim = EdgeSim(binary, regmap, LINE_ARGS)
    except Exception as err:  # noqa: BLE001
        report.failure(scope, started, err)
        return
    report.check(scope, started, lambda: f"PLC on port {sim.plc[1]}")
    failed_before = report.failed
    plc = None
    try:
        plc = PlcClient(*sim.plc, regmap)
        Checks(plc, sim, regmap, scope, report).run()
    except Exception as err:  # noqa: BLE001
        report.failure(scope, "talking to the PLC", err)
    finally:
        if plc is not None:
            plc.close()
        status = sim.terminate()
        report.check(
            scope,
            "SIGTERM stops edge-sim with exit status 0",
            lambda: expect(status == 0, f"exit status {status} (None: did not stop, killed)"),
        )
        if report.failed > failed_before:
            print(f"---- edge-sim log ({scope}), last lines ----", flush=True)
            print(f"{sim.log_tail()}----", flush=True)


class Checks:
    """The checks against one running edge-sim, in order."""

    def __init__(
        self, plc: PlcClient, sim: EdgeSim, regmap: m.RegisterMap, scope: str, report: Report
    ) -> None:
        self.plc, self.sim, self.map, self.scope, self.report = plc, sim, regmap, scope, report
        self.beat = 0

    def check(self, name: str, body: Callable[[], str | None]) -> bool:
        return self.report.check(self.scope, name, body)

    def heartbeat(self) -> None:
        """Write the next controller heartbeat (FC06), as a controller does every poll."""
        self.beat = (self.beat + 1) & 0xFFFF or 1
        got = self.plc.write_one(self.map.command(m.CONTROLLER_HEARTBEAT), self.beat)
        expect(not isinstance(got, int), f"heartbeat write answered exception {got}")

    def poll_until(self, what: str, done: Callable[[list[int]], bool], timeout: float) -> list[int]:
        """Poll the status block (writing heartbeats) until `done(status)`, bounded."""
        deadline = time.monotonic() + timeout
        while True:
            self.heartbeat()
            status = self.plc.status()
            if done(status):
                return status
            if time.monotonic() > deadline:
                raise Failed(f"{what}: not within {timeout:.0f} s")
            time.sleep(POLL)

    def run(self) -> None:
        for name, body in [
            ("status block: all STATUS_LEN words in one FC03 request", self.whole_status_block),
            ("status block: structural facts", self.structure),
            ("status block: PLC heartbeat advances between two reads", self.plc_heartbeat),
            ("every mapped register reads on its own", self.every_register),
            ("command block reads back", self.command_block),
            ("controller heartbeat (FC06) is echoed", self.heartbeat_echo),
            (
                "a parcel: entered, weighed; lane command (FC16) read back, acked, dropped there",
                self.lane_command,
            ),
            ("BELT_RUN (FC06) stops and restarts the belt, reads back", self.belt_run),
            ("reads outside the blocks: exception 0x02", self.unmapped_reads),
            ("writes into the status block: exception 0x02", self.status_writes),
            ("lane out of range: exception 0x03, nothing changed", self.lane_out_of_range),
            ("CMD_TRACKING or CMD_LANE alone: exception 0x03", self.half_command),
            ("another unit id: exception 0x0B", self.wrong_unit),
            ("another function code (FC04): exception 0x01", self.other_function),
        ]:
            self.check(name, body)

    # --- the checks -----------------------------------------------------------------------

    def whole_status_block(self) -> str:
        words = self.plc.status()
        return f"{len(words)} words at {self.map.status_base}"

    def structure(self) -> str:
        s = self.plc.status()
        flags = s[m.STATUS]
        expect(flags & ~m.STATUS_DEFINED_BITS == 0, f"STATUS {flags:#06x} has undefined bits")
        expect(flags & m.STATUS_RUNNING, f"STATUS {flags:#06x}: running bit not set")
        expect(not flags & m.STATUS_ESTOP, f"STATUS {flags:#06x}: e-stop set")
        speed = s[m.BELT_SPEED]
        expect(0 < speed <= m.MAX_BELT_SPEED, f"BELT_SPEED {speed} not in 1..={m.MAX_BELT_SPEED}")
        expect(speed == BELT_SPEED, f"BELT_SPEED {speed}, edge-sim was started with {BELT_SPEED}")
        fault = s[m.FAULT_CODE]
        expect(fault <= m.MAX_FAULT_CODE, f"FAULT_CODE {fault} is not a fault code")
        expect(fault == 0, f"FAULT_CODE {fault} on a fresh line")
        for i in range(m.RING_SLOTS):
            wflags = s[m.WEIGHT_RING + i * m.WEIGHT_SLOT_WORDS + 2]
            expect(wflags <= 1, f"WEIGHT_RING slot {i} flags {wflags}")
            lane = s[m.DROP_RING + i * m.DROP_SLOT_WORDS + 1]
            expect(lane <= m.MAX_LANE, f"DROP_RING slot {i} lane {lane}")
        expect(s[m.ENTRY_COUNT] == 0, f"ENTRY_COUNT {s[m.ENTRY_COUNT]} with no parcel injected")
        return f"STATUS {flags:#04x}, {speed} mm/s"

    def plc_heartbeat(self) -> str:
        first = self.plc.status()[m.PLC_HEARTBEAT]
        deadline = time.monotonic() + 5
        while (now := self.plc.status()[m.PLC_HEARTBEAT]) == first:
            expect(time.monotonic() < deadline, f"PLC_HEARTBEAT stuck at {first} for 5 s")
            time.sleep(POLL)
        return f"{first} -> {now}"

    def every_register(self) -> str:
        blocks = [(self.map.status_base, m.STATUS_LEN), (self.map.command_base, m.COMMAND_LEN)]
        for base, length in blocks:
            for addr in range(base, base + length):
                got = self.plc.read(addr, 1)
                expect(not isinstance(got, int), f"register {addr} answered exception {got}")
        return f"{m.STATUS_LEN} + {m.COMMAND_LEN} registers"

    def command_block(self) -> str:
        words = self.plc.command()
        return f"{words}"

    def heartbeat_echo(self) -> str:
        addr = self.map.command(m.CONTROLLER_HEARTBEAT)
        for beat in (0xBEEF, 1):
            got = self.plc.write_one(addr, beat)
            expect(not isinstance(got, int), f"FC06 heartbeat answered exception {got}")
            echo = self.plc.status()[m.CONTROLLER_HEARTBEAT_ECHO]
            expect(echo == beat, f"wrote {beat}, CONTROLLER_HEARTBEAT_ECHO is {echo}")
            back = self.plc.command()[m.CONTROLLER_HEARTBEAT]
            expect(back == beat, f"wrote {beat}, CONTROLLER_HEARTBEAT reads back {back}")
        self.beat = 1
        return "0xBEEF and 1 echoed"

    def lane_command(self) -> str:
        before = self.plc.status()
        self.sim.inject("SFCONFORMANCE001", length_mm=300, weight_kg=WEIGHT_G / 1000)
        status = self.poll_until(
            "the injected parcel at the entry photo-eye",
            lambda s: s[m.ENTRY_COUNT] != before[m.ENTRY_COUNT],
            PARCEL_TIMEOUT,
        )
        tracking = status[m.ENTRY_COUNT]
        slot = m.ENTRY_RING + (tracking % m.RING_SLOTS) * m.ENTRY_SLOT_WORDS
        expect(status[slot] == tracking, f"ENTRY_RING slot holds {status[slot]}, not {tracking}")
        expect(status[slot + 1] == 300, f"parcel length {status[slot + 1]} mm, injected 300")
        lane = 1
        got = self.plc.write(self.map.command(m.CMD_TRACKING), [tracking, lane])
        expect(not isinstance(got, int), f"FC16 lane command answered exception {got}")
        back = self.plc.words(self.map.command(m.CMD_TRACKING), 2)
        expect(back == [tracking, lane], f"wrote {[tracking, lane]}, read back {back}")
        s = self.plc.status()
        ack = [s[m.CMD_ACK_TRACKING], s[m.CMD_ACK_LANE]]
        expect(ack == [tracking, lane], f"CMD_ACK_* is {ack}, not {[tracking, lane]}")
        drops_before = before[m.DROP_COUNT]
        s = self.poll_until(
            f"parcel {tracking} dropped",
            lambda s: s[m.DROP_COUNT] != drops_before,
            PARCEL_TIMEOUT,
        )
        count = s[m.DROP_COUNT]
        slot = m.DROP_RING + ((count - 1) % m.RING_SLOTS) * m.DROP_SLOT_WORDS
        dropped = [s[slot], s[slot + 1]]
        expect(dropped == [tracking, lane], f"DROP_RING says {dropped}, not {[tracking, lane]}")
        counted = s[m.LANE_DROPS + lane - 1] - before[m.LANE_DROPS + lane - 1]
        expect(counted == 1, f"LANE_DROPS[{lane}] went up by {counted}")
        weighed = (s[m.WEIGHT_COUNT] - before[m.WEIGHT_COUNT]) & 0xFFFF
        expect(weighed == 1, f"WEIGHT_COUNT went up by {weighed}, not 1")
        slot = m.WEIGHT_RING + ((s[m.WEIGHT_COUNT] - 1) % m.RING_SLOTS) * m.WEIGHT_SLOT_WORDS
        t, grams, wflags = s[slot : slot + 3]
        expect(t == tracking, f"WEIGHT_RING holds parcel {t}, not {tracking}")
        expect(abs(grams - WEIGHT_G) <= WEIGHT_G // 10, f"weighed {grams} g, injected {WEIGHT_G} g")
        expect(wflags == 1, f"weighing flags {wflags}, not stable (1)")
        return f"tracking {tracking} ({grams} g) -> lane {lane}"

    def belt_run(self) -> str:
        addr = self.map.command(m.BELT_RUN)
        for run in (0, 1):
            got = self.plc.write_one(addr, run)
            expect(not isinstance(got, int), f"BELT_RUN {run}: got {show(got)}")
            back = self.plc.command()[m.BELT_RUN]
            expect(back == run, f"wrote BELT_RUN {run}, read back {back}")
            self.poll_until(
                f"STATUS running bit {'set' if run else 'cleared'} after BELT_RUN {run}",
                lambda s, run=run: bool(s[m.STATUS] & m.STATUS_RUNNING) == bool(run),
                BELT_TIMEOUT,
            )
        got = self.plc.write_one(addr, 2)
        expect_exception(got, m.ILLEGAL_DATA_VALUE, "BELT_RUN 2")
        return "stopped, restarted; 2 refused"

    def unmapped_reads(self) -> str:
        s_end = self.map.status_base + m.STATUS_LEN
        c_end = self.map.command_base + m.COMMAND_LEN
        cases = [
            (unmapped_address(self.map), 1),
            (s_end - 1, 2),  # runs past the end of the status block
            (c_end - 1, 2),  # runs past the end of the command block
            (self.map.status_base, m.STATUS_LEN + 1),
        ]
        for lo in (s_end, c_end):  # the first register after each block, if unmapped
            if not (self.map.command_base <= lo < c_end or self.map.status_base <= lo < s_end):
                cases.append((lo, 1))
        if self.map.status_base > 0 and self.map.command_base > 0:
            low = min(self.map.status_base, self.map.command_base) - 1
            cases.append((low, 1))
        for addr, count in cases:
            got = self.plc.read(addr, count)
            expect_exception(got, m.ILLEGAL_DATA_ADDRESS, f"FC03 {addr}+{count}")
        return f"{len(cases)} ranges"

    def status_writes(self) -> None:
        addr = self.map.status(m.PLC_HEARTBEAT)
        got = self.plc.write_one(addr, 1)
        expect_exception(got, m.ILLEGAL_DATA_ADDRESS, f"FC06 at {addr}")
        addr = self.map.status(m.CMD_ACK_TRACKING)
        got = self.plc.write(addr, [1, 1])
        expect_exception(got, m.ILLEGAL_DATA_ADDRESS, f"FC16 at {addr}")

    def lane_out_of_range(self) -> str:
        before = self.plc.command()
        ack_before = self.plc.status()[m.CMD_ACK_TRACKING : m.CMD_ACK_LANE + 1]
        for lane in (0, LANES + 1, m.MAX_LANE + 1):
            got = self.plc.write(self.map.command(m.CMD_TRACKING), [1, lane])
            expect_exception(got, m.ILLEGAL_DATA_VALUE, f"lane {lane}")
        after = self.plc.command()
        expect(after == before, f"command block changed from {before} to {after}")
        ack = self.plc.status()[m.CMD_ACK_TRACKING : m.CMD_ACK_LANE + 1]
        expect(ack == ack_before, f"CMD_ACK_* changed from {ack_before} to {ack}")
        return f"lanes 0, {LANES + 1}, {m.MAX_LANE + 1} with {LANES} lanes"

    def half_command(self) -> None:
        before = self.plc.command()
        for off, word in ((m.CMD_TRACKING, 1), (m.CMD_LANE, 1)):
            got = self.plc.write_one(self.map.command(off), word)
            expect_exception(got, m.ILLEGAL_DATA_VALUE, f"FC06 at offset {off}")
        # FC16 of heartbeat + tracking (without the lane) is half a command too.
        got = self.plc.write(self.map.command(m.CONTROLLER_HEARTBEAT), [self.beat, 1])
        expect_exception(got, m.ILLEGAL_DATA_VALUE, "FC16 heartbeat+tracking")
        after = self.plc.command()
        expect(after == before, f"command block changed from {before} to {after}")

    def wrong_unit(self) -> str:
        other = 1 if self.map.unit_id != 1 else 2
        got = self.plc.read(self.map.status_base, 1, unit=other)
        expect_exception(got, m.GATEWAY_TARGET_DEVICE, f"unit {other}")
        return f"unit {other}"

    def other_function(self) -> None:
        got = self.plc.read_input(self.map.status_base)
        expect_exception(got, m.ILLEGAL_FUNCTION, "FC04")


# A site with one line and one gate lane (gate I/O and weighbridge on free ports) and
# nothing happening: only the devices are wanted.
GATE_SCENARIO = """
duration_ms = 600000
[[gate]]
id = "K1"
direction = "out"
io_listen = "127.0.0.1:0"
weighbridge_listen = "127.0.0.1:0"
"""


def run_malformed_suite(binary: Path, report: Report) -> None:
    """Malformed requests against the PLC, a gate I/O and a weighbridge."""
    scope = "malformed requests"
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(GATE_SCENARIO)
        scenario = f.name
    try:
        sim = EdgeSim(binary, m.RegisterMap(), ["--lines", "1", "--scenario", scenario])
    except Exception as err:  # noqa: BLE001
        report.failure(scope, "edge-sim starts with a gate lane", err)
        os.unlink(scenario)
        return
    failed_before = report.failed
    try:
        gate = sim.addresses["gates"][0]
        devices = [
            ("line PLC", f"{sim.plc[0]}:{sim.plc[1]}", m.RegisterMap().command_base, True),
            ("gate I/O", gate["io"], 100, True),
            ("weighbridge", gate["weighbridge"], 0, False),
        ]
        for name, addr, command_base, writable in devices:
            host, port = addr.rsplit(":", 1)
            report.check(
                scope,
                f"{name}: exceptions for malformed requests, closed on a bad MBAP header",
                lambda h=host, p=port, b=command_base, w=writable: malformed_modbus.check_device(
                    h, int(p), 1, b, w
                ),
            )
    finally:
        status = sim.terminate()
        os.unlink(scenario)
        report.check(scope, "SIGTERM stops edge-sim", lambda: expect(status == 0, f"exit status {status}"))
        if report.failed > failed_before:
            print(f"---- edge-sim log ({scope}), last lines ----\n{sim.log_tail()}----", flush=True)


def main(argv: list[str]) -> int:
    """Entry point: the map cross-check, then the suite for each map."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--edge-sim",
        type=Path,
        default=Path(os.environ.get("EDGE_SIM", ROOT / "target" / "debug" / "edge-sim")),
        help="the edge-sim binary (default $EDGE_SIM, else target/debug/edge-sim)",
    )
    args = p.parse_args(argv)
    report = Report()
    drift = m.check_against_rust()
    report.check(
        "map",
        "plc_map.py agrees with devices/src/line_plc/map.rs",
        lambda: expect(not drift, "; ".join(drift)),
    )
    if not args.edge_sim.is_file():
        report.failure("setup", "edge-sim binary", Failed(f"{args.edge_sim} not found"))
    elif not drift:
        for scope, regmap in MAPS.items():
            run_suite(args.edge_sim, scope, regmap, report)
        run_malformed_suite(args.edge_sim, report)
    print(f"sim_with_pymodbus: {report.passed} passed, {report.failed} failed", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
