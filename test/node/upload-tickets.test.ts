/**
 * Finding 4 of issue 12, second part: free libp2p keys made free quota. A node on chain grants room only for an
 * upload ticket signed by the account that will pay (EIP-712 `UploadTicket`), checks that the account's balance
 * covers one epoch of the bytes, keeps its quotas per account, and takes pieces only from the peer that presented
 * the ticket. Real libp2p hosts over TCP on 127.0.0.1, the node's real consent policy, a real anvil.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generatePrivateKey } from 'viem/accounts'
import { type ChainClient, createChainClient } from '../../src/chain/index.ts'
import {
  decodeSlotAcceptanceMessage,
  encodeSlotAcceptanceMessage,
  reserveUpload,
  type WireUploadTicket,
} from '../../src/net/index.ts'
import { signUploadTicket } from '../../src/node/index.ts'
import { createSlotAcceptancePolicy } from '../../src/node/slot-acceptance.ts'
import { pieceCid } from '../../src/storage/index.ts'
import { registerNodes, startTestChain, type TestChain } from '../chain/harness.ts'
import { connect, startNode, stopAll, type TestNode, waitFor } from '../net/fixtures/hosts.ts'

const FREE = 1_000_000
const KEYS = 8

let chain: TestChain
let dir: string

before(async () => {
  chain = await startTestChain({ accounts: 4 })
  await registerNodes([chain.clients[2]!])
  dir = await mkdtemp(join(tmpdir(), 'cairn-upload-tickets-'))
})
after(async () => {
  await chain?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

const nodeAccount = () => chain.clients[2]!
const funded = () => chain.clients[1]!

/** A wallet with no tokens at all (a fresh key). */
function unfunded(): ChainClient {
  return createChainClient({
    rpcUrl: chain.devchain.rpcUrl,
    chainId: chain.devchain.chainId,
    contracts: chain.devchain.contracts,
    privateKey: generatePrivateKey(),
  })
}

/** The storing node: on chain as account 2 (or off chain, as every node was before tickets), `FREE` bytes free. */
async function storingNode(
  t: { after: (fn: () => Promise<void>) => void },
  init: { onChain: boolean; staked?: (peerId: string) => boolean },
) {
  const dataDir = await mkdtemp(join(dir, 'node-'))
  const policy = createSlotAcceptancePolicy(
    {
      prover: { check: async () => 'no pieces here' },
      chain: init.onChain ? nodeAccount() : undefined,
      freeSpace: () => FREE,
      ...(init.staked === undefined ? {} : { isStaked: init.staked }),
    },
    { dataDir },
  )
  const node = await startNode({ slotAcceptance: policy })
  t.after(async () => {
    await stopAll([node])
    await rm(dataDir, { recursive: true, force: true })
  })
  return { ...node, policy }
}

/** `count` fresh peer keys, each connected to `target`. */
async function freshPeers(t: { after: (fn: () => Promise<void>) => void }, target: TestNode, count: number) {
  const peers: TestNode[] = []
  t.after(() => stopAll(peers))
  for (let i = 0; i < count; i++) {
    const peer = await startNode()
    peers.push(peer)
    // The target dials: a node admits only 5 new inbound connections a second from one address (127.0.0.1 here).
    await connect(target.network, peer.network)
    await waitFor(() => peer.network.libp2p.getConnections().length > 0 || undefined, 5_000, 'the inbound connection')
  }
  return peers
}

/** Every fresh key reserves `bytes` (with `ticketOf`'s ticket, if any) and fills it; returns the bytes stored. */
async function fillFromEveryKey(
  peers: TestNode[],
  target: TestNode,
  bytes: number,
  ticketOf: (i: number) => Promise<WireUploadTicket | undefined> = async () => undefined,
): Promise<{ stored: number; refusals: string[] }> {
  let stored = 0
  const refusals: string[] = []
  for (const [i, peer] of peers.entries()) {
    try {
      const ticket = await ticketOf(i)
      await reserveUpload(peer.network, target.network.peerId, { bytes, seconds: 600, ticket })
      const piece = randomBytes(bytes)
      await peer.network.storePiece(target.network.peerId, pieceCid(piece), piece)
      stored += bytes
    } catch (error) {
      refusals.push((error as Error).message)
    }
  }
  return { stored, refusals }
}

const ticketFor = (payer: ChainClient, bytes: number, seconds = 600) =>
  signUploadTicket(payer, { node: nodeAccount().account.address, bytes, seconds })

describe('finding 4: upload room needs a ticket of an account that can pay (no free quota from free keys)', () => {
  test('before tickets (a node off chain): 8 fresh keys each reserve and fill room, 1,000,000 bytes in all', async (t) => {
    const target = await storingNode(t, { onChain: false })
    const peers = await freshPeers(t, target, KEYS)
    const { stored, refusals } = await fillFromEveryKey(peers, target, FREE / KEYS)
    assert.deepEqual(refusals, [])
    assert.equal(stored, FREE, 'every key got its own share: the whole free space')
  })

  test('on chain: the same 8 fresh keys get nothing without a ticket, nor with tickets of empty accounts', async (t) => {
    const target = await storingNode(t, { onChain: true })
    const peers = await freshPeers(t, target, KEYS)
    const bare = await fillFromEveryKey(peers, target, FREE / KEYS)
    assert.equal(bare.stored, 0)
    assert.equal(bare.refusals.length, KEYS)
    for (const reason of bare.refusals) {
      assert.match(
        reason,
        /refused an upload reservation of 125000 bytes: this node is on chain: an upload reservation needs an upload ticket signed by the account that will pay/,
      )
    }
    const empty = Array.from({ length: KEYS }, unfunded)
    const broke = await fillFromEveryKey(peers, target, FREE / KEYS, (i) => ticketFor(empty[i]!, FREE / KEYS))
    assert.equal(broke.stored, 0)
    for (const [i, reason] of broke.refusals.entries()) {
      assert.match(
        reason,
        new RegExp(
          `account ${empty[i]!.account.address} holds 0 token units, less than \\d+, the least one epoch of 125000 bytes costs at this node \\(payment and fee\\): fund the account or reserve less`,
        ),
      )
    }
    for (const peer of peers) assert.equal(target.policy.reservations.reservedBy(peer.network.peerId), 0)
  })

  test("a funded account's quota does not grow with more keys: half the free space in all, pieces only from the presenter", async (t) => {
    const target = await storingNode(t, { onChain: true })
    const peers = await freshPeers(t, target, KEYS)
    const { stored, refusals } = await fillFromEveryKey(peers, target, FREE / KEYS, () =>
      ticketFor(funded(), FREE / KEYS),
    )
    assert.equal(stored, FREE / 2, 'four tickets of 125,000 bytes fill the account share, whatever the number of keys')
    assert.equal(refusals.length, KEYS / 2)
    const address = funded().account.address
    for (const reason of refusals) {
      assert.match(reason, new RegExp(`account ${address} may reserve at most 500000 bytes here, asked 625000`))
    }
    assert.equal(target.policy.reservations.reservedForAccount(address), FREE / 2)
    // A key of the same account without its own reservation cannot store on the others' room.
    const piece = randomBytes(10)
    await assert.rejects(
      peers[KEYS - 1]!.network.storePiece(target.network.peerId, pieceCid(piece), piece),
      /no upload reservation for peer/,
    )
  })

  test('a ticket grants room once, only on its node, only for its bytes, only before its expiry (at most an hour)', async (t) => {
    const target = await storingNode(t, { onChain: true })
    const [first, second] = await freshPeers(t, target, 2)
    const peer = target.network.peerId
    const ticket = await ticketFor(funded(), 100_000)
    await reserveUpload(first!.network, peer, { bytes: 100_000, seconds: 600, ticket })
    await assert.rejects(
      reserveUpload(second!.network, peer, { bytes: 100_000, seconds: 600, ticket }),
      /the upload ticket of account 0x[0-9a-fA-F]{40} with nonce \d+ was used: sign a new one/,
    )
    await assert.rejects(
      reserveUpload(second!.network, peer, {
        bytes: 200_000,
        seconds: 600,
        ticket: await ticketFor(funded(), 100_000),
      }),
      /the upload ticket is not signed by account 0x[0-9a-fA-F]{40} for 200000 bytes on node/,
    )
    const elsewhere = await signUploadTicket(funded(), {
      node: chain.clients[3]!.account.address,
      bytes: 1_000,
      seconds: 60,
    })
    await assert.rejects(
      reserveUpload(second!.network, peer, { bytes: 1_000, seconds: 60, ticket: elsewhere }),
      /not signed by account/,
    )
    const now = Math.floor(Date.now() / 1000)
    const expired = await signUploadTicket(funded(), {
      node: nodeAccount().account.address,
      bytes: 1_000,
      seconds: 60,
      now: now - 120,
    })
    await assert.rejects(
      reserveUpload(second!.network, peer, { bytes: 1_000, seconds: 60, ticket: expired }),
      /the upload ticket of account .* expired at \d+: sign a new one/,
    )
    const long = { ...(await ticketFor(funded(), 1_000)), expiry: now + 86_400 }
    await assert.rejects(
      reserveUpload(second!.network, peer, { bytes: 1_000, seconds: 60, ticket: long }),
      /expires in \d+ s \(at most 3600\): sign one that ends sooner/,
    )
  })

  test('a staked node (a repairer) still gets room without a ticket', async (t) => {
    let repairer = ''
    const target = await storingNode(t, { onChain: true, staked: (peerId) => peerId === repairer })
    const [staked] = await freshPeers(t, target, 1)
    repairer = staked!.network.peerId
    await reserveUpload(staked!.network, target.network.peerId, { bytes: 50_000, seconds: 600 })
    const piece = randomBytes(50_000)
    await staked!.network.storePiece(target.network.peerId, pieceCid(piece), piece)
    assert.ok(await target.store.has(pieceCid(piece)))
  })

  test('the ticketed reserve request (0x05) round-trips and refuses malformed input with a ProtocolError', async () => {
    const ticket = await ticketFor(funded(), 4_096)
    const message = { type: 'reserve-request' as const, bytes: 4_096, seconds: 600, ticket }
    const body = encodeSlotAcceptanceMessage(message)
    assert.equal(body[0], 0x05)
    assert.equal(body.byteLength, 1 + 8 + 4 + 20 + 8 + 32 + 2 + 65)
    assert.deepEqual(decodeSlotAcceptanceMessage(body), {
      ...message,
      ticket: { ...ticket, account: ticket.account.toLowerCase() },
    })
    assert.throws(() => decodeSlotAcceptanceMessage(body.subarray(0, body.byteLength - 1)), { name: 'ProtocolError' })
    const noSignature = Uint8Array.from(body.subarray(0, 1 + 8 + 4 + 20 + 8 + 32 + 2))
    noSignature[noSignature.byteLength - 1] = 0
    assert.throws(() => decodeSlotAcceptanceMessage(noSignature), /signature of 0/)
  })
})
