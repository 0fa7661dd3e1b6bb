/**
 * The economics simulation: real contracts on anvil, time stepped epoch by epoch, real transactions. Honest nodes
 * store users' files (k=1, n=3 replicas) at the default price; a self-dealer (price 0, a k=n=1 deal with itself for
 * 2^63 bytes of zeros proven from 53 hashes) tries to capture the emission; a zero-price dumper stores real data at
 * price 0. Every actor's token value (wallet + stake + escrow of its deals + withdrawable earnings and rewards) is
 * read before and after; one JSON line ends the run.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestClient, type Hex, http, toHex } from 'viem'
import {
  type ChainClient,
  confirmSlot,
  createChainClient,
  createDeal,
  DEFAULT_MIN_STAKE,
  DEFAULT_PRICE_PER_BYTE_EPOCH,
  drawSeed,
  getBalances,
  getChallenge,
  getDeal,
  getEpochInfo,
  registerNode,
  signDealAcceptances,
  startDevchain,
  submitProofs,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import { merkleLeafHashes, merkleLevels, merkleProof, merkleRoot } from '../../src/storage/index.ts'

export interface EconomicsOptions {
  seed: number
  epochs: number
  log: (line: string) => void
}

/** A seeded generator (mulberry32): the same seed gives the same run. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

interface Held {
  dealId: bigint
  slotIndex: number
  prove: (leafIndex: number) => { leaf: Uint8Array; proof: Uint8Array[] }
}

function realSlot(data: Uint8Array) {
  const levels = merkleLevels(merkleLeafHashes(data))
  return {
    root: toHex(merkleRoot(data)) as Hex,
    size: BigInt(data.byteLength),
    prove: (i: number) => ({ leaf: data.subarray(i * 1024, (i + 1) * 1024), proof: merkleProof(levels, i) }),
  }
}

function zeroSlot(size: bigint) {
  const sha = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest())
  const leaf = new Uint8Array(1024)
  let hash = sha(Uint8Array.of(0), leaf)
  const proof: Uint8Array[] = []
  for (let width = size / 1024n; width > 1n; width /= 2n) {
    proof.push(hash)
    hash = sha(Uint8Array.of(1), hash, hash)
  }
  return { root: toHex(hash) as Hex, size, prove: () => ({ leaf, proof }) }
}

/** Runs the simulation and returns its summary (the JSON line). */
export async function runEconomics(options: EconomicsOptions): Promise<Record<string, unknown>> {
  const rand = random(options.seed)
  const dir = await mkdtemp(join(tmpdir(), 'cairn-sim-'))
  const epochSeconds = 100
  const devchain = await startDevchain({
    dir,
    blockTime: 0,
    accounts: 10,
    // Production economics (minimum payment 0.14 CAIRN, fee 10 %, reward <= 50 % of fees), short epochs.
    params: { epochSeconds, minPaymentPerSlotEpoch: 140_000_000_000_000_000n, responseWindowBlocks: 25 },
  })
  try {
    const clients = devchain.accounts.map((privateKey) =>
      createChainClient({
        rpcUrl: devchain.rpcUrl,
        chainId: devchain.chainId,
        privateKey,
        contracts: devchain.contracts,
        pollingInterval: 10,
      }),
    )
    const test = createTestClient({ mode: 'anvil', transport: http(devchain.rpcUrl) })
    const users = [clients[1]!, clients[2]!]
    const honest = [clients[3]!, clients[4]!, clients[5]!, clients[6]!]
    const selfDealer = clients[7]!
    const dumper = clients[8]!
    let tag = 0
    const register = (c: ChainClient, price: bigint) =>
      registerNode(c, {
        peerId: `12D3KooWSim${tag++}`,
        multiaddrs: [`/ip4/10.0.${tag}.1/tcp/4001`],
        capacity: 2n ** 63n,
        pricePerByteEpoch: price,
        stake: DEFAULT_MIN_STAKE,
      })
    for (const node of honest) await register(node, DEFAULT_PRICE_PER_BYTE_EPOCH)
    await register(selfDealer, 0n)
    await register(dumper, 0n)

    const deals = new Map<ChainClient, bigint[]>()
    const held = new Map<ChainClient, Held[]>()
    const value = async (c: ChainClient) => {
      const b = await getBalances(c)
      let escrow = 0n
      for (const dealId of deals.get(c) ?? []) escrow += (await getDeal(c, { dealId })).escrow
      return b.tokens + b.stake + escrow + b.earnings + b.rewards
    }
    const actors = [...honest, selfDealer, dumper]
    const start = new Map(await Promise.all(actors.map(async (c) => [c, await value(c)] as const)))

    const open = async (owner: ChainClient, nodes: ChainClient[], slot: ReturnType<typeof realSlot>) => {
      const params = {
        manifestCid: `bafysim${tag++}`,
        size: slot.size,
        k: 1,
        slots: nodes.map((n) => ({ root: slot.root, size: slot.size, node: n.account.address })),
        durationEpochs: options.epochs + 2,
        maxPricePerByteEpoch: DEFAULT_PRICE_PER_BYTE_EPOCH,
      }
      // Every node signs its acceptance of its slot's terms, as a node's slot-acceptance policy does.
      const { dealId } = await createDeal(owner, await signDealAcceptances(owner, nodes, params))
      deals.set(owner, [...(deals.get(owner) ?? []), dealId])
      for (const [i, n] of nodes.entries()) {
        await confirmSlot(n, { dealId, slotIndex: i })
        held.set(n, [...(held.get(n) ?? []), { dealId, slotIndex: i, prove: slot.prove }])
      }
    }
    // Users' files: random sizes (64 KiB..1 MiB), three replicas on three of the four honest nodes.
    for (let f = 0; f < 6; f++) {
      const size = 64 * 1024 + Math.floor(rand() * 960 * 1024)
      const data = new Uint8Array(size).map(() => Math.floor(rand() * 256))
      const shuffled = [...honest].sort(() => rand() - 0.5).slice(0, 3)
      await open(users[f % 2]!, shuffled, realSlot(data))
    }
    await open(users[0]!, [dumper], realSlot(new Uint8Array(256 * 1024).map(() => Math.floor(rand() * 256))))
    await open(selfDealer, [selfDealer], zeroSlot(2n ** 63n))

    const step = async () => {
      const info = await getEpochInfo(clients[0]!)
      await test.setNextBlockTimestamp({ timestamp: BigInt(info.genesis + (info.epoch + 1) * epochSeconds) })
      await test.mine({ blocks: 1 })
    }
    let selfDealerWorstEpoch: bigint | undefined
    await step()
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      await drawSeed(clients[0]!)
      const before = await value(selfDealer)
      for (const [node, slots] of held) {
        const proofs = await Promise.all(
          slots.map(async (s) => {
            const challenge = await getChallenge(node, { dealId: s.dealId, slotIndex: s.slotIndex })
            return { dealId: s.dealId, slotIndex: s.slotIndex, ...s.prove(challenge!.leafIndex) }
          }),
        )
        await submitProofs(node, proofs)
      }
      await step()
      for (const node of actors) {
        const b = await getBalances(node)
        if (b.earnings + b.rewards > 0n) await withdrawEarnings(node)
      }
      const change = (await value(selfDealer)) - before
      if (selfDealerWorstEpoch === undefined || change > selfDealerWorstEpoch) selfDealerWorstEpoch = change
      options.log(`epoch ${epoch}: self-dealer ${change} units`)
    }
    const net = async (c: ChainClient) => (await value(c)) - start.get(c)!
    const honestNets = await Promise.all(honest.map(net))
    return {
      honest_min_profit: [...honestNets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0]!.toString(),
      self_dealer_net: (await net(selfDealer)).toString(),
      self_dealer_best_epoch: (selfDealerWorstEpoch ?? 0n).toString(),
      zero_price_dumper_net: (await net(dumper)).toString(),
      griefer_cost_to_victim_ratio: null,
      dropper_caught_within_challenges: Math.ceil(Math.log(0.01) / Math.log(0.9)),
      outsourcer_missed_proof_rate: null,
      seed: options.seed,
      epochs: options.epochs,
    }
  } finally {
    await devchain.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
