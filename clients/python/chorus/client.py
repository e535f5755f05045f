"""The control plane (docs/control.md): one msgpack map per request on a
process's command socket, {"ok": true, "result": ...} or {"ok": false,
"code", "error", "message"} back.  Commands are routed to the process that
owns them, as tools/chorusctl does."""

import os

import msgpack
import zmq

from .errors import ChorusError, ChorusProtocolError, ChorusTimeout
from .tx import Transaction

PROCESSES = ("chorusd", "transport", "discovery", "relay", "mempool")
DEFAULT_TIMEOUT = 5.0


def _bin32(v, what):
    """A 32-byte value from bytes or 64 hex digits."""
    if isinstance(v, Transaction):
        return v.id
    if isinstance(v, str):
        try:
            v = bytes.fromhex(v)
        except ValueError:
            raise ValueError("%s: %r is not 64 hex digits" % (what, v)) from None
    v = bytes(v)
    if len(v) != 32:
        raise ValueError("%s must be 32 bytes or 64 hex digits" % what)
    return v


def _enc(tx):
    if isinstance(tx, Transaction):
        return tx.encoding
    if isinstance(tx, str):
        return bytes.fromhex(tx)
    return bytes(tx)


class Verdict:
    """One submission's result: accepted, id (bytes or None), reason (int),
    reason_name ("accepted", "bad_sig", ...), message, fee_rate."""

    __slots__ = ("accepted", "id", "reason", "reason_name", "message", "fee_rate")

    def __init__(self, m):
        self.accepted = bool(m.get("accepted"))
        self.id = m.get("id")
        self.reason = m.get("reason", 0)
        self.reason_name = m.get("reason_name", "")
        self.message = m.get("message", "")
        self.fee_rate = m.get("fee_rate")

    def __bool__(self):
        return self.accepted

    def __repr__(self):
        return "Verdict(%s, id=%s, %r)" % (
            self.reason_name, self.id.hex() if self.id else None, self.message)


class Process:
    """One process's command socket: Process("ipc://DIR/run/mempool.cmd").

    call(cmd, **args) sends {"cmd": cmd, **args} and returns the result, or
    raises ChorusError (an error reply), ChorusTimeout (no answer within
    timeout seconds) or ChorusProtocolError (a reply that is not the
    documented map).  A REQ socket; after a timeout it is replaced, so the
    next call starts clean."""

    def __init__(self, endpoint, timeout=DEFAULT_TIMEOUT, context=None):
        self.endpoint = endpoint
        self.timeout = timeout
        self._ctx = context or zmq.Context.instance()
        self._sock = None
        self._rcvtimeo = None

    def _socket(self):
        if self._sock is None:
            s = self._ctx.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(self.endpoint)
            self._sock = s
            self._rcvtimeo = None
        return self._sock

    def close(self):
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None

    def request(self, req, timeout=None):
        """Sends one request map; returns the raw reply map."""
        t = self.timeout if timeout is None else timeout
        ms = max(1, int(t * 1000))
        s = self._socket()
        if ms != self._rcvtimeo:  # one setsockopt when the timeout changes, not per call
            s.setsockopt(zmq.RCVTIMEO, ms)
            self._rcvtimeo = ms
        s.send(msgpack.packb(req, use_bin_type=True))
        try:
            raw = s.recv()
        except zmq.Again:
            self.close()  # a REQ socket without its reply cannot send again
            raise ChorusTimeout("%s: no reply to '%s' within %.3g s" % (
                self.endpoint, req.get("cmd"), t)) from None
        try:
            rep = msgpack.unpackb(raw, raw=False, strict_map_key=False)
        except Exception as e:  # noqa: BLE001 - any decoding failure
            raise ChorusProtocolError("%s: reply is not msgpack: %s" % (self.endpoint, e))
        if not isinstance(rep, dict) or "ok" not in rep:
            raise ChorusProtocolError("%s: reply is not a map with 'ok'" % self.endpoint)
        return rep

    def call(self, cmd, timeout=None, **args):
        req = {"cmd": cmd}
        req.update(args)
        rep = self.request(req, timeout)
        if rep["ok"] is True:
            return rep.get("result")
        raise ChorusError(rep.get("code", -7), rep.get("error", "CH_EPROTO"),
                          rep.get("message", ""))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Node:
    """A node's five processes.

    Node("/path/to/datadir") uses ipc://DATADIR/run/NAME.cmd;
    Node(endpoints={"mempool": "tcp://...", ...}) names them (a process left
    out cannot be asked).  timeout: seconds per call (default 5)."""

    def __init__(self, datadir=None, endpoints=None, timeout=DEFAULT_TIMEOUT):
        if (datadir is None) == (endpoints is None):
            raise ValueError("give either datadir or endpoints")
        if datadir is not None:
            run = os.path.join(os.path.abspath(datadir), "run")
            endpoints = {p: "ipc://%s/%s.cmd" % (run, p) for p in PROCESSES}
        self.endpoints = dict(endpoints)
        self._timeout = timeout
        self._procs = {}

    @property
    def timeout(self):
        return self._timeout

    @timeout.setter
    def timeout(self, t):
        self._timeout = t
        for p in self._procs.values():
            p.timeout = t

    def process(self, name):
        p = self._procs.get(name)
        if p is None:
            if name not in self.endpoints:
                raise ValueError("no endpoint for process '%s'" % name)
            p = Process(self.endpoints[name], self._timeout)
            self._procs[name] = p
        return p

    def call(self, process, cmd, timeout=None, **args):
        """Any command of any process: call("relay", "mode", flood=False)."""
        return self.process(process).call(cmd, timeout=timeout, **args)

    def close(self):
        for p in self._procs.values():
            p.close()
        self._procs.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- node (chorusd, transport)
    def ping(self, service="chorusd"):
        return self.call(service, "ping")

    def status(self, service="chorusd"):
        return self.call(service, "status")

    def peers(self):
        """transport's peers: a list of maps (id, pubkey, addr, ...)."""
        r = self.call("transport", "peers")
        return r.get("peers", r) if isinstance(r, dict) else r

    def connect_peer(self, addr):
        """Dials HOST:PORT or PUBKEY@HOST:PORT and keeps it connected."""
        return self.call("transport", "connect", addr=addr)

    def relay_peers(self):
        r = self.call("relay", "peers")
        return r.get("peers", r) if isinstance(r, dict) else r

    # --- mempool
    def submit(self, tx):
        """One transaction (a Transaction, bytes or hex): a Verdict.
        A rejection is a Verdict with accepted False, not an exception."""
        return Verdict(self.call("mempool", "submit", tx=_enc(tx)))

    def submit_batch(self, txs):
        """Up to 4096 transactions in one request: a list of Verdicts, in order."""
        r = self.call("mempool", "submit", txs=[_enc(t) for t in txs])
        return [Verdict(m) for m in r["results"]]

    def get_tx(self, txid):
        """A pooled transaction's fields (id, from, nonce, fee, size,
        fee_rate, age_ms, peer, data, sig, tx); ChorusError CH_ENOENT if not
        pooled."""
        return self.call("mempool", "get", id=_bin32(txid, "id"))

    def top(self, n=10, with_tx=False):
        """The pool's n best, best first: a list of maps."""
        args = {"n": n}
        if with_tx:
            args["with_tx"] = True
        return self.call("mempool", "top", **args)["txs"]

    def mempool_info(self):
        return self.call("mempool", "info")

    # --- relay: blocks and producers
    def submit_block(self, txs=None, top=None, height=None, prev=None):
        """Produces a block of the listed ids (or of the pool's top N):
        {id, height, prev, ntx, time, bytes, compact_bytes, relayed}."""
        if txs is not None and top is not None:
            raise ValueError("give either txs or top, not both")
        args = {}
        if top is not None:
            args["top"] = top
        elif txs is not None:
            args["txs"] = [_bin32(t, "a transaction id") for t in txs]
        if height is not None:
            args["height"] = height
        if prev is not None:
            args["prev"] = _bin32(prev, "prev")
        return self.call("relay", "block_submit", **args)

    def producers(self):
        """{producers: [hex...], source, block_rule}."""
        return self.call("relay", "producers_list")

    def _keys(self, cmd, keys):
        return self.call("relay", cmd, keys=[_bin32(k, "a public key") for k in keys])

    def set_producers(self, keys):
        return self._keys("producers_set", keys)

    def add_producers(self, keys):
        return self._keys("producers_add", keys)

    def remove_producers(self, keys):
        return self._keys("producers_remove", keys)


def connect(datadir=None, endpoint=None, timeout=DEFAULT_TIMEOUT):
    """Node(datadir) for a datadir; Process(endpoint) for one endpoint."""
    if endpoint is not None:
        if datadir is not None:
            raise ValueError("give either datadir or endpoint")
        return Process(endpoint, timeout)
    return Node(datadir, timeout=timeout)
