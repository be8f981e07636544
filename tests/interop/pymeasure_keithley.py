#!/usr/bin/env python3
"""pymeasure's Keithley6517B driver against `labdeck sim electrometer` (scpi
dialect) over pyvisa-py's raw socket: identification, reset, a current
measurement with autorange and NPLC, a manual range, a 5-point buffer and the
error check.

Usage: pymeasure_keithley.py HOST PORT [--current AMPS]
Exit status: 0 = pass, 1 = a check failed, 2 = cannot connect.
"""
import argparse
import math
import sys

from pymeasure.instruments.keithley import Keithley6517B


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--current", type=float, default=1.0e-9,
                    help="the simulator's input current (default %(default)s)")
    a = ap.parse_args()

    failed = 0

    def check(ok, label, detail=""):
        nonlocal failed
        print(f"{'PASS' if ok else 'FAIL'} {label}" + (f": {detail}" if detail else ""))
        failed += 0 if ok else 1

    resource = f"TCPIP0::{a.host}::{a.port}::SOCKET"
    try:
        k = Keithley6517B(resource, visa_library="@py", read_termination="\n",
                          write_termination="\n", timeout=2000)
    except Exception as exc:  # pragma: no cover - environment problem
        print(f"cannot open {resource}: {exc}", file=sys.stderr)
        return 2

    idn = k.id
    check("6517B" in idn and "KEITHLEY" in idn, "id", repr(idn))
    k.reset()
    k.measure_current(nplc=1, auto_range=True)
    auto = k.current
    check(isinstance(auto, float) and math.isclose(auto, a.current, rel_tol=0.05),
          "current with autorange", repr(auto))
    k.current_range = 2e-9
    check(math.isclose(k.current_range, 2e-9), "current_range", repr(k.current_range))
    manual = k.current
    check(isinstance(manual, float) and math.isclose(manual, a.current, rel_tol=0.05),
          "current on the 2 nA range", repr(manual))
    k.config_buffer(points=5)
    k.start_buffer()
    k.wait_for_buffer(timeout=10)
    data = k.buffer_data
    values = list(data) if data is not None else []
    check(len(values) == 5 and all(math.isclose(float(v), a.current, rel_tol=0.05) for v in values),
          "5-point buffer", repr(values))
    errors = k.check_errors()
    check(not errors, "no errors queued", repr(errors))
    k.adapter.close()
    print(f"OVERALL {'PASS' if failed == 0 else 'FAIL'}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
