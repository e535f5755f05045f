"""Against running nodes (tests/integration/python_client.sh starts them):
CHORUS_A and CHORUS_B are the datadirs of two connected nodes."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chorus  # noqa: E402

A = os.environ.get("CHORUS_A")
B = os.environ.get("CHORUS_B")
SCALE = int(os.environ.get("CH_WAIT_SCALE", "1") or 1)


def wait(secs, cond):
    """Retries cond every 50 ms until it is true; False after secs."""
    end = time.monotonic() + secs * SCALE
    while True:
        try:
            if cond():
                return True
        except chorus.ChorusError:
            pass
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def hexid(v):
    return v.hex() if isinstance(v, (bytes, bytearray)) else v


def pooled(node, tx):
    try:
        node.get_tx(tx.id)
        return True
    except chorus.ChorusError as e:
        if e.name != "CH_ENOENT":
            raise
        return False


@unittest.skipUnless(A and B, "CHORUS_A and CHORUS_B name two running nodes")
class Live(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = chorus.Node(A, timeout=3.0)
        cls.b = chorus.Node(B, timeout=3.0)
        cls.key = chorus.Key.generate()
        cls.nonce = 0

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()

    def tx(self, fee=5000, data=b"py", key=None):
        type(self).nonce += 1
        return chorus.build_tx(key or self.key, self.nonce, fee, data)

    def test_01_status(self):
        st = self.a.status()
        self.assertEqual(st["service"], "chorusd")
        self.assertEqual(st["state"], "running")
        self.assertEqual(self.a.ping("mempool")["service"], "mempool")
        peers = self.a.peers()
        self.assertGreaterEqual(len(peers), 1)

    def test_02_accepted_same_id(self):
        tx = self.tx(data=b"built in python")
        v = self.a.submit(tx)
        self.assertTrue(v.accepted, v)
        self.assertEqual(v.reason_name, "accepted")
        self.assertEqual(v.id, tx.id)  # the node's id of our encoding
        got = self.a.get_tx(tx.id)
        self.assertEqual(got["tx"], tx.encoding)
        self.assertEqual(hexid(got["id"]), tx.id.hex())
        self.assertEqual((got["nonce"], got["fee"], got["size"]), (tx.nonce, tx.fee, tx.size))
        self.assertEqual(got["data"], b"built in python")
        # again: duplicate
        self.assertEqual(self.a.submit(tx).reason_name, "duplicate")

    def test_03_tampered_signature(self):
        tx = self.tx()
        sig = bytearray(tx.sig)
        sig[5] ^= 1
        bad = chorus.with_signature(tx, bytes(sig))
        self.assertEqual(bad.id, tx.id)
        v = self.a.submit(bad)
        self.assertFalse(v.accepted)
        self.assertEqual((v.reason, v.reason_name), (3, "bad_sig"))
        self.assertEqual(v.id, tx.id)
        # a forged signature is not remembered: the real one still enters
        self.assertTrue(self.a.submit(tx).accepted)

    def test_04_batch_verdicts(self):
        good1, good2, low = self.tx(), self.tx(), self.tx(fee=1)
        forged = chorus.with_signature(self.tx(), bytes(64))
        vs = self.a.submit_batch([good1, b"\x00garbage", forged, good2, low])
        self.assertEqual([v.reason_name for v in vs],
                         ["accepted", "malformed", "bad_sig", "accepted", "fee_too_low"])
        self.assertEqual(vs[0].id, good1.id)
        self.assertIsNone(vs[1].id)
        self.assertEqual(vs[3].id, good2.id)

    def test_05_relayed_both_ways(self):
        t1 = self.tx(data=b"a to b")
        self.assertTrue(self.a.submit(t1).accepted)
        self.assertTrue(wait(20, lambda: pooled(self.b, t1)), "a's tx did not reach b")
        t2 = self.tx(data=b"b to a")
        self.assertTrue(self.b.submit(t2).accepted)
        self.assertTrue(wait(20, lambda: pooled(self.a, t2)), "b's tx did not reach a")

    def test_06_top_by_fee_rate(self):
        key = chorus.Key.generate()
        fees = [300000, 100000, 900000, 500000]
        txs = [chorus.build_tx(key, i, f, b"x" * 10) for i, f in enumerate(fees)]
        for v in self.a.submit_batch(txs):
            self.assertTrue(v.accepted, v)
        top = self.a.top(1000)
        rates = [t["fee_rate"] for t in top]
        self.assertEqual(rates, sorted(rates, reverse=True))
        ours = [hexid(t["id"]) for t in top if hexid(t["id"]) in {x.id.hex() for x in txs}]
        want = [x.id.hex() for x in sorted(txs, key=lambda x: -x.fee)]
        self.assertEqual(ours, want)
        self.assertEqual(hexid(self.a.top(1)[0]["id"]), txs[2].id.hex())
        with_tx = self.a.top(1, with_tx=True)
        self.assertEqual(with_tx[0]["tx"], txs[2].encoding)

    def test_07_block(self):
        key = chorus.Key.generate()
        txs = [chorus.build_tx(key, i, 50000 + i, b"block") for i in range(3)]
        for v in self.a.submit_batch(txs):
            self.assertTrue(v.accepted, v)
        blk = self.a.submit_block(txs=[t.id for t in txs])
        self.assertEqual(blk["ntx"], 3)
        self.assertTrue(wait(20, lambda: not any(pooled(self.a, t) for t in txs)),
                        "the block's transactions stayed in a's pool")
        self.assertTrue(wait(20, lambda: not any(pooled(self.b, t) for t in txs)),
                        "the block's transactions stayed in b's pool")

    def test_08_producers(self):
        k1, k2 = chorus.Key.generate().public, chorus.Key.generate().public
        r = self.b.set_producers([k1])
        self.assertEqual(r["producers"], [k1.hex()])
        self.assertEqual(r["source"], "file")
        self.assertEqual(r["block_rule"], "producers")
        r = self.b.add_producers([k2.hex()])
        self.assertEqual(sorted(r["producers"]), sorted([k1.hex(), k2.hex()]))
        r = self.b.remove_producers([k1])
        self.assertEqual(r["producers"], [k2.hex()])
        self.assertEqual(self.b.producers()["producers"], [k2.hex()])
        # b is not a producer now: its block is refused with a typed error
        with self.assertRaises(chorus.ChorusError) as cm:
            self.b.submit_block(top=1)
        self.assertEqual(cm.exception.name, "CH_EPERM")
        r = self.b.set_producers([])
        self.assertEqual(r["producers"], [])
        self.assertEqual(r["block_rule"], "any-key")

    def test_09_errors(self):
        with self.assertRaises(chorus.ChorusError) as cm:
            self.a.get_tx(bytes(32))
        e = cm.exception
        self.assertEqual((e.code, e.name), (-5, "CH_ENOENT"))
        self.assertTrue(e.message)
        with self.assertRaises(chorus.ChorusError) as cm:
            self.a.call("mempool", "no_such_command")
        self.assertEqual(cm.exception.name, "CH_EUNKNOWN")
        with self.assertRaises(ValueError):
            self.a.get_tx("zz")

    def test_10_timeout(self):
        # nobody listens there: the call times out, typed, and the client
        # stays usable
        p = chorus.connect(endpoint="ipc://%s/run/nobody.cmd" % A, timeout=0.2)
        t0 = time.monotonic()
        with self.assertRaises(chorus.ChorusTimeout) as cm:
            p.call("ping")
        self.assertEqual(cm.exception.name, "CH_ETIMEDOUT")
        self.assertLess(time.monotonic() - t0, 2.0)
        p.close()
        q = chorus.connect(endpoint="ipc://%s/run/mempool.cmd" % A, timeout=2)
        self.assertEqual(q.call("ping")["service"], "mempool")
        q.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
