"""A pymodbus client bound to one PLC register map, for the conformance checks.

Every call returns either the words (a list) or the Modbus exception code (an int), so a
check can expect either one; a transport error raises.
"""

from __future__ import annotations

import inspect

import plc_map as m
from pymodbus.client import ModbusTcpClient


class Failed(Exception):
    """A check did not hold."""


def expect(cond: object, why: str) -> None:
    """Fail the running check with `why` unless `cond`."""
    if not cond:
        raise Failed(why)


def show(got: list[int] | int) -> str:
    """A reply, for a failure message."""
    return f"exception {got:#04x}" if isinstance(got, int) else f"data {got}"


def expect_exception(got: list[int] | int, want: int, what: str) -> None:
    """Fail unless `got` is the Modbus exception `want`."""
    expect(got == want, f"{what}: got {show(got)}, want exception {want:#04x}")


# The keyword for the unit id changed within pymodbus 3.x (slave= became device_id=); the
# pinned version takes device_id=, and this keeps an older 3.x client working too.
_UNIT_KW = (
    "device_id"
    if "device_id" in inspect.signature(ModbusTcpClient.read_holding_registers).parameters
    else "slave"
)


class PlcClient:
    """Holding-register requests to one PLC at the addresses of `regmap`."""

    def __init__(self, host: str, port: int, regmap: m.RegisterMap) -> None:
        self.map = regmap
        self.client = ModbusTcpClient(host, port=port, timeout=2, retries=0)
        if not self.client.connect():
            raise Failed(f"cannot connect to the PLC on {host}:{port}")

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _result(rr) -> list[int] | int:
        if rr.isError():
            code = getattr(rr, "exception_code", None)
            if code is None:
                raise Failed(f"error response without an exception code: {rr}")
            return int(code)
        return list(getattr(rr, "registers", None) or [])

    def read(self, address: int, count: int, unit: int | None = None) -> list[int] | int:
        """FC03 of `count` words at `address` (on `unit`, default the map's)."""
        unit = self.map.unit_id if unit is None else unit
        rr = self.client.read_holding_registers(address, count=count, **{_UNIT_KW: unit})
        return self._result(rr)

    def write(self, address: int, words: list[int]) -> list[int] | int:
        """FC16 of `words` at `address`."""
        rr = self.client.write_registers(address, words, **{_UNIT_KW: self.map.unit_id})
        return self._result(rr)

    def write_one(self, address: int, word: int) -> list[int] | int:
        """FC06 of `word` at `address`."""
        rr = self.client.write_register(address, word, **{_UNIT_KW: self.map.unit_id})
        return self._result(rr)

    def read_input(self, address: int) -> list[int] | int:
        """FC04 (input registers), which the PLC does not serve."""
        rr = self.client.read_input_registers(address, count=1, **{_UNIT_KW: self.map.unit_id})
        return self._result(rr)

    def words(self, address: int, count: int) -> list[int]:
        """FC03 that must succeed with `count` words."""
        got = self.read(address, count)
        expect(not isinstance(got, int), f"FC03 {address}+{count}: got {show(got)}")
        expect(len(got) == count, f"FC03 {address}+{count} gave {len(got)} words")
        return got

    def status(self) -> list[int]:
        """The whole status block, in one request."""
        return self.words(self.map.status_base, m.STATUS_LEN)

    def command(self) -> list[int]:
        """The whole command block, in one request."""
        return self.words(self.map.command_base, m.COMMAND_LEN)
