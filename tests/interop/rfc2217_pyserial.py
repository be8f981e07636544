#!/usr/bin/env python3
"""pyserial's rfc2217:// client against labdeck's RFC 2217 server in front
of `labdeck sim turbovac`: open at 19200 8E1 (every setting negotiated and
acknowledged, or pyserial raises), a TURBOVAC status query and its reply,
a baud change to 9600 negotiated on the open port, the query again, purges
(pyserial waits for their acknowledgement), DTR/RTS, and the port's
signature.

Usage: rfc2217_pyserial.py HOST:PORT
Prints one line per step and "OVERALL PASS"; exits 1 on a failure.
"""
import sys

import serial


def bcc(data: bytes) -> int:
    value = 0
    for b in data:
        value ^= b
    return value


def status_query() -> bytes:
    frame = bytearray(23)
    frame[0], frame[1] = 0x02, 0x16
    frame[11] = 0x04  # control word 0x0400: remote control, no command
    return bytes(frame) + bytes([bcc(frame)])


def round_trip(ser: serial.Serial, step: str) -> None:
    ser.write(status_query())
    reply = ser.read(24)
    if len(reply) != 24 or reply[:2] != b"\x02\x16" or bcc(reply[:23]) != reply[23]:
        raise SystemExit(f"FAIL {step}: reply {reply.hex(' ')!r}")
    print(f"PASS {step}: {reply.hex(' ')}")


def main() -> int:
    address = sys.argv[1]
    ser = serial.serial_for_url(
        f"rfc2217://{address}", baudrate=19200, parity=serial.PARITY_EVEN, timeout=3
    )
    print(f"PASS open at 19200 8E1: {ser!r}")
    round_trip(ser, "status at 19200")
    ser.baudrate = 9600
    print("PASS baud change to 9600 acknowledged")
    round_trip(ser, "status at 9600")
    ser.reset_input_buffer()
    ser.reset_output_buffer()
    print("PASS purges acknowledged")
    ser.dtr = False
    ser.rts = False
    ser.dtr = True
    ser.rts = True
    print("PASS DTR/RTS set")
    signature = ser.get_settings()
    print(f"PASS settings {signature}")
    ser.close()
    print("OVERALL PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
