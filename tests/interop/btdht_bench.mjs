// btdht_bench.mjs: the baseline of bench/dht_bench.c: a network of N
// bittorrent-dht nodes in one Node.js process on 127.0.0.1 (node 0 is the
// bootstrap of the others), then LOOKUPS get_peers lookups (dht.lookup) of
// random info-hashes from random nodes, one at a time, timed.  Prints one
// JSON line: {"n", "lookups", "p50_ns", "p95_ns", "setup_ms",
// "rss_per_node" (bytes of resident memory the nodes added, per node)}.
//
// usage: node btdht_bench.mjs BTDHT_DIR N LOOKUPS [DEADLINE_S]
import crypto from 'node:crypto'
import { pathToFileURL } from 'node:url'

const [dir, nArg, lookupsArg, deadlineArg] = process.argv.slice(2)
const DHT = (await import(pathToFileURL(dir + '/index.js').href)).default
const N = Number(nArg)
const LOOKUPS = Number(lookupsArg)
const deadline = Date.now() + 1000 * Number(deadlineArg || 60)
// every path of the script stops by itself
setTimeout(() => { console.error('btdht_bench: deadline'); process.exit(2) }, deadline - Date.now()).unref()

const rss0 = process.memoryUsage().rss
const t0 = process.hrtime.bigint()
const nodes = []
const listen = (d) => new Promise((resolve) => d.listen(0, '127.0.0.1', resolve))
const ready = (d) => new Promise((resolve) => d.ready ? resolve() : d.once('ready', resolve))
const first = new DHT({ bootstrap: false, host: '127.0.0.1' })
await listen(first)
nodes.push(first)
const boot = ['127.0.0.1:' + first.address().port]
// join in batches: each new node bootstraps (find_node of itself) through node 0
const BATCH = 25
for (let i = 1; i < N; i += BATCH) {
  const batch = []
  for (let j = i; j < Math.min(N, i + BATCH); j++) {
    const d = new DHT({ bootstrap: boot, host: '127.0.0.1' })
    d.on('error', () => {})
    nodes.push(d)
    batch.push(listen(d).then(() => ready(d)))
  }
  await Promise.all(batch)
}
const setupMs = Number(process.hrtime.bigint() - t0) / 1e6
const rssPerNode = Math.round((process.memoryUsage().rss - rss0) / N)

const lat = []
for (let i = 0; i < LOOKUPS && Date.now() < deadline; i++) {
  const d = nodes[Math.floor(Math.random() * nodes.length)]
  const ih = crypto.randomBytes(20)
  const s = process.hrtime.bigint()
  await new Promise((resolve) => d.lookup(ih, () => resolve()))
  lat.push(Number(process.hrtime.bigint() - s))
}
lat.sort((a, b) => a - b)
const pct = (q) => lat.length ? lat[Math.min(lat.length - 1, Math.max(0, Math.ceil(q * lat.length) - 1))] : null
console.log(JSON.stringify({ n: N, lookups: lat.length, p50_ns: pct(0.5), p95_ns: pct(0.95), setup_ms: setupMs, rss_per_node: rssPerNode }))
for (const d of nodes) d.destroy()
process.exit(0)
