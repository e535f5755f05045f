#!/usr/bin/python3
"""client_overhead: the Python client's (clients/python) cost per call
against a bare pyzmq REQ socket sending the same msgpack request to the
same process of the same node, in the same run.

Starts a node (CH_BUILD/bin/chorusd, default build/) on a temporary datadir,
then for each case alternates rounds of K calls through chorus.Node and K
through the bare socket; a case's figure is the median over rounds of the
mean time per call (ns), so both sides see the same machine load.  Cases:
  ping      mempool's ping (the smallest round trip)
  get       mempool get of a pooled transaction (a reply of ~15 fields)
  submit    one prebuilt transaction per request (the node verifies its
            signature, ~50 us, on both sides)
  build_tx  building and signing a transaction in Python, against PyNaCl's
            bare sign of 32 bytes (no node)
JSON lines on stdout (docs/benchmarks.md), commentary on stderr with '#'.
Arguments: [--quick] (fewer rounds)."""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python"))


def note(*a):
    print("#", *a, file=sys.stderr, flush=True)


try:
    import msgpack
    import nacl.signing
    import zmq

    import chorus
except ImportError as e:
    note("client_overhead skipped: %s (apt-get install -y python3-zmq python3-msgpack "
         "python3-nacl)" % e)
    sys.exit(0)


def emit(case, value, base_name, base_value):
    ratio = base_value / value if value and base_value else None
    print('{"bench": "client_overhead", "case": "%s", "value": %.0f, "unit": "ns", '
          '"baseline": "%s", "baseline_value": %.0f, "ratio": %s}'
          % (case, value, base_name, base_value,
             "%.3f" % ratio if ratio is not None else "null"), flush=True)


def rounds(n_rounds, k, a, b):
    """Alternates k calls of a and k of b, n_rounds times; medians of ns/call."""
    ta, tb = [], []
    for r in range(n_rounds):
        for f, out in ((a, ta), (b, tb)) if r % 2 == 0 else ((b, tb), (a, ta)):
            t0 = time.perf_counter_ns()
            f(k)
            out.append((time.perf_counter_ns() - t0) / k)
    return statistics.median(ta), statistics.median(tb)


def main():
    quick = "--quick" in sys.argv[1:]
    n_rounds, k = (5, 200) if quick else (15, 500)
    build = os.environ.get("CH_BUILD", os.path.join(HERE, "..", "build"))
    chorusd = os.path.join(os.path.abspath(build), "bin", "chorusd")
    if not os.access(chorusd, os.X_OK):
        note("no %s (make first)" % chorusd)
        return 1
    tmp = tempfile.mkdtemp(prefix="chorus-pybench.")
    dd = os.path.join(tmp, "n")
    os.mkdir(dd)
    log = open(os.path.join(tmp, "out"), "w")
    proc = subprocess.Popen([chorusd, "--datadir", dd, "--foreground", "--log-file",
                             os.path.join(dd, "chorus.log"), "--max-outbound", "0"],
                            stdout=log, stderr=log)
    try:
        node = chorus.Node(dd, timeout=2.0)
        deadline = time.monotonic() + 30
        while True:
            try:
                st = node.status()
                if st["state"] == "running" and all(
                        s["state"] == "ready" for s in st["services"]):
                    break
            except chorus.ChorusError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                note("the node did not start")
                return 1
            time.sleep(0.05)

        ctx = zmq.Context.instance()
        raw = ctx.socket(zmq.REQ)
        raw.setsockopt(zmq.LINGER, 0)
        raw.connect("ipc://%s/run/mempool.cmd" % os.path.abspath(dd))

        def raw_call(req):
            raw.send(msgpack.packb(req, use_bin_type=True))
            rep = msgpack.unpackb(raw.recv(), raw=False)
            assert rep["ok"]
            return rep["result"]

        def compare(name, client_call, raw_req, per_round, raw_ok=lambda res: True):
            """Times client_call() against raw_req() (the same request with
            bare pyzmq; raw_ok checks its result) in alternating rounds, and
            reports both."""
            def c_loop(n):
                for _ in range(n):
                    client_call()

            def r_loop(n):
                for _ in range(n):
                    assert raw_ok(raw_call(raw_req()))
            c, r = rounds(n_rounds, per_round, c_loop, r_loop)
            note("%s: client %.1f us, bare pyzmq %.1f us, overhead %.1f us per call"
                 % (name, c / 1e3, r / 1e3, (c - r) / 1e3))
            emit(name, c, "bare_pyzmq", r)

        compare("ping", lambda: node.ping("mempool"), lambda: {"cmd": "ping"}, k)

        key = chorus.Key.generate()
        tx = chorus.build_tx(key, 0, 10000, b"bench")
        assert node.submit(tx).accepted
        compare("get", lambda: node.get_tx(tx.id), lambda: {"cmd": "get", "id": tx.id}, k)

        # submit: prebuilt transactions, a fresh key every 90 (per-sender limit 100)
        n_sub = 2 * n_rounds * k // 4
        keys = [chorus.Key.generate() for _ in range(n_sub // 90 + 1)]
        txs = [chorus.build_tx(keys[i // 90], i, 10000, b"bench submit") for i in range(n_sub)]
        it = iter(txs)

        def c_sub():
            assert node.submit(next(it)).accepted

        def r_sub():
            return {"cmd": "submit", "tx": next(it).encoding}
        compare("submit", c_sub, r_sub, k // 4, lambda res: res["accepted"])

        # build_tx against a bare sign
        bare = nacl.signing.SigningKey.generate()
        msg = bytes(32)
        nonce = [0]

        def c_build(n):
            for _ in range(n):
                nonce[0] += 1
                chorus.build_tx(key, nonce[0], 10000, b"bench build")

        def r_sign(n):
            for _ in range(n):
                bare.sign(msg)
        c, r = rounds(n_rounds, k, c_build, r_sign)
        note("build_tx: %.1f us, bare PyNaCl sign %.1f us" % (c / 1e3, r / 1e3))
        emit("build_tx", c, "pynacl_sign", r)
        raw.close(0)
        node.close()
        return 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
