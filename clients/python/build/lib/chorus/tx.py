"""Transactions (docs/protocol.md section 2), written from the spec.

The encoding is the canonical msgpack of a six-entry map, keys in this order:
    {"v": 1, "from": bin 32, "nonce": u64, "fee": u64, "data": bin, "sig": bin 64}
fixmap header, fixstr keys, every unsigned integer in its shortest form,
every bin with the shortest length header.  The id is BLAKE2b-256 of the
five-entry map without "sig" (header 0x85, then the same bytes); "sig" is
the ed25519 signature of the 32-byte id by "from".

The encoder is written by hand (not msgpack.packb) so that canonical form is
a property of this file and not of a library's choices."""

import hashlib
import struct

import nacl.signing

TX_VERSION = 1
TX_MAX_SIZE = 32768
TX_DATA_MAX = 32512

# reasons of a verdict (proto/tx.c mp_tx_reason_name)
REASONS = {
    0: "accepted", 1: "malformed", 2: "too_large", 3: "bad_sig", 4: "fee_too_low",
    5: "duplicate", 6: "recently_rejected", 7: "replacement_fee", 8: "sender_limit",
    9: "pool_full", 10: "expired",
}


def _str(s):
    b = s.encode()
    assert len(b) < 32
    return bytes([0xA0 | len(b)]) + b


def _uint(v):
    if not 0 <= v < 1 << 64:
        raise ValueError("not a u64: %r" % (v,))
    if v < 0x80:
        return bytes([v])
    if v < 1 << 8:
        return b"\xcc" + struct.pack(">B", v)
    if v < 1 << 16:
        return b"\xcd" + struct.pack(">H", v)
    if v < 1 << 32:
        return b"\xce" + struct.pack(">I", v)
    return b"\xcf" + struct.pack(">Q", v)


def _bin(b):
    n = len(b)
    if n < 1 << 8:
        return b"\xc4" + struct.pack(">B", n) + b
    if n < 1 << 16:
        return b"\xc5" + struct.pack(">H", n) + b
    return b"\xc6" + struct.pack(">I", n) + b


def unsigned_encoding(pubkey, nonce, fee, data):
    """The five-entry map whose BLAKE2b-256 is the id."""
    if len(pubkey) != 32:
        raise ValueError("a public key is 32 bytes")
    if len(data) > TX_DATA_MAX:
        raise ValueError("data is %d bytes, at most %d" % (len(data), TX_DATA_MAX))
    return (b"\x85" + _str("v") + _uint(TX_VERSION) + _str("from") + _bin(bytes(pubkey))
            + _str("nonce") + _uint(nonce) + _str("fee") + _uint(fee)
            + _str("data") + _bin(bytes(data)))


def tx_id(unsigned):
    return hashlib.blake2b(unsigned, digest_size=32).digest()


class Key:
    """An ed25519 key: Key(seed32), Key.generate()."""

    def __init__(self, seed):
        self._sk = nacl.signing.SigningKey(bytes(seed))
        self.public = bytes(self._sk.verify_key)

    @classmethod
    def generate(cls):
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def seed(self):
        return bytes(self._sk)

    def sign(self, msg):
        return self._sk.sign(msg).signature


class Transaction:
    """A signed transaction: .encoding (bytes), .id (32 bytes), the fields,
    .size and .fee_rate (fee per byte)."""

    def __init__(self, encoding, id, pubkey, nonce, fee, data, sig):
        self.encoding = encoding
        self.id = id
        self.sender = pubkey
        self.nonce = nonce
        self.fee = fee
        self.data = data
        self.sig = sig

    @property
    def size(self):
        return len(self.encoding)

    @property
    def fee_rate(self):
        return self.fee / len(self.encoding)

    @property
    def id_hex(self):
        return self.id.hex()

    def __repr__(self):
        return "Transaction(id=%s, nonce=%d, fee=%d, size=%d)" % (
            self.id.hex(), self.nonce, self.fee, self.size)


def _assemble(unsigned, sig):
    # the signed form: the same fields behind a six-entry header, then "sig"
    return b"\x86" + unsigned[1:] + _str("sig") + _bin(sig)


def build_tx(key, nonce, fee, data=b""):
    """Builds and signs a transaction by key (a Key, or a 32-byte seed)."""
    if not isinstance(key, Key):
        key = Key(key)
    if isinstance(data, str):
        data = data.encode()
    data = bytes(data)
    unsigned = unsigned_encoding(key.public, nonce, fee, data)
    tid = tx_id(unsigned)
    sig = key.sign(tid)
    enc = _assemble(unsigned, sig)
    if len(enc) > TX_MAX_SIZE:
        raise ValueError("encoding is %d bytes, at most %d" % (len(enc), TX_MAX_SIZE))
    return Transaction(enc, tid, key.public, nonce, fee, data, sig)


def with_signature(tx, sig):
    """The same transaction with another 64-byte signature (same id): for tests."""
    if len(sig) != 64:
        raise ValueError("a signature is 64 bytes")
    unsigned = unsigned_encoding(tx.sender, tx.nonce, tx.fee, tx.data)
    return Transaction(_assemble(unsigned, sig), tx.id, tx.sender, tx.nonce, tx.fee,
                       tx.data, bytes(sig))
