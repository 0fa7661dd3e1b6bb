/**
 * A page finds storage nodes in the Registry, not only in the network file's bootstrap list: on a devnet with its
 * chain, given a network file that lists one node, the page's client (src/client/browser-client.ts over the page's
 * host, here in Node: WebSockets and WebRTC-direct work in Node too) reaches all four, puts a (2,4) file on four
 * distinct nodes with its deal, reads it back byte-equal, and `cairn get` reads it too. With the Registry turned
 * off, the same file gives the page one node and the put fails saying so.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Hex } from 'viem'
import { pageTransportOf } from '../../src/client/browser-node-directory.ts'
import { createBrowserClient, pageWallet, putFromPage } from '../../src/client/index.ts'
import { createBrowserHost } from '../../src/net/index.ts'
import { devnetCli, type LongRunning, readDevnetJson, startCairn, stopAll } from '../e2e/devnet-fixture.ts'

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

describe('pageTransportOf', () => {
  it('names the transport a page dials each address with', () => {
    const id = '12D3KooWKowqbK4yVDkV3Ypq3xkU7xwHKsbAZ4s6Tc2fF8ZWM3gB'
    assert.equal(pageTransportOf(`/ip4/1.2.3.4/tcp/4002/ws/p2p/${id}`), 'ws')
    assert.equal(pageTransportOf(`/dns4/a.example/tcp/443/wss/p2p/${id}`), 'ws')
    assert.equal(pageTransportOf(`/ip4/1.2.3.4/udp/4003/webrtc-direct/certhash/uEiA/p2p/${id}`), 'webrtc-direct')
    assert.equal(pageTransportOf(`/ip4/1.2.3.4/tcp/4002/ws/p2p/${id}/p2p-circuit/webrtc/p2p/${id}`), 'webrtc')
    assert.equal(pageTransportOf(`/ip4/1.2.3.4/tcp/4001/p2p/${id}/p2p-circuit/webrtc/p2p/${id}`), 'webrtc')
    assert.equal(pageTransportOf(`/ip4/1.2.3.4/tcp/4002/ws/p2p/${id}/p2p-circuit/p2p/${id}`), 'relay')
    assert.equal(pageTransportOf(`/ip4/1.2.3.4/tcp/4001/p2p/${id}`), 'tcp')
  })
})

describe('a page finds nodes in the Registry', { timeout: 420_000 }, () => {
  let dir: string
  let devnet: LongRunning
  let nodePids: number[] = []
  let network: Record<string, unknown>
  let privateKey: Hex

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-registry-nodes-'))
    devnet = startCairn(['devnet', '--dir', dir, '--nodes', '4', '--no-gateway'])
    await devnet.waitForLine((line) => line.startsWith('devnet ready'), 180_000)
    nodePids = (await readDevnetJson(dir)).nodes.map((node) => node.pid)
    const file = JSON.parse(await readFile(join(dir, 'network.json'), 'utf8')) as { bootstrap: string[] }
    const first = file.bootstrap[0]!.slice(file.bootstrap[0]!.lastIndexOf('/p2p/'))
    network = { ...file, bootstrap: file.bootstrap.filter((a) => a.endsWith(first)) }
    privateKey = (await readFile(join(dir, 'user.key'), 'utf8')).trim() as Hex
  })

  after(async () => {
    await devnet?.stop('SIGTERM', 15_000)
    await stopAll(nodePids)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('a network file listing one node: the page reaches all four, puts on four and reads back', async () => {
    const host = await createBrowserHost({ allowPrivateAddresses: true })
    try {
      const client = createBrowserClient({ host }, { network })
      const reached = await client.connect()
      assert.equal(reached.length, 4, `the page reached ${reached.map((p) => p.peerId).join(', ')}`)
      const data = randomBytes(1_500_007)
      const { put, deal } = await putFromPage(client, pageWallet(privateKey, client.network), [data], { k: 2, n: 4 })
      assert.equal(new Set(put.slots.map((s) => s.peerId)).size, 4)
      assert.match(deal.dealId, /^\d+$/)
      const chunks: Uint8Array[] = []
      for await (const chunk of client.get(put.capability)) chunks.push(chunk)
      assert.equal(sha(Buffer.concat(chunks)), sha(data), 'the page reads back what it put')
      const { bytes } = await devnetCli(dir, { timeoutMs: 120_000 }).getBytes(put.capability)
      assert.equal(sha(bytes), sha(data), 'cairn get reads what the page put')
    } finally {
      await host.stop()
    }
  })

  it('a page that dialled one node reads a CLI-put file from holders it dials when the get needs them', async () => {
    const data = randomBytes(700_001)
    const path = join(dir, 'cli-file.bin')
    await writeFile(path, data)
    const { capability } = await devnetCli(dir, { timeoutMs: 120_000 }).json<{ capability: string }>([
      'put',
      path,
      '--k',
      '3',
      '--n',
      '4',
      '--json',
    ])
    const host = await createBrowserHost({ allowPrivateAddresses: true })
    try {
      const client = createBrowserClient({ host }, { network, maxNodes: 1 })
      assert.equal((await client.connect()).length, 1)
      const chunks: Uint8Array[] = []
      for await (const chunk of client.get(capability)) chunks.push(chunk)
      assert.equal(sha(Buffer.concat(chunks)), sha(data), 'read from three holders, two dialled on demand')
    } finally {
      await host.stop()
    }
  })

  it('without the Registry the page has one node, and a put on four says so', async () => {
    const host = await createBrowserHost({ allowPrivateAddresses: true })
    try {
      const client = createBrowserClient({ host }, { network, registry: false })
      assert.equal((await client.connect()).length, 1)
      await assert.rejects(
        putFromPage(client, pageWallet(privateKey, client.network), [randomBytes(1000)], { k: 2, n: 4 }),
        { code: 'ERR_NOT_ENOUGH_NODES' },
      )
    } finally {
      await host.stop()
    }
  })
})
