"""indipyclient against a labdeck INDI server: learn the devices, read a
number vector, send a new value and wait for the server's set reply.

Usage: indipyclient_check.py HOST PORT DEVICE VECTOR MEMBER VALUE
Prints PASS/FAIL lines and OVERALL PASS or OVERALL FAIL; exit status 0/1.
"""

import asyncio
import sys

import indipyclient as ipc


class Client(ipc.IPyClient):
    async def rxevent(self, event):
        self.clientdata["events"].put_nowait(event)


async def main(host, port, device, vector, member, value):
    events = asyncio.Queue()
    client = Client(indihost=host, indiport=port, events=events)
    run = asyncio.create_task(client.asyncrun())
    results = []

    def check(ok, what):
        results.append(ok)
        print(("PASS " if ok else "FAIL ") + what, flush=True)

    async def until(predicate, seconds):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return None
            try:
                event = await asyncio.wait_for(events.get(), left)
            except asyncio.TimeoutError:
                return None
            if predicate(event):
                return event

    try:
        defined = await until(
            lambda e: e.eventtype == "Define" and e.devicename == device and e.vectorname == vector,
            15,
        )
        check(defined is not None, f"{device}.{vector} defined")
        if defined is None:
            return False
        pv = client[device][vector]
        check(pv.vectortype == "NumberVector", f"{vector} is a NumberVector ({pv.vectortype})")
        check(pv.perm == "rw", f"{vector} is rw ({pv.perm})")
        before = pv[member]
        print(f"     {device}.{vector}.{member} = {before} (state {pv.state}, group {pv.group})")
        check(before is not None, "the member has a value")
        devices = sorted(client.keys())
        print(f"     devices: {', '.join(devices)}")

        await client.send_newVector(device, vector, members={member: value})
        reply = await until(
            lambda e: e.eventtype == "Set"
            and e.devicename == device
            and e.vectorname == vector
            and e.vector.state == "Ok"
            and abs(ipc.getfloat(e.vector[member]) - float(value)) < 1e-9,
            15,
        )
        check(reply is not None, f"set{vector} reply with state Ok and {member} = {value}")
        return all(results)
    finally:
        client.shutdown()
        run.cancel()
        try:
            await run
        except (asyncio.CancelledError, Exception):
            pass


if __name__ == "__main__":
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    host, port, device, vector, member, value = sys.argv[1:]
    ok = asyncio.run(main(host, int(port), device, vector, member, value))
    print("OVERALL PASS" if ok else "OVERALL FAIL", flush=True)
    sys.exit(0 if ok else 1)
