/**
 * One Helia peer for the transfer benchmark's baseline (run as its own process by bench/transfer.ts):
 *
 *   helia-peer.ts add FILE DIR        imports FILE into a disk blockstore, prints {"cid","multiaddrs","addSeconds"},
 *                                     then serves it over bitswap until SIGTERM
 *   helia-peer.ts cat CID ADDR DIR    dials ADDR, streams the file by bitswap, prints {"seconds","bytes","sha256"}
 *
 * Every libp2p option is given explicitly (TCP, Noise, Yamux, identify; no bootstrap, mDNS, DHT, UPnP, delegated
 * routing or HTTP gateways), so both peers talk only to each other on 127.0.0.1.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { unixfs } from '@helia/unixfs'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { FsBlockstore } from 'blockstore-fs'
import { createHelia } from 'helia'
import { CID } from 'multiformats/cid'

const [mode, ...args] = process.argv.slice(2)

async function startHelia(dir: string) {
  const blockstore = new FsBlockstore(dir)
  await blockstore.open()
  const helia = createHelia({
    blockstore,
    http: { delegatedRouters: [], recursiveGateways: [] },
    libp2p: {
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: [],
      services: { identify: identify() },
    } as never,
  })
  await helia.start()
  return helia
}

if (mode === 'add') {
  const [file, dir] = args as [string, string]
  const helia = await startHelia(dir)
  const fs = unixfs(helia)
  const started = performance.now()
  const cid = await fs.addByteStream(createReadStream(file, { highWaterMark: 1 << 20 }))
  const addSeconds = (performance.now() - started) / 1000
  const multiaddrs = helia.libp2p.getMultiaddrs().map(String)
  process.stdout.write(`${JSON.stringify({ cid: cid.toString(), multiaddrs, addSeconds })}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  })
  await helia.stop()
  process.exit(0)
} else if (mode === 'cat') {
  const [cidText, addr, dir] = args as [string, string, string]
  const helia = await startHelia(dir)
  await helia.libp2p.dial(multiaddr(addr))
  const fs = unixfs(helia)
  const hash = createHash('sha256')
  let bytes = 0
  const started = performance.now()
  for await (const chunk of fs.cat(CID.parse(cidText))) {
    hash.update(chunk)
    bytes += chunk.byteLength
  }
  const seconds = (performance.now() - started) / 1000
  process.stdout.write(`${JSON.stringify({ seconds, bytes, sha256: hash.digest('hex') })}\n`)
  await helia.stop()
  process.exit(0)
} else {
  process.stderr.write('usage: helia-peer.ts add FILE DIR | cat CID ADDR DIR\n')
  process.exit(2)
}
