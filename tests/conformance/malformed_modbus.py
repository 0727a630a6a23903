"""Malformed Modbus requests, as raw bytes on a socket, against one simulated device; the
answers read with pymodbus's own framer and PDU decoder (FramerSocket, DecodePDU).

What is expected (simulators/README.md, "Malformed Modbus requests"): an exception while
the MBAP header frames the request — 0x01 for a function the device does not implement,
0x03 when the PDU's lengths disagree — and the connection closed, without an answer, only
when the MBAP header cannot be trusted. After an exception the same connection answers a
good request.
"""

from __future__ import annotations

import socket
import struct

from modbus_plc_client import Failed, expect
from pymodbus.framer import FramerSocket
from pymodbus.pdu import DecodePDU

TIMEOUT = 5.0
ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_VALUE = 0x03

# (what, PDU): answered 0x03 by every device.
LENGTHS_DISAGREE = [
    ("FC03 truncated", bytes([0x03, 0, 0, 0])),
    ("FC03 with a trailing byte", bytes([0x03, 0, 0, 0, 1, 0xEE])),
    ("FC03 of 0 registers", bytes([0x03, 0, 0, 0, 0])),
    ("FC03 of 126 registers", bytes([0x03, 0, 0, 0, 126])),
]
# (what, PDU at command base + offset): 0x03 on a writable device, 0x01 on a read-only one.
WRITES_DISAGREE = [
    ("FC16 byte count 2 for quantity 2", lambda b: bytes([0x10, *b, 0, 2, 2, 0, 1])),
    ("FC16 with a trailing byte", lambda b: bytes([0x10, *b, 0, 1, 2, 0, 1, 0xEE])),
    ("FC16 data shorter than its byte count", lambda b: bytes([0x10, *b, 0, 2, 4, 0, 1])),
    ("FC16 truncated before its byte count", lambda b: bytes([0x10, *b])),
    ("FC06 truncated", lambda b: bytes([0x06, *b, 0])),
    ("FC23 byte count 4 for 1 register", lambda b: bytes([0x17, 0, 0, 0, 1, *b, 0, 1, 4, 0, 1])),
]
# (what, PDU): answered 0x01 by every device.
UNKNOWN_FUNCTIONS = [
    ("FC04", bytes([0x04, 0, 0, 0, 1])),
    ("FC43/14 (read device identification)", bytes([0x2B, 0x0E, 1, 0])),
    ("function 0x41 with junk", bytes([0x41, 0xFF, 0xFF])),
]
# (what, raw ADU): the connection is closed without an answer.
BAD_HEADERS = [
    ("MBAP protocol id 5", bytes([0, 1, 0, 5, 0, 6, 1, 0x03, 0, 0, 0, 1])),
    ("MBAP length 0xFFFF", bytes([0, 1, 0, 0, 0xFF, 0xFF, 1])),
    ("MBAP length 1 (no function code)", bytes([0, 1, 0, 0, 0, 1, 1])),
]


class RawClient:
    """One TCP connection; requests framed with pymodbus's FramerSocket, answers decoded
    by it."""

    def __init__(self, host: str, port: int, unit: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.unit = unit
        self.tid = 0
        self.framer = FramerSocket(DecodePDU(False))

    def close(self) -> None:
        self.sock.close()

    def ask(self, pdu: bytes):
        """Send `pdu` in a well-formed MBAP header; the decoded answer PDU."""
        self.tid += 1
        self.sock.sendall(self.framer.encode(pdu, self.unit, self.tid))
        data = b""
        while True:
            chunk = self.sock.recv(260)
            if not chunk:
                raise Failed(f"the device closed the connection after {pdu.hex(' ')}")
            data += chunk
            used, answer = self.framer.handleFrame(data, 0, 0)
            if answer is not None:
                expect(answer.transaction_id == self.tid, f"transaction id {answer.transaction_id}")
                return answer

    def closed_after(self, raw: bytes) -> bool:
        """Send raw bytes; whether the device closes the connection without answering."""
        self.sock.sendall(raw)
        try:
            return self.sock.recv(260) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def expect_exception(answer, function: int, code: int, what: str) -> None:
    expect(answer.isError(), f"{what}: answered {answer}, not an exception")
    expect(
        (answer.function_code, answer.exception_code) == (function | 0x80, code),
        f"{what}: exception {answer.function_code:#04x}/{answer.exception_code:#04x}, "
        f"want {function | 0x80:#04x}/{code:#04x}",
    )


def check_device(host: str, port: int, unit: int, command_base: int, writable: bool) -> str:
    """Every malformed request against one device; a summary, or Failed."""
    client = RawClient(host, port, unit)
    base = struct.pack(">H", command_base)
    try:
        for what, pdu in LENGTHS_DISAGREE:
            expect_exception(client.ask(pdu), pdu[0], ILLEGAL_DATA_VALUE, what)
        for what, make in WRITES_DISAGREE:
            pdu = make(base)
            code = ILLEGAL_DATA_VALUE if writable else ILLEGAL_FUNCTION
            expect_exception(client.ask(pdu), pdu[0], code, what)
        for what, pdu in UNKNOWN_FUNCTIONS:
            expect_exception(client.ask(pdu), pdu[0], ILLEGAL_FUNCTION, what)
        good = client.ask(bytes([0x03, 0, 0, 0, 1]))
        expect(not good.isError() and len(good.registers) == 1, f"a good FC03 after them: {good}")
    finally:
        client.close()
    for what, raw in BAD_HEADERS:
        client = RawClient(host, port, unit)
        try:
            expect(client.closed_after(raw), f"{what}: the connection stayed open")
        finally:
            client.close()
    answered = len(LENGTHS_DISAGREE) + len(WRITES_DISAGREE) + len(UNKNOWN_FUNCTIONS)
    return f"{answered} malformed requests answered with exceptions, {len(BAD_HEADERS)} bad headers closed"
