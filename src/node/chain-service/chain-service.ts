/**
 * A storage node's life on the chain: it registers (or updates) its Registry entry and stakes, confirms the slots it
 * was named for once it checked it holds them, proves every held slot every epoch, reports the missed proofs of other
 * nodes (the watcher role), and withdraws its earnings when they are worth a transaction.
 */
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import type { Address } from 'viem'
import {
  addStake,
  type ChainClient,
  type ChainContracts,
  confirmSlot,
  createChainClient,
  DEFAULT_MAX_PROOFS_PER_TRANSACTION,
  drawSeed,
  type EpochInfo,
  getBalances,
  getChallenge,
  getDeal,
  getDealCount,
  getEpochInfo,
  getNode,
  getNodeSlots,
  getSlot,
  getSlots,
  type HeldSlotRecord,
  marketAbi,
  proveSlots,
  registerNode,
  registryAbi,
  repairSlot,
  reportMissed,
  unjailNode,
  updateEndpoints,
  updateOffer,
  withdrawEarnings,
} from '../../chain/index.ts'
import type { PieceStore } from '../../storage/index.ts'
import {
  type AbortOptions,
  DEFAULT_CHAIN_POLL_MS,
  DEFAULT_CHAIN_REPAIR_EXTRA_EPOCHS,
  DEFAULT_NODE_PRICE_PER_BYTE_EPOCH,
  DEFAULT_NODE_STAKE,
  DEFAULT_WITHDRAW_EVERY_EPOCHS,
  DEFAULT_WITHDRAW_MIN,
  SLOT_CACHE_DIR,
} from '../index.ts'
import { type PendingChainRepair, readChainRepairs, writeChainRepairs } from './chain-repairs-file.ts'
import { createSlotProver, type SlotKey, type SlotProver } from './slot-prover.ts'

/** What a node reports about its chain work (the daemon prints them as JSON lines to its log). */
export type ChainServiceEvent =
  | { type: 'chain:registered'; account: Address; stake: string }
  | { type: 'chain:endpoints'; account: Address }
  | { type: 'chain:staked'; amount: string }
  | { type: 'chain:unjailed'; account: Address }
  | { type: 'chain:confirmed'; dealId: string; slot: number }
  | { type: 'chain:refused'; dealId: string; slot: number; reason: string }
  | { type: 'chain:proved'; dealId: string; slot: number; epoch: number; transactionHash: string }
  | { type: 'chain:reported'; dealId: string; slot: number; missed: number; opened: boolean }
  | { type: 'chain:withdrew'; earnings: string; rewards: string }
  | { type: 'chain:repair-pending'; manifestCid: string; slot: number }
  | { type: 'chain:repaired'; dealId: string; slot: number; epoch: number; bounty: string }
  | { type: 'chain:repair-dropped'; manifestCid: string; slot: number; reason: string }
  | { type: 'chain:healed'; dealId: string; slot: number; pieces: number }
  | { type: 'chain:error'; action: string; message: string }

export interface ChainServiceComponents {
  pieceStore: Pick<PieceStore, 'get' | 'has'>
  /** The node's libp2p identity and current addresses (registered in the Registry). */
  peerId: () => string
  multiaddrs: () => string[]
  /** Bytes the node offers (its quota). */
  capacity: () => bigint
  /** Rebuilds a missing or corrupt piece of this node's slots from the other holders (the repair service's). */
  healPiece?: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>
}

export interface ChainServiceInit {
  rpcUrl: string
  chainId: number
  contracts: ChainContracts
  privateKey: `0x${string}`
  dataDir: string
  /** First block to read events from (the deployment's). */
  fromBlock?: bigint
  pricePerByteEpoch?: bigint
  stake?: bigint
  pollMs?: number
  /** Report other nodes' missed proofs (default true). */
  watcher?: boolean
  /** Withdraw when earnings + rewards reach this many token units (default: DEFAULT_WITHDRAW_MIN). */
  withdrawMin?: bigint
  /** Most slot proofs sent in one transaction (default DEFAULT_MAX_PROOFS_PER_TRANSACTION, 32). */
  proofsPerTransaction?: number
  /** Test-only fault: confirm without checking and answer challenges with made-up data. */
  fakeProofs?: boolean
  onEvent?: (event: ChainServiceEvent) => void
}

export interface ChainService {
  readonly account: Address
  /** Registers or updates the Registry entry; then runs the epoch loop until stop(). */
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * Takes over on chain a slot this node rebuilt off-chain (the repair service's `onSlotRepaired`): remembered in the
   * data dir; once the chain opened the slot (after `maxMisses` reported misses) the node calls `repairSlot` with a
   * proof against the slot root, then proves the slot every epoch. Harmless when someone else took it first.
   */
  claimSlot(params: { manifestCid: string; slot: number }, options?: AbortOptions): Promise<void>
  /** Active nodes' multiaddrs from the Registry (a bootstrap source). */
  client: ChainClient
}

/**
 * Creates the chain service of a storage node.
 *
 * @example
 * ```ts
 * const service = createChainService({ pieceStore, peerId: () => id, multiaddrs: () => addrs, capacity: () => 10n ** 12n },
 *   { rpcUrl, chainId, contracts, privateKey, dataDir })
 * await service.start()
 * ```
 */
export function createChainService(components: ChainServiceComponents, init: ChainServiceInit): ChainService {
  return new NodeChainService(components, init)
}

class NodeChainService implements ChainService {
  readonly client: ChainClient
  readonly account: Address
  readonly #components: ChainServiceComponents
  readonly #init: ChainServiceInit
  readonly #prover: SlotProver
  readonly #emit: (event: ChainServiceEvent) => void
  readonly #controller = new AbortController()
  #loop: Promise<void> | undefined
  #watchedEpoch = -1
  #withdrawEpoch = -1
  /** Slots this node refused (does not hold), by deal:slot, so it does not recheck every tick. */
  readonly #refused = new Map<string, number>()
  readonly #provedEpoch = new Map<string, number>()
  #standingCheckedEpoch = -1
  /** Slots rebuilt off-chain waiting to be taken over on chain, by manifestCid:slot. */
  readonly #claims = new Map<string, PendingChainRepair>()
  #claimsLoaded: Promise<void> | undefined
  #claimsSaving: Promise<void> = Promise.resolve()
  /** Manifest CID of every deal seen so far (a deal's manifest never changes), by deal ID. */
  readonly #dealManifests = new Map<bigint, string>()
  #maxMisses: number | undefined

  constructor(components: ChainServiceComponents, init: ChainServiceInit) {
    this.#components = components
    this.#init = init
    this.client = createChainClient({
      rpcUrl: init.rpcUrl,
      chainId: init.chainId,
      privateKey: init.privateKey,
      contracts: init.contracts,
    })
    this.account = this.client.account.address
    this.#prover = createSlotProver(
      { pieceStore: components.pieceStore },
      { cacheDir: join(init.dataDir, SLOT_CACHE_DIR) },
    )
    this.#emit = init.onEvent ?? (() => {})
  }

  async claimSlot(params: { manifestCid: string; slot: number }, _options: AbortOptions = {}): Promise<void> {
    await this.#loadClaims()
    const id = `${params.manifestCid}:${params.slot}`
    if (this.#claims.has(id)) return
    this.#claims.set(id, { manifestCid: params.manifestCid, slot: params.slot })
    this.#emit({ type: 'chain:repair-pending', manifestCid: params.manifestCid, slot: params.slot })
    await this.#saveClaims()
  }

  async #loadClaims(): Promise<void> {
    this.#claimsLoaded ??= readChainRepairs(this.#init.dataDir).then((records) => {
      for (const r of records)
        if (!this.#claims.has(`${r.manifestCid}:${r.slot}`)) this.#claims.set(`${r.manifestCid}:${r.slot}`, r)
    })
    await this.#claimsLoaded
  }

  async #saveClaims(): Promise<void> {
    this.#claimsSaving = this.#claimsSaving
      .catch(() => {})
      .then(() => writeChainRepairs(this.#init.dataDir, [...this.#claims.values()]))
    await this.#claimsSaving
  }

  async start(): Promise<void> {
    const signal = this.#controller.signal
    await this.#loadClaims()
    const node = await getNode(this.client, { account: this.account }, { signal })
    const price = this.#init.pricePerByteEpoch ?? DEFAULT_NODE_PRICE_PER_BYTE_EPOCH
    const capacity = this.#components.capacity()
    const multiaddrs = this.#components.multiaddrs().slice(0, 8)
    if (node.status === 'none') {
      const stake = this.#init.stake ?? DEFAULT_NODE_STAKE
      await registerNode(
        this.client,
        { peerId: this.#components.peerId(), multiaddrs, capacity, pricePerByteEpoch: price, stake },
        { signal },
      )
      this.#emit({ type: 'chain:registered', account: this.account, stake: stake.toString() })
    } else {
      const same = node.peerId === this.#components.peerId() && node.multiaddrs.join(' ') === multiaddrs.join(' ')
      if (!same) await updateEndpoints(this.client, { peerId: this.#components.peerId(), multiaddrs }, { signal })
      if (node.pricePerByteEpoch !== price || node.capacity !== capacity) {
        await updateOffer(this.client, { capacity, pricePerByteEpoch: price }, { signal })
      }
      this.#emit({ type: 'chain:endpoints', account: this.account })
      await this.#restoreStanding(node, signal)
    }
    this.#loop = this.#run()
  }

  /**
   * Slashed below the minimum (or jailed): tops the stake up and asks to be active again, so that a node that missed
   * a proof (a slow epoch, a restart) takes new deals again without its operator. Not done by the test-only
   * fake-proofs fault, which plays a node that stays jailed.
   */
  async #restoreStanding(node: Awaited<ReturnType<typeof getNode>>, signal: AbortSignal): Promise<void> {
    if (this.#init.fakeProofs === true || (node.status !== 'active' && node.status !== 'jailed')) return
    const minStake = await this.client.readContract({
      address: this.client.contracts.registry,
      abi: registryAbi,
      functionName: 'minStake',
    })
    if (node.stake < minStake) {
      await addStake(this.client, { amount: minStake - node.stake }, { signal })
      this.#emit({ type: 'chain:staked', amount: String(minStake - node.stake) })
    }
    if (node.status === 'jailed') {
      await unjailNode(this.client, { signal })
      this.#emit({ type: 'chain:unjailed', account: this.account })
    }
  }

  async stop(): Promise<void> {
    this.#controller.abort()
    await this.#loop?.catch(() => {})
  }

  async #run(): Promise<void> {
    const signal = this.#controller.signal
    const pollMs = this.#init.pollMs ?? DEFAULT_CHAIN_POLL_MS
    while (!signal.aborted) {
      try {
        await this.#tick(signal)
      } catch (error) {
        if (signal.aborted) return
        this.#emit({ type: 'chain:error', action: 'tick', message: (error as Error).message })
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs)
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer)
            resolve()
          },
          { once: true },
        )
      })
    }
  }

  async #tick(signal: AbortSignal): Promise<void> {
    const info = await getEpochInfo(this.client, { signal })
    const held = await getNodeSlots(
      this.client,
      { node: this.account, ...(this.#init.fromBlock === undefined ? {} : { fromBlock: this.#init.fromBlock }) },
      { signal },
    )
    // Confirms pending slots and lists the due ones, then proves every due slot at once: one batch transaction
    // (per DEFAULT_MAX_PROOFS_PER_TRANSACTION slots) instead of one transaction per slot.
    const due = await Promise.all(held.map((entry) => this.#work(entry, info, signal)))
    await this.#proveDue(
      due.filter((entry) => entry !== undefined),
      signal,
    )
    await this.#claimAll(info, signal)
    if (this.#init.watcher !== false) await this.#watch(info, signal)
    await this.#withdraw(info, signal)
    if (this.#standingCheckedEpoch !== info.epoch) {
      this.#standingCheckedEpoch = info.epoch
      await this.#restoreStanding(await getNode(this.client, { account: this.account }, { signal }), signal)
    }
  }

  /** Confirms a pending slot once it is held; returns the slot when its proof of this epoch is due. */
  async #work(entry: HeldSlotRecord, info: EpochInfo, signal: AbortSignal): Promise<HeldSlotRecord | undefined> {
    const { dealId, slot, deal } = entry
    const id = `${dealId}:${slot.index}`
    if (info.epoch >= deal.endEpoch) return undefined
    const key = { manifestCid: deal.manifestCid, slotIndex: slot.index }
    try {
      if (slot.state === 'pending') {
        if ((this.#refused.get(id) ?? -1) >= info.epoch) return undefined
        const problem =
          this.#init.fakeProofs === true
            ? undefined
            : await this.#prover.check(key, { root: slot.root, size: slot.size }, { signal })
        if (problem !== undefined) {
          // Pieces may still be arriving: check again next epoch.
          this.#refused.set(id, info.epoch)
          this.#emit({ type: 'chain:refused', dealId: String(dealId), slot: slot.index, reason: problem })
          return undefined
        }
        await confirmSlot(this.client, { dealId, slotIndex: slot.index }, { signal })
        this.#emit({ type: 'chain:confirmed', dealId: String(dealId), slot: slot.index })
        return undefined
      }
      if (slot.state !== 'active' || info.epoch < deal.startEpoch || slot.nextEpoch > info.epoch) return undefined
      if ((this.#provedEpoch.get(id) ?? -1) >= info.epoch) return undefined
      if (slot.nextEpoch < info.epoch) {
        // Epochs this node missed (it was down) must be on record before it can prove again.
        await reportMissed(this.client, { dealId, slotIndex: slot.index }, { signal }).catch(() => {})
      }
      return entry
    } catch (error) {
      if (signal.aborted) throw error
      // Tried again on the next tick while the epoch lasts.
      this.#emit({ type: 'chain:error', action: `slot ${id}`, message: (error as Error).message })
      return undefined
    }
  }

  /**
   * Builds the proof of every due slot (healing a slot's damaged pieces first) and submits them together. A slot
   * whose proof could not be built, or that the Market rejected, is reported as `chain:error` and tried again on the
   * next tick while the epoch lasts (a proof racing the epoch's end is rejected and retried).
   */
  async #proveDue(due: HeldSlotRecord[], signal: AbortSignal): Promise<void> {
    if (due.length === 0) return
    const entries = new Map(due.map((entry) => [`${entry.dealId}:${entry.slot.index}`, entry]))
    const outcomes = await proveSlots(
      this.client,
      {
        slots: due.map(({ dealId, slot }) => ({ dealId, slotIndex: slot.index })),
        prove: async ({ dealId, slotIndex }, challenge) => {
          if (this.#init.fakeProofs === true) return madeUpProof(challenge.leafLength, challenge.leafCount)
          const { deal, slot } = entries.get(`${dealId}:${slotIndex}`)!
          const key = { manifestCid: deal.manifestCid, slotIndex }
          return this.#proveHealing(key, { root: slot.root, size: slot.size }, dealId, challenge.leafIndex, signal)
        },
      },
      { signal, maxPerTransaction: this.#init.proofsPerTransaction ?? DEFAULT_MAX_PROOFS_PER_TRANSACTION },
    )
    for (const outcome of outcomes) {
      const id = `${outcome.dealId}:${outcome.slotIndex}`
      if (outcome.accepted) {
        this.#provedEpoch.set(id, outcome.epoch)
        this.#emit({
          type: 'chain:proved',
          dealId: String(outcome.dealId),
          slot: outcome.slotIndex,
          epoch: outcome.epoch,
          transactionHash: outcome.transactionHash,
        })
      } else {
        this.#emit({ type: 'chain:error', action: `slot ${id}`, message: outcome.error.message })
      }
    }
  }

  /**
   * The challenged leaf of a slot this node holds; when a piece is missing or corrupt, the repair service heals the
   * slot's damaged pieces from the other holders and the proof is built again (same epoch).
   */
  async #proveHealing(
    key: SlotKey,
    expected: { root: string; size: bigint },
    dealId: bigint,
    leafIndex: number,
    signal: AbortSignal,
  ): Promise<{ leaf: Uint8Array; proof: Uint8Array[] }> {
    try {
      return await this.#prover.prove(key, leafIndex, { signal })
    } catch (error) {
      if (signal.aborted || this.#components.healPiece === undefined) throw error
      await this.#healSlot(key, expected, dealId, signal)
      return await this.#prover.prove(key, leafIndex, { signal })
    }
  }

  /** Heals every missing or unreadable piece of a slot, then checks the slot again; throws when it still fails. */
  async #healSlot(
    key: SlotKey,
    expected: { root: string; size: bigint },
    dealId: bigint | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const heal = this.#components.healPiece
    if (heal === undefined) return
    const store = this.#components.pieceStore
    let healed = 0
    for (const cid of await this.#prover.pieces(key, { signal })) {
      let ok = await store.has(cid, { signal }).catch(() => false)
      if (ok)
        ok = await store.get(cid, { signal }).then(
          () => true,
          () => false,
        )
      if (ok) continue
      await heal(cid, { signal })
      healed++
    }
    if (healed > 0 && dealId !== undefined) {
      this.#emit({ type: 'chain:healed', dealId: String(dealId), slot: key.slotIndex, pieces: healed })
    }
    const problem = await this.#prover.check(key, expected, { signal })
    if (problem !== undefined) throw new Error(`slot ${key.slotIndex} of ${key.manifestCid}: ${problem}`)
  }

  /** Works on every slot rebuilt off-chain that is not yet this node's on chain. */
  async #claimAll(info: EpochInfo, signal: AbortSignal): Promise<void> {
    if (this.#claims.size === 0) return
    this.#maxMisses ??= Number(
      await this.client.readContract({
        address: this.client.contracts.market,
        abi: marketAbi,
        functionName: 'maxMisses',
      }),
    )
    const count = await getDealCount(this.client, { signal })
    for (let id = BigInt(this.#dealManifests.size) + 1n; id <= count; id++) {
      this.#dealManifests.set(id, (await getDeal(this.client, { dealId: id }, { signal })).manifestCid)
    }
    let changed = false
    for (const [id, claim] of [...this.#claims]) {
      if (claim.firstEpoch === undefined) {
        claim.firstEpoch = info.epoch
        changed = true
      }
      let outcome: 'done' | 'waiting'
      try {
        outcome = await this.#claim(claim, info, signal)
      } catch (error) {
        if (signal.aborted) throw error
        this.#emit({ type: 'chain:error', action: `repair ${id}`, message: (error as Error).message })
        outcome = 'waiting'
      }
      if (outcome === 'done') {
        this.#claims.delete(id)
        changed = true
      } else if (info.epoch > claim.firstEpoch + this.#maxMisses + DEFAULT_CHAIN_REPAIR_EXTRA_EPOCHS) {
        this.#claims.delete(id)
        changed = true
        this.#emit({
          type: 'chain:repair-dropped',
          manifestCid: claim.manifestCid,
          slot: claim.slot,
          reason: 'the slot did not open for repair in time',
        })
      }
    }
    if (changed) await this.#saveClaims()
  }

  /** One slot rebuilt off-chain, in every running deal of its file: taken over when open, else waited for. */
  async #claim(claim: PendingChainRepair, info: EpochInfo, signal: AbortSignal): Promise<'done' | 'waiting'> {
    let waiting = false
    for (const [dealId, manifestCid] of this.#dealManifests) {
      if (manifestCid !== claim.manifestCid) continue
      const deal = await getDeal(this.client, { dealId }, { signal })
      if (deal.closed || info.epoch >= deal.endEpoch || claim.slot >= deal.n) continue
      const slot = await getSlot(this.client, { dealId, slotIndex: claim.slot }, { signal })
      if (slot.node === this.account) continue // already ours (or ours when it opened: a former holder cannot repair)
      if (slot.state !== 'open') {
        waiting = true // the dead holder's misses are still being reported (or someone else holds it: dropped later)
        continue
      }
      const key = { manifestCid: claim.manifestCid, slotIndex: claim.slot }
      const expected = { root: slot.root, size: slot.size }
      const problem = await this.#prover.check(key, expected, { signal })
      if (problem !== undefined) await this.#healSlot(key, expected, dealId, signal)
      let challenge = await getChallenge(this.client, { dealId, slotIndex: claim.slot }, { signal })
      if (challenge === undefined) {
        await drawSeed(this.client, { signal }).catch(() => {})
        challenge = await getChallenge(this.client, { dealId, slotIndex: claim.slot }, { signal })
      }
      if (challenge === undefined) {
        waiting = true
        continue
      }
      const proof = await this.#prover.prove(key, challenge.leafIndex, { signal })
      try {
        await repairSlot(this.client, { dealId, slotIndex: claim.slot, ...proof }, { signal })
      } catch (error) {
        if (signal.aborted) throw error
        const now = await getSlot(this.client, { dealId, slotIndex: claim.slot }, { signal })
        if (now.state === 'open') throw error // tried again on the next tick (e.g. the epoch turned meanwhile)
        continue // someone else took it first: nothing to do
      }
      this.#provedEpoch.set(`${dealId}:${claim.slot}`, challenge.epoch)
      this.#emit({
        type: 'chain:repaired',
        dealId: String(dealId),
        slot: claim.slot,
        epoch: challenge.epoch,
        bounty: String(slot.bounty),
      })
    }
    return waiting ? 'waiting' : 'done'
  }

  /** Reports other nodes' missed proofs once per epoch, a little after the epoch starts (staggered per node). */
  async #watch(info: EpochInfo, signal: AbortSignal): Promise<void> {
    if (this.#watchedEpoch >= info.epoch) return
    const epochStart = info.endsAt - info.epochSeconds
    const offset = Number(BigInt(this.account) % BigInt(Math.max(1, Math.floor(info.epochSeconds / 2))))
    if (info.now < epochStart + offset) return
    this.#watchedEpoch = info.epoch
    const count = Number(await getDealCount(this.client, { signal }))
    for (let id = 1n; id <= BigInt(count); id++) {
      const deal = await getDeal(this.client, { dealId: id }, { signal })
      if (deal.closed || info.epoch <= deal.startEpoch) continue
      const slots = await getSlots(this.client, { dealId: id }, { signal })
      const holdsOne = slots.some((s) => s.node === this.account && s.state !== 'open')
      for (const slot of slots) {
        const lastDue = Math.min(info.epoch, deal.endEpoch)
        let open = slot.state === 'open'
        if (slot.state === 'active' && slot.nextEpoch < lastDue && slot.node !== this.account) {
          try {
            const report = await reportMissed(this.client, { dealId: id, slotIndex: slot.index }, { signal })
            open = report.opened
            this.#emit({
              type: 'chain:reported',
              dealId: String(id),
              slot: slot.index,
              missed: report.missed,
              opened: report.opened,
            })
          } catch (error) {
            if (signal.aborted) throw error
            // Another watcher (or the holder) was first: nothing to report.
          }
        }
        if (open && !holdsOne && slot.node !== this.account && info.epoch < deal.endEpoch) {
          await this.#offerToTake(deal.manifestCid, slot, signal)
        }
      }
    }
  }

  /**
   * An open slot whose data this node already holds in full (a copy left by an earlier repair; with k = 1 every
   * slot's pieces are the same) is taken over like a slot rebuilt off-chain: no off-chain repair will run for it,
   * since the network still sees enough copies.
   */
  async #offerToTake(
    manifestCid: string,
    slot: { index: number; root: string; size: bigint },
    signal: AbortSignal,
  ): Promise<void> {
    if (this.#claims.has(`${manifestCid}:${slot.index}`)) return
    const problem = await this.#prover
      .check({ manifestCid, slotIndex: slot.index }, { root: slot.root, size: slot.size }, { signal })
      .catch((error: unknown) => (signal.aborted ? Promise.reject(error) : 'the file is unknown here'))
    if (problem === undefined) await this.claimSlot({ manifestCid, slot: slot.index })
  }

  async #withdraw(info: EpochInfo, signal: AbortSignal): Promise<void> {
    if (this.#withdrawEpoch >= 0 && info.epoch - this.#withdrawEpoch < DEFAULT_WITHDRAW_EVERY_EPOCHS) return
    this.#withdrawEpoch = info.epoch
    const balances = await getBalances(this.client, {}, { signal })
    const total = balances.earnings + balances.rewards
    if (total === 0n || total < (this.#init.withdrawMin ?? DEFAULT_WITHDRAW_MIN)) return
    await withdrawEarnings(this.client, { signal })
    this.#emit({ type: 'chain:withdrew', earnings: String(balances.earnings), rewards: String(balances.rewards) })
  }
}

/** What a node that stores nothing sends: a leaf of the right length and a path of random hashes. */
function madeUpProof(leafLength: number, leafCount: number): { leaf: Uint8Array; proof: Uint8Array[] } {
  const depth = Math.ceil(Math.log2(Math.max(1, leafCount)))
  return {
    leaf: crypto.getRandomValues(new Uint8Array(leafLength)),
    proof: Array.from({ length: depth }, () => crypto.getRandomValues(new Uint8Array(32))),
  }
}
