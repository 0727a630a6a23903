"""The line PLC register map, as the Python conformance tools see it.

This is the one place on the Python side that names register offsets. The Rust source
of truth is ``devices/src/line_plc/map.rs``; :func:`check_against_rust` parses its
``pub const NAME: u16 = N;`` lines and the ``RegisterMap`` defaults and reports every
difference, so the two cannot drift apart silently: both conformance scripts refuse to
run on a mismatch.

All data are Modbus holding registers on one unit id, in two blocks at configurable bases:
the status block (PLC -> controller, ``STATUS_LEN`` words, read with FC03) and the command
block (controller -> PLC, ``COMMAND_LEN`` words, written with FC16/FC06 and readable).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# --- status block offsets (PLC -> controller) -------------------------------------------
PLC_HEARTBEAT = 0
STATUS = 1
BELT_SPEED = 2
FAULT_CODE = 3
PLC_CLOCK_MS = 4  # free-running ms clock, wrapping
ENTRY_COUNT = 5
ENTRY_RING = 6  # 8 x (tracking number, length mm, PLC_CLOCK_MS at entry); slot = tracking number mod 8
WEIGHT_COUNT = 30
WEIGHT_RING = 31  # 8 x (tracking number, weight g, flags bit 0 stable); slot = (count-1) mod 8
DROP_COUNT = 55
DROP_RING = 56  # 8 x (tracking number, lane); slot = (count-1) mod 8
CMD_ACK_TRACKING = 72
CMD_ACK_LANE = 73
CONTROLLER_HEARTBEAT_ECHO = 74
LANE_DROPS = 75  # drops per lane 1..=8
STATUS_LEN = 83
RING_SLOTS = 8
COUNTED_LANES = 8

# --- command block offsets (controller -> PLC) ------------------------------------------
CONTROLLER_HEARTBEAT = 0
CMD_TRACKING = 1
CMD_LANE = 2
BELT_RUN = 3
COMMAND_LEN = 4

# --- limits -----------------------------------------------------------------------------
MAX_BELT_SPEED = 10_000
MAX_LANE = 64

# Width of one ring slot in words.
ENTRY_SLOT_WORDS = 3
WEIGHT_SLOT_WORDS = 3
DROP_SLOT_WORDS = 2

# Bits of the STATUS word (bit 0 running, 1 e-stop, 2 fault, 3 X-ray running,
# 4 X-ray fault, 5 scale fault); any other bit set is a garbled word.
STATUS_RUNNING = 1 << 0
STATUS_ESTOP = 1 << 1
STATUS_FAULT = 1 << 2
STATUS_XRAY_RUNNING = 1 << 3
STATUS_XRAY_FAULT = 1 << 4
STATUS_SCALE_FAULT = 1 << 5
STATUS_DEFINED_BITS = 0b11_1111

# Fault codes 1..=6 (FaultCode in map.rs); 0 is no fault.
MAX_FAULT_CODE = 6

# Modbus exception codes the PLC (simulated or not) answers with.
ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
GATEWAY_TARGET_DEVICE = 0x0B

# Every `pub const NAME: u16` of map.rs, by name, as this module holds it.
RUST_CONSTS: dict[str, int] = {
    name: globals()[name]
    for name in (
        "PLC_HEARTBEAT STATUS BELT_SPEED FAULT_CODE PLC_CLOCK_MS ENTRY_COUNT ENTRY_RING WEIGHT_COUNT "
        "WEIGHT_RING DROP_COUNT DROP_RING CMD_ACK_TRACKING CMD_ACK_LANE "
        "CONTROLLER_HEARTBEAT_ECHO LANE_DROPS STATUS_LEN RING_SLOTS COUNTED_LANES "
        "CONTROLLER_HEARTBEAT CMD_TRACKING CMD_LANE BELT_RUN COMMAND_LEN MAX_BELT_SPEED "
        "MAX_LANE"
    ).split()
}


@dataclass(frozen=True)
class RegisterMap:
    """Where the two blocks live on one PLC (``RegisterMap`` in map.rs)."""

    unit_id: int = 1
    status_base: int = 0
    command_base: int = 100

    def status(self, offset: int) -> int:
        """Absolute address of a status-block offset."""
        return self.status_base + offset

    def command(self, offset: int) -> int:
        """Absolute address of a command-block offset."""
        return self.command_base + offset


def map_rs_path() -> Path:
    """map.rs in this checkout, or ``$CUSTOMS_EDGE_MAP_RS``."""
    override = os.environ.get("CUSTOMS_EDGE_MAP_RS")
    if override:
        return Path(override)
    root = Path(__file__).resolve().parents[2]
    return root / "devices" / "src" / "line_plc" / "map.rs"


_CONST_RE = re.compile(r"^\s*pub\s+const\s+([A-Z][A-Z0-9_]*)\s*:\s*u16\s*=\s*([0-9A-Fa-fx_]+)\s*;")
_DEFAULT_RE = re.compile(r"impl\s+Default\s+for\s+RegisterMap\s*\{(.*?)\n\}", re.S)
_FIELD_RE = re.compile(r"\b(unit_id|status_base|command_base)\s*:\s*([0-9_]+)\s*,")


def parse_rust_map(text: str) -> tuple[dict[str, int], dict[str, int]]:
    """The ``pub const NAME: u16 = N;`` values and the ``RegisterMap`` defaults of map.rs."""
    consts = {}
    for line in text.splitlines():
        if m := _CONST_RE.match(line):
            consts[m.group(1)] = int(m.group(2).replace("_", ""), 0)
    defaults = {}
    if m := _DEFAULT_RE.search(text):
        defaults = {k: int(v.replace("_", "")) for k, v in _FIELD_RE.findall(m.group(1))}
    return consts, defaults


def check_against_rust(path: Path | None = None) -> list[str]:
    """Every difference between this module and map.rs; empty when they agree."""
    path = path or map_rs_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        return [f"cannot read the Rust register map {path}: {err}"]
    consts, defaults = parse_rust_map(text)
    problems = []
    if not consts:
        problems.append(f"{path}: no `pub const NAME: u16 = N;` lines found")
    for name, value in sorted(consts.items()):
        if name not in RUST_CONSTS:
            problems.append(f"{name} = {value} in map.rs is not in plc_map.py")
        elif RUST_CONSTS[name] != value:
            problems.append(f"{name}: map.rs says {value}, plc_map.py says {RUST_CONSTS[name]}")
    for name in sorted(set(RUST_CONSTS) - set(consts)):
        problems.append(f"{name} is in plc_map.py but not a `pub const` of map.rs")
    want = RegisterMap()
    for field in ("unit_id", "status_base", "command_base"):
        if field not in defaults:
            problems.append(f"RegisterMap default {field} not found in map.rs")
        elif defaults[field] != getattr(want, field):
            problems.append(
                f"RegisterMap default {field}: map.rs says {defaults[field]}, "
                f"plc_map.py says {getattr(want, field)}"
            )
    # The layout facts the offsets imply: each block is contiguous and ends where it says.
    layout = [
        (ENTRY_RING + RING_SLOTS * ENTRY_SLOT_WORDS, WEIGHT_COUNT, "ENTRY_RING end"),
        (WEIGHT_RING + RING_SLOTS * WEIGHT_SLOT_WORDS, DROP_COUNT, "WEIGHT_RING end"),
        (DROP_RING + RING_SLOTS * DROP_SLOT_WORDS, CMD_ACK_TRACKING, "DROP_RING end"),
        (LANE_DROPS + COUNTED_LANES, STATUS_LEN, "LANE_DROPS end"),
        (BELT_RUN + 1, COMMAND_LEN, "BELT_RUN end"),
    ]
    for got, expected, what in layout:
        if got != expected:
            problems.append(f"{what} is at {got}, the next register at {expected}")
    return problems
