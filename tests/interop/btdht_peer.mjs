// btdht_peer.mjs: the npm package bittorrent-dht against Chorus DHT nodes.
//
// Run by tests/integration/dht_interop_bittorrent_dht.sh, which starts the
// Chorus nodes and installs the package; this script runs one
// bittorrent-dht node on 127.0.0.1 and drives the Chorus side with
// chorusctl (asynchronously: the DHT must keep answering meanwhile).  Each
// check prints "ok: ..." or throws.
//
// usage: node btdht_peer.mjs BTDHT_DIR CHORUSCTL BT_PORT SEED_DATADIR SEED_PORT
//                            DATADIR_A DATADIR_B LONE_DATADIR
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const [BTDHT_DIR, CTL, BT_PORT, SEED, SEED_PORT, A, B, LONE] = process.argv.slice(2)
const DHT = (await import(pathToFileURL(BTDHT_DIR + '/index.js').href)).default
const run = promisify(execFile)
const DEADLINE_MS = 20000

// ed25519 with node's crypto: BEP 44 signs the bencoded salt/seq/v buffer
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const keys = crypto.generateKeyPairSync('ed25519')
const pub = keys.publicKey.export({ type: 'spki', format: 'der' }).subarray(12)
const sign = (buf) => crypto.sign(null, buf, keys.privateKey)
const verify = (sig, msg, pk) => {
  try {
    const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' })
    return crypto.verify(null, msg, key, sig)
  } catch (e) {
    return false
  }
}

async function ctl (datadir, ...args) {
  const { stdout } = await run(CTL, ['--datadir', datadir, '--timeout', '5000', ...args])
  return stdout
}

async function until (what, pred) {
  const end = Date.now() + DEADLINE_MS
  while (Date.now() < end) {
    if (await pred()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('timed out waiting for ' + what)
}

function check (cond, what) {
  if (!cond) throw new Error('check failed: ' + what)
}

const ok = (msg) => console.log('ok: ' + msg)
const sha1 = (b) => crypto.createHash('sha1').update(b).digest()

const dht = new DHT({ bootstrap: ['127.0.0.1:' + SEED_PORT], verify, host: '127.0.0.1' })
dht.on('error', (e) => { console.error('bittorrent-dht error:', e); process.exit(1) })
dht.listen(Number(BT_PORT), '127.0.0.1')
const put = promisify((opts, cb) => dht.put(opts, (err, hash, n) => cb(null, { err, hash, n })))
const get = promisify((key, opts, cb) => dht.get(key, opts, cb))

try {
  // 1. bittorrent-dht bootstraps from a Chorus node and finds nodes through it
  await new Promise((resolve) => dht.once('ready', resolve))
  await until('bittorrent-dht to know 3 Chorus nodes', async () => dht.toJSON().nodes.length >= 3)
  ok('bittorrent-dht bootstrapped from the Chorus seed and knows ' + dht.toJSON().nodes.length + ' nodes')

  // 2. immutable put by bittorrent-dht, fetched by Chorus
  const r1 = await put({ v: Buffer.from('put by bittorrent-dht') })
  check(!r1.err && r1.n > 0, 'immutable put stored: ' + r1.err + ' n=' + r1.n)
  check(r1.hash.equals(sha1('21:put by bittorrent-dht')), 'immutable key is sha1 of the bencoding')
  const got1 = (await ctl(A, 'dht', 'get', r1.hash.toString('hex'))).trimEnd()
  check(got1 === 'put by bittorrent-dht', 'chorus got ' + got1)
  ok('immutable item put by bittorrent-dht (on ' + r1.n + ' nodes) fetched by Chorus')

  // 3. mutable with salt: seq 1, then seq 2 with cas 1, then a stale cas
  const salt = Buffer.from('btsalt')
  const mkey = pub.toString('hex') + '/btsalt'
  const r2 = await put({ k: pub, seq: 1, salt, v: Buffer.from('bt mutable one'), sign })
  check(!r2.err && r2.n > 0, 'mutable put seq 1: ' + r2.err)
  const r3 = await put({ k: pub, seq: 2, cas: 1, salt, v: Buffer.from('bt mutable two'), sign })
  check(!r3.err && r3.n > 0, 'mutable put seq 2 cas 1: ' + r3.err)
  let js = JSON.parse(await ctl(B, '--json', 'dht', 'get', mkey))
  check(js.value === 'bt mutable two' && js.seq === 2 && js.mutable, 'chorus got ' + JSON.stringify(js))
  ok('mutable item with salt put by bittorrent-dht (seq 1, then 2 with cas 1) fetched, verified, by Chorus')
  const r4 = await put({ k: pub, seq: 3, cas: 1, salt, v: Buffer.from('bt stale write'), sign })
  check(r4.n === 0 && r4.err, 'a put with a stale cas was accepted by ' + r4.n + ' nodes')
  js = JSON.parse(await ctl(A, '--json', 'dht', 'get', mkey))
  check(js.value === 'bt mutable two' && js.seq === 2, 'after the refused cas chorus got ' + JSON.stringify(js))
  ok('a put with a stale cas refused by every node (' + String(r4.err.message || r4.err).slice(0, 60) + '); the value stays at seq 2')

  // 4. immutable put by Chorus, fetched by bittorrent-dht
  let out = await ctl(A, 'dht', 'put', 'put by chorus')
  const ckey = out.match(/key: ([0-9a-f]{40})/)[1]
  const g1 = await get(ckey, { cache: false })
  check(g1 && g1.v.toString() === 'put by chorus', 'bittorrent-dht got ' + (g1 && g1.v))
  ok('immutable item put by Chorus fetched by bittorrent-dht')

  // 5. mutable with salt put twice by Chorus (the second put carries cas
  //    to the nodes that hold seq 1, bittorrent-dht among them)
  await ctl(B, 'dht', 'put', '--name', 'chorusname', 'chorus mutable one')
  out = await ctl(B, 'dht', 'put', '--name', 'chorusname', 'chorus mutable two')
  check(/seq 2,/.test(out), 'second chorus put is seq 2: ' + out)
  const target = out.match(/target: ([0-9a-f]{40})/)[1]
  const g2 = await get(target, { salt: Buffer.from('chorusname'), cache: false })
  check(g2 && g2.v.toString() === 'chorus mutable two' && g2.seq === 2, 'bittorrent-dht got ' + (g2 && g2.v))
  ok('mutable item with salt put by Chorus (seq 2, cas) fetched, verified, by bittorrent-dht')

  // 6. announce_peer / get_peers both ways
  const ihC = sha1('chorus announces for bittorrent-dht').toString('hex')
  await ctl(A, 'dht', 'announce', ihC, '7777')
  const peers = []
  const onPeer = (peer, ih) => { if (ih.toString('hex') === ihC) peers.push(peer.host + ':' + peer.port) }
  dht.on('peer', onPeer)
  await promisify((cb) => dht.lookup(ihC, cb))()
  dht.removeListener('peer', onPeer)
  check(peers.includes('127.0.0.1:7777'), 'bittorrent-dht lookup found ' + peers.join(','))
  ok('a peer announced by Chorus found by bittorrent-dht\'s lookup')
  const ihB = sha1('bittorrent-dht announces').toString('hex')
  await promisify((cb) => dht.announce(ihB, 6543, cb))()
  await until('Chorus to find the announced peer', async () => (await ctl(B, 'dht', 'peers', ihB)).includes('127.0.0.1:6543'))
  ok('a peer announced by bittorrent-dht found by Chorus\'s get_peers')

  // 7. a Chorus node bootstraps from bittorrent-dht
  await ctl(LONE, 'dht', 'bootstrap', '127.0.0.1:' + BT_PORT)
  const nodesOf = async (d) => Number((await ctl(d, 'status', 'discovery')).match(/dht_nodes: *(\d+)/)[1])
  await until('the lone Chorus node to fill its table through bittorrent-dht', async () => (await nodesOf(LONE)) >= 4)
  const got2 = (await ctl(LONE, 'dht', 'get', r1.hash.toString('hex'))).trimEnd()
  check(got2 === 'put by bittorrent-dht', 'lone node got ' + got2)
  ok('a Chorus node bootstrapped from bittorrent-dht (' + (await nodesOf(LONE)) + ' nodes) and fetched through it')
} catch (e) {
  console.error('FAIL:', e.message)
  dht.destroy()
  process.exit(1)
}
dht.destroy()
process.exit(0)
