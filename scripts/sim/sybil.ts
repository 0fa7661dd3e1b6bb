/**
 * The Sybil: one party with 3 node accounts (3 minimum stakes) among 4 honest nodes of the same price. Users place
 * k=1, n=3 files with the client's placement (`orderForPlacement`: at random, spread over /24s first) over these 7
 * Registry-active nodes; every deal is opened and confirmed on chain and its slots are proven every epoch. The Sybil
 * gains only where it holds m >= 2 slots of one replicated file (it keeps one copy, is paid m times). Phases:
 * - `oneRange`: its 3 nodes registered in one /24 (one machine): placement gives it at most one slot per file;
 * - `threeRanges`: endpoints moved to 3 /24s (3 addresses in 3 networks);
 * - declared: it names one operator for 2 of its nodes, and a deal naming both is refused (DuplicateOperator).
 */
import {
  acceptNode,
  type ChainClient,
  confirmSlot,
  DEFAULT_PRICE_PER_BYTE_EPOCH,
  getNode,
  listActiveNodes,
  setOperator,
  updateEndpoints,
} from '../../src/chain/index.ts'
import { orderForPlacement, type PeerView } from '../../src/node/index.ts'
import { type Held, randomBytes, realSlot } from './slots.ts'
import { openDeal, registerSimNode, type SimWorld } from './world.ts'

const FILES_PER_PHASE = 20
const N = 3

interface Phase {
  slots: number
  sybilSlots: number
  files: number
  /** Files of which the Sybil holds 2 or more slots (one copy, paid for each). */
  multiSlotFiles: number
}

export function createSybil(world: SimWorld, sybils: ChainClient[], honest: ChainClient[], owner: ChainClient) {
  const phases = new Map<string, Phase>()
  const refused: string[] = []
  const pool = [...honest, ...sybils]
  const isSybil = (c: ChainClient) => sybils.includes(c)

  async function place(name: string, held: Map<ChainClient, Held[]>) {
    const phase: Phase = { slots: 0, sybilSlots: 0, files: 0, multiSlotFiles: 0 }
    phases.set(name, phase)
    const active = await listActiveNodes(owner)
    const byPeer = new Map<string, ChainClient>()
    const views: PeerView[] = []
    for (const record of active) {
      const client = pool.find((c) => c.account.address === record.account)
      if (client === undefined) continue
      byPeer.set(record.peerId, client)
      views.push({ peerId: record.peerId, state: 'alive', lastSeenMs: 0, multiaddrs: record.multiaddrs })
    }
    for (let f = 0; f < FILES_PER_PHASE; f++) {
      const nodes = orderForPlacement(views, world.rand)
        .slice(0, N)
        .map((v) => byPeer.get(v.peerId)!)
      const slot = realSlot(randomBytes(world.rand, 8 * 1024))
      const { dealId } = await openDeal(world, owner, nodes, slot, {
        durationEpochs: world.epochs + 2,
        maxPricePerByteEpoch: DEFAULT_PRICE_PER_BYTE_EPOCH,
      })
      for (const [slotIndex, node] of nodes.entries()) {
        await confirmSlot(node, { dealId, slotIndex })
        held.set(node, [...(held.get(node) ?? []), { dealId, slotIndex, prove: slot.prove }])
      }
      const mine = nodes.filter(isSybil).length
      phase.files++
      phase.slots += nodes.length
      phase.sybilSlots += mine
      if (mine >= 2) phase.multiSlotFiles++
    }
  }

  return {
    async register() {
      for (const [i, s] of sybils.entries())
        await registerSimNode(world, s, DEFAULT_PRICE_PER_BYTE_EPOCH, `10.66.1.${i + 1}`)
    },
    /** Places the users' files in both phases, then tries a deal on two nodes of one declared operator. */
    async setup(held: Map<ChainClient, Held[]>) {
      await place('oneRange', held)
      for (const [i, s] of sybils.entries()) {
        const record = await getNode(s, { account: s.account.address })
        await updateEndpoints(s, { peerId: record.peerId, multiaddrs: [`/ip4/10.${66 + i}.1.1/tcp/4001`] })
      }
      await place('threeRanges', held)
      const [first, second] = sybils as [ChainClient, ChainClient]
      await setOperator(second, { operator: first.account.address })
      await acceptNode(first, { node: second.account.address })
      try {
        await openDeal(world, owner, [first, second, honest[0]!], realSlot(randomBytes(world.rand, 4096)), {
          durationEpochs: world.epochs + 2,
          maxPricePerByteEpoch: DEFAULT_PRICE_PER_BYTE_EPOCH,
        })
        throw new Error('the Market opened a deal on two nodes of one declared operator')
      } catch (error) {
        const name = (error as { details?: { errorName?: string } }).details?.errorName
        if (name !== 'DuplicateOperator') throw error
        refused.push(name)
      }
    },
    async summary() {
      let stake = 0n
      let sybilStake = 0n
      for (const c of pool) {
        const record = await getNode(c, { account: c.account.address })
        stake += record.stake
        if (isSybil(c)) sybilStake += record.stake
      }
      const out: Record<string, number> = { stakeShare: Number(sybilStake) / Number(stake), refused: refused.length }
      for (const [name, p] of phases) {
        out[`${name}SlotShare`] = p.sybilSlots / p.slots
        out[`${name}MultiSlotFiles`] = p.multiSlotFiles / p.files
      }
      return out
    },
  }
}
