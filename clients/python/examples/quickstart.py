import sys
import chorus

node = chorus.Node(sys.argv[1], timeout=2.0)  # the node's datadir
key = chorus.Key.generate()                    # or chorus.Key(seed), 32 bytes
tx = chorus.build_tx(key, nonce=1, fee=5000, data=b"hello chorus")
verdict = node.submit(tx)
print(verdict.reason_name, tx.id.hex())       # accepted 3f1c...
print(node.get_tx(tx.id)["fee"])               # 5000
for t in node.top(3):                          # the pool's best, best first
    print(t["id"].hex(), t["fee_rate"])
