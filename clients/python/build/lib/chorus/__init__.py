"""chorus: a Python client of a Chorus node (docs/control.md, docs/mempool.md,
docs/relay.md).  Pure Python over pyzmq, msgpack and PyNaCl."""

from .client import Node, Process, Verdict, connect, PROCESSES, DEFAULT_TIMEOUT
from .errors import ChorusError, ChorusTimeout, ChorusProtocolError
from .tx import Key, Transaction, build_tx, with_signature, tx_id, REASONS

__all__ = ["Node", "Process", "Verdict", "connect", "PROCESSES", "DEFAULT_TIMEOUT",
           "ChorusError", "ChorusTimeout", "ChorusProtocolError", "Key", "Transaction",
           "build_tx", "with_signature", "tx_id", "REASONS"]
__version__ = "0.1.0"
