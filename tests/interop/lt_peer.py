#!/usr/bin/python3
"""lt_peer.py: libtorrent (Debian's python3-libtorrent) against Chorus DHT nodes.

Run by tests/integration/dht_interop_libtorrent.sh, which starts the Chorus
nodes; this script runs one libtorrent session on 127.0.0.1 and drives the
Chorus side with chorusctl.  Each check prints "ok: ..." or raises.

usage: lt_peer.py CHORUSCTL LT_PORT SEED_DATADIR SEED_DHT_PORT DATADIR_A DATADIR_B LONE_DATADIR

  SEED    the Chorus node libtorrent bootstraps from
  A, B    two more Chorus nodes (seeded with SEED)
  LONE    a Chorus node with no seed, which joins through libtorrent
"""
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time

import warnings

import libtorrent as lt

warnings.simplefilter("ignore", DeprecationWarning)

CTL, LT_PORT, SEED, SEED_PORT, A, B, LONE = sys.argv[1:8]
LT_PORT = int(LT_PORT)
DEADLINE_S = 20

# BEP 44 test vector 1's key pair; libtorrent takes the 64-byte expanded
# secret key of the orlp ed25519 library, which is what the BEP prints.
PK = bytes.fromhex("77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548")
SK = bytes.fromhex(
    "e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d"
    "b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d")


def ctl(datadir, *args):
    """chorusctl against one node; its stdout (raises on failure)."""
    r = subprocess.run([CTL, "--datadir", datadir, "--timeout", "5000", *args],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("chorusctl %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                          r.stderr.strip()))
    return r.stdout


def dht_nodes(datadir):
    for line in ctl(datadir, "status", "discovery").splitlines():
        if line.startswith("dht_nodes:"):
            return int(line.split()[1])
    return 0


def until(what, pred, secs=DEADLINE_S):
    end = time.time() + secs
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def wait_alert(ses, cls, pred=lambda a: True, secs=DEADLINE_S):
    """The first alert of class cls that satisfies pred."""
    end = time.time() + secs
    while time.time() < end:
        ses.wait_for_alert(100)
        for a in ses.pop_alerts():
            if isinstance(a, cls) and pred(a):
                return a
    raise RuntimeError("timed out waiting for " + cls.__name__)


def item_bytes(x):
    """The value of an item alert as bytes (the binding gives a dict with
    "value", or the entry itself, as str or bytes, depending on version)."""
    if isinstance(x, dict):
        x = x.get("value", x.get(b"value"))
    return x.encode() if isinstance(x, str) else x


settings = {
    "listen_interfaces": "127.0.0.1:%d" % LT_PORT,
    "enable_dht": True,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "dht_bootstrap_nodes": "127.0.0.1:%s" % SEED_PORT,
    # loopback: every node shares 127.0.0.1 (DESIGN.md section 4)
    "dht_restrict_routing_ips": False,
    "dht_restrict_search_ips": False,
    "dht_ignore_dark_internet": False,
    "dht_block_ratelimit": 100000,
    "dht_upload_rate_limit": 10000000,
    "alert_mask": lt.alert.category_t.dht_notification | lt.alert.category_t.status_notification
    | lt.alert.category_t.dht_operation_notification,
}
ses = lt.session(settings)

# 1. libtorrent bootstraps from a Chorus node and finds nodes through it
# (libtorrent never puts its bootstrap "router" into its table: the two
# other Chorus nodes are what it found through the seed)
until("libtorrent to know 2 Chorus nodes", lambda: ses.status().dht_nodes >= 2)
print("ok: libtorrent bootstrapped from the Chorus seed and found %d nodes through it"
      % ses.status().dht_nodes, flush=True)

# 2. a value put by libtorrent is fetched by Chorus: immutable
value = "put by libtorrent"
target = ses.dht_put_immutable_item(value)
a = wait_alert(ses, lt.dht_put_alert, lambda a: a.target == target)
if a.num_success < 1:
    raise RuntimeError("libtorrent immutable put stored on no node")
key = str(target)
want = hashlib.sha1(b"%d:%s" % (len(value), value.encode())).hexdigest()
assert key == want, (key, want)
got = ctl(A, "dht", "get", key).rstrip("\n")
assert got == value, got
print("ok: immutable item put by libtorrent (on %d nodes) fetched by Chorus" % a.num_success,
      flush=True)

# 3. mutable with salt, twice: libtorrent reads the seq and increments it
for i, v in enumerate(["lt mutable one", "lt mutable two"], start=1):
    ses.dht_put_mutable_item(SK, PK, v, "ltsalt")
    a = wait_alert(ses, lt.dht_put_alert, lambda a: a.seq == i and a.num_success > 0)
    got = json.loads(ctl(B, "--json", "dht", "get", PK.hex() + "/ltsalt"))
    assert got["value"] == v and got["seq"] == i and got["mutable"], got
print("ok: mutable item with salt put twice by libtorrent (seq 1, 2) fetched, verified, by Chorus",
      flush=True)

# 4. a value put by Chorus is fetched by libtorrent: immutable
out = ctl(A, "dht", "put", "put by chorus")
ckey = out.split("key: ")[1].split()[0]
ses.dht_get_immutable_item(lt.sha1_hash(bytes.fromhex(ckey)))
a = wait_alert(ses, lt.dht_immutable_item_alert, lambda a: str(a.target) == ckey)
assert item_bytes(a.item) == b"put by chorus", a.item
print("ok: immutable item put by Chorus fetched by libtorrent", flush=True)

# 5. mutable with salt put by Chorus (twice: seq 2) fetched by libtorrent
ctl(B, "dht", "put", "--name", "chorusname", "chorus mutable one")
out = ctl(B, "dht", "put", "--name", "chorusname", "chorus mutable two")
pub = out.split("key: ")[1].split("/")[0]
ses.dht_get_mutable_item(bytes.fromhex(pub), b"chorusname")
a = wait_alert(ses, lt.dht_mutable_item_alert,
               lambda a: a.seq == 2 and item_bytes(a.item) == b"chorus mutable two")
print("ok: mutable item with salt put by Chorus (seq 2) fetched, verified, by libtorrent",
      flush=True)

# 6. get_peers / announce_peer both ways
ih_c = hashlib.sha1(b"chorus announces").hexdigest()
ctl(A, "dht", "announce", ih_c, "7777")
ses.dht_get_peers(lt.sha1_hash(bytes.fromhex(ih_c)))
a = wait_alert(ses, lt.dht_get_peers_reply_alert,
               lambda a: ("127.0.0.1", 7777) in [tuple(p) for p in a.peers()])
print("ok: a peer announced by Chorus found by libtorrent's get_peers", flush=True)
# libtorrent announces the way a client does: for a torrent it joins
# (session.dht_announce's flags type is not constructible in this binding)
ih_l = hashlib.sha1(b"libtorrent announces").hexdigest()
atp = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + ih_l)
atp.save_path = tempfile.mkdtemp(prefix="chorus-lt-")
ses.add_torrent(atp)
until("Chorus to find libtorrent's announced peer",
      lambda: "127.0.0.1:%d" % LT_PORT in ctl(B, "dht", "peers", ih_l))
shutil.rmtree(atp.save_path, ignore_errors=True)
print("ok: libtorrent announced a torrent; Chorus's get_peers found it", flush=True)

# 7. a Chorus node bootstraps from libtorrent
ctl(LONE, "dht", "bootstrap", "127.0.0.1:%d" % LT_PORT)
until("the lone Chorus node to fill its table through libtorrent",
      lambda: dht_nodes(LONE) >= 4)
got = ctl(LONE, "dht", "get", key).rstrip("\n")
assert got == value, got
print("ok: a Chorus node bootstrapped from libtorrent (%d nodes) and fetched through it"
      % dht_nodes(LONE), flush=True)
del ses
