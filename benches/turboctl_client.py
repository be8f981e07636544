#!/usr/bin/env python3
"""Time turboctl's own client (api.status) against a TURBOVAC simulator.

Usage: turboctl_client.py PORT [N]
Method of specs/turbovac.md §14.1: a uniform 0-20 ms sleep before each query
(so the phase against a polling simulator is random), N = 200 after one
warm-up; prints median, p10 and p90 in ms. The port is opened once with
turboctl's settings and never reconfigured.
"""
import random
import statistics
import sys
import time

import serial
from turboctl.telegram import api
from turboctl.ui.control_interface import SERIAL_KWARGS


def main() -> int:
    port = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    kwargs = dict(SERIAL_KWARGS)
    kwargs["port"] = port
    ser = serial.Serial(**kwargs)
    api.status(ser)
    samples = []
    rng = random.Random(1)
    for _ in range(n):
        time.sleep(rng.uniform(0, 0.020))
        start = time.perf_counter()
        api.status(ser)
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    median = statistics.median(samples)
    p10 = samples[int(0.1 * (n - 1))]
    p90 = samples[int(0.9 * (n - 1))]
    print(f"median {median:.3f} ms  p10 {p10:.3f} ms  p90 {p90:.3f} ms  (n={n})")
    ser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
