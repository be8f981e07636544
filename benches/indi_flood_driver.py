#!/usr/bin/env python3
"""A raw INDI driver on stdin/stdout for the indi_throughput benchmark.

It defines one number vector (flood.VALUE), answers every newNumberVector
with a setNumberVector at once, and with --rate floods setNumberVector
messages: paced (RATE per second, written every millisecond) or, with
--rate -1, as fast as the pipe takes them. No XML library and no polling:
select() waits on stdin. It exits on EOF (the server went away).

indiserver starts drivers without arguments, so it is run through a
wrapper script that passes --rate.
"""

import os
import re
import select
import sys
import time

DEVICE = "flood"
VECTOR = "VALUE"

DEF = (
    f'<defNumberVector device="{DEVICE}" name="{VECTOR}" label="Value" group="Bench" '
    f'state="Ok" perm="rw" timeout="0" timestamp="2026-11-21T10:00:00">\n'
    f'<defNumber name="{VECTOR}" label="Value" format="%.3f" min="-1e9" max="1e9" step="0">\n'
    "0\n</defNumber>\n</defNumberVector>\n"
)


def set_vector(value: str) -> str:
    return (
        f'<setNumberVector device="{DEVICE}" name="{VECTOR}" state="Ok" '
        f'timestamp="2026-11-21T10:00:00.000">\n'
        f'<oneNumber name="{VECTOR}">\n{value}\n</oneNumber>\n</setNumberVector>\n'
    )


NEW = re.compile(rb"<newNumberVector[^>]*>.*?</newNumberVector>", re.S)
VALUE = re.compile(rb"<oneNumber[^>]*>\s*([^<\s]+)\s*</oneNumber>")


def main() -> None:
    rate = 0.0
    if "--rate" in sys.argv:
        rate = float(sys.argv[sys.argv.index("--rate") + 1])
    out = sys.stdout.buffer
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    one = set_vector("12345.678").encode()
    batch = one * 1000
    pending = b""
    flooding = False
    start = 0.0
    sent = 0
    while True:
        timeout = None
        if flooding:
            timeout = 0 if rate < 0 else 0.001
        ready, _, _ = select.select([stdin], [], [], timeout)
        if ready:
            chunk = os.read(stdin, 65536)
            if not chunk:
                return
            pending += chunk
            if b"<getProperties" in pending:
                out.write(DEF.encode())
                out.flush()
                if rate != 0 and not flooding:
                    flooding, start = True, time.monotonic()
            for match in NEW.finditer(pending):
                value = VALUE.search(match.group(0))
                if value:
                    out.write(set_vector(value.group(1).decode()).encode())
                    out.flush()
            # Keep only an unfinished element.
            cut = max(pending.rfind(b"/>"), pending.rfind(b"</newNumberVector>"))
            if cut >= 0:
                pending = pending[cut:].split(b">", 1)[1]
        if flooding:
            if rate < 0:
                out.write(batch)
            else:
                due = int(rate * (time.monotonic() - start)) - sent
                if due > 0:
                    due = min(due, 1000)
                    out.write(one * due)
                    sent += due
            out.flush()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
