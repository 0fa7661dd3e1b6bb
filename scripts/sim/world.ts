/** What every simulated actor shares: the chain's clients, time and block control, deals, proofs and gas in CAIRN. */
import type { Hex, TestClient } from 'viem'
import {
  type ChainClient,
  createDeal,
  DEFAULT_CAIRN_PER_ETHER,
  DEFAULT_MIN_STAKE,
  DEFAULT_PROOF_GAS_PRICE_WEI,
  getChallenge,
  type ProofOutcome,
  registerNode,
  reportMissed,
  signDealAcceptances,
  submitProofs,
} from '../../src/chain/index.ts'
import type { Held, SimSlot } from './slots.ts'

export interface SimWorld {
  /** Funded accounts; clients[0] deploys, draws seeds and reports misses (a watcher anyone could run). */
  clients: ChainClient[]
  test: TestClient
  rand: () => number
  epochs: number
  /** A fresh number for peer IDs and manifest CIDs. */
  tag: () => number
}

/** Token units a transaction's gas costs at the minimum payment's assumptions (2 gwei, 1,000 CAIRN per ether). */
export function gasInTokens(gas: bigint): bigint {
  return gas * DEFAULT_PROOF_GAS_PRICE_WEI * DEFAULT_CAIRN_PER_ETHER
}

/** Gas used by the transaction `hash`. */
export async function gasOf(client: ChainClient, hash: Hex): Promise<bigint> {
  return (await client.getTransactionReceipt({ hash })).gasUsed
}

/** Registers `client` as a node at `price` with the minimum stake, reachable at `address` (an IPv4). */
export async function registerSimNode(world: SimWorld, client: ChainClient, price: bigint, address: string) {
  await registerNode(client, {
    peerId: `12D3KooWSim${world.tag()}`,
    multiaddrs: [`/ip4/${address}/tcp/4001`],
    capacity: 2n ** 63n,
    pricePerByteEpoch: price,
    stake: DEFAULT_MIN_STAKE,
  })
}

/**
 * `owner` opens a k=1 deal of `slot` on `nodes` (one slot each), every node signing its acceptance first; returns
 * the deal and the gas of createDeal. Nodes do not confirm here.
 */
export async function openDeal(
  world: SimWorld,
  owner: ChainClient,
  nodes: ChainClient[],
  slot: SimSlot,
  params: { durationEpochs: number; maxPricePerByteEpoch: bigint },
): Promise<{ dealId: bigint; gas: bigint; escrow: bigint }> {
  const deal = {
    manifestCid: `bafysim${world.tag()}`,
    size: slot.size,
    k: 1,
    slots: nodes.map((n) => ({ root: slot.root, size: slot.size, node: n.account.address })),
    ...params,
  }
  const created = await createDeal(owner, await signDealAcceptances(owner, nodes, deal))
  return { dealId: created.dealId, escrow: created.escrow, gas: await gasOf(owner, created.transactionHash) }
}

/** Proves every slot of `slots` for the current epoch in batch transactions; returns the outcomes and their gas. */
export async function proveHeld(
  node: ChainClient,
  slots: Held[],
  maxPerTransaction = 128,
): Promise<{ outcomes: ProofOutcome[]; gas: bigint }> {
  const proofs = await Promise.all(
    slots.map(async (s) => {
      const challenge = await getChallenge(node, { dealId: s.dealId, slotIndex: s.slotIndex })
      return { dealId: s.dealId, slotIndex: s.slotIndex, ...s.prove(challenge!.leafIndex) }
    }),
  )
  const outcomes = proofs.length === 0 ? [] : await submitProofs(node, proofs, { maxPerTransaction })
  const hashes = new Set(outcomes.flatMap((o) => (o.transactionHash === undefined ? [] : [o.transactionHash])))
  let gas = 0n
  for (const hash of hashes) gas += await gasOf(node, hash)
  return { outcomes, gas }
}

/**
 * The watcher records the missed epochs of one slot (slashing its holder): how many it recorded, and whether the
 * slot opened for repair (its holder missed maxMisses in a row).
 */
export async function reportSlot(
  world: SimWorld,
  dealId: bigint,
  slotIndex: number,
): Promise<{ missed: number; opened: boolean }> {
  try {
    return await reportMissed(world.clients[0]!, { dealId, slotIndex })
  } catch {
    return { missed: 0, opened: false } // NothingToReport: the slot proved, or is already open
  }
}

/** Mines empty blocks until the chain's latest block is `block` (nothing when it is already there or past). */
export async function mineTo(world: SimWorld, block: bigint): Promise<void> {
  const latest = await world.clients[0]!.getBlockNumber({ cacheTime: 0 })
  if (block > latest) await world.test.mine({ blocks: Number(block - latest) })
}
