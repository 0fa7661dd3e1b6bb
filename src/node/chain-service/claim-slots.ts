/**
 * The claim duty: slots this node rebuilt off-chain (or already holds a full copy of) are taken over on chain once the
 * chain opened them, with a proof against the slot root (`repairSlot`); the pending ones survive restarts in
 * `chain-repairs.json` and are given up when the slot does not open in time.
 */
import { drawSeed, type EpochInfo, getChallenge, getDeal, getSlot, marketAbi, repairSlot } from '../../chain/index.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import { readChainRepairs, writeChainRepairs } from './chain-repairs-file.ts'
import { DEFAULT_CHAIN_REPAIR_EXTRA_EPOCHS } from './constants.ts'
import { healSlot } from './heal-slot.ts'
import type { PendingChainRepair } from './interface.ts'

type SlotClaimsContext = Pick<
  ChainDutyContext,
  'client' | 'account' | 'components' | 'init' | 'prover' | 'emit' | 'provedEpoch'
> & {
  /** The running deals of a file, from the node's book of the Market. */
  dealsOf: (manifestCid: string) => Array<{ dealId: bigint }>
}

/** The slots waiting to be taken over on chain, and the work that takes them over. */
export class SlotClaims {
  readonly #context: SlotClaimsContext
  /** Slots rebuilt off-chain waiting to be taken over on chain, by manifestCid:slot. */
  readonly #claims = new Map<string, PendingChainRepair>()
  #loaded: Promise<void> | undefined
  #saving: Promise<void> = Promise.resolve()
  #maxMisses: number | undefined

  constructor(context: SlotClaimsContext) {
    this.#context = context
  }

  /** Remembers a slot to take over (announced as `chain:repair-pending`); nothing when it is already pending. */
  async add(params: { manifestCid: string; slot: number }): Promise<void> {
    await this.load()
    const id = `${params.manifestCid}:${params.slot}`
    if (this.#claims.has(id)) return
    this.#claims.set(id, { manifestCid: params.manifestCid, slot: params.slot })
    this.#context.emit({ type: 'chain:repair-pending', manifestCid: params.manifestCid, slot: params.slot })
    await this.#save()
  }

  /** Reads the pending claims of the data dir once (later calls wait for that first read). */
  async load(): Promise<void> {
    this.#loaded ??= readChainRepairs(this.#context.init.dataDir).then((records) => {
      for (const r of records)
        if (!this.#claims.has(`${r.manifestCid}:${r.slot}`)) this.#claims.set(`${r.manifestCid}:${r.slot}`, r)
    })
    await this.#loaded
  }

  async #save(): Promise<void> {
    this.#saving = this.#saving
      .catch(() => {})
      .then(() => writeChainRepairs(this.#context.init.dataDir, [...this.#claims.values()]))
    await this.#saving
  }

  /**
   * An open slot whose data this node already holds in full (a copy left by an earlier repair; with k = 1 every
   * slot's pieces are the same) is taken over like a slot rebuilt off-chain: no off-chain repair will run for it,
   * since the network still sees enough copies.
   */
  async offerToTake(
    manifestCid: string,
    slot: { index: number; root: string; size: bigint },
    signal: AbortSignal,
  ): Promise<void> {
    if (this.#claims.has(`${manifestCid}:${slot.index}`)) return
    const problem = await this.#context.prover
      .check({ manifestCid, slotIndex: slot.index }, { root: slot.root, size: slot.size }, { signal })
      .catch((error: unknown) => (signal.aborted ? Promise.reject(error) : 'the file is unknown here'))
    if (problem === undefined) await this.add({ manifestCid, slot: slot.index })
  }

  /** Works on every slot rebuilt off-chain that is not yet this node's on chain. */
  async tick(info: EpochInfo, signal: AbortSignal): Promise<void> {
    if (this.#claims.size === 0) return
    const { client, emit } = this.#context
    this.#maxMisses ??= Number(
      await client.readContract({
        address: client.contracts.market,
        abi: marketAbi,
        functionName: 'maxMisses',
      }),
    )
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
        emit({ type: 'chain:error', action: `repair ${id}`, message: (error as Error).message })
        outcome = 'waiting'
      }
      if (outcome === 'done') {
        this.#claims.delete(id)
        changed = true
      } else if (info.epoch > claim.firstEpoch + this.#maxMisses + DEFAULT_CHAIN_REPAIR_EXTRA_EPOCHS) {
        this.#claims.delete(id)
        changed = true
        emit({
          type: 'chain:repair-dropped',
          manifestCid: claim.manifestCid,
          slot: claim.slot,
          reason: 'the slot did not open for repair in time',
        })
      }
    }
    if (changed) await this.#save()
  }

  /** One slot rebuilt off-chain, in every running deal of its file: taken over when open, else waited for. */
  async #claim(claim: PendingChainRepair, info: EpochInfo, signal: AbortSignal): Promise<'done' | 'waiting'> {
    const { client, account, prover, emit, provedEpoch } = this.#context
    let waiting = false
    for (const { dealId } of this.#context.dealsOf(claim.manifestCid)) {
      const deal = await getDeal(client, { dealId }, { signal })
      if (deal.closed || info.epoch >= deal.endEpoch || claim.slot >= deal.n) continue
      const slot = await getSlot(client, { dealId, slotIndex: claim.slot }, { signal })
      if (slot.node === account) continue // already ours (or ours when it opened: a former holder cannot repair)
      if (slot.state !== 'open') {
        waiting = true // the dead holder's misses are still being reported (or someone else holds it: dropped later)
        continue
      }
      const key = { manifestCid: claim.manifestCid, slotIndex: claim.slot }
      const expected = { root: slot.root, size: slot.size }
      const problem = await prover.check(key, expected, { signal })
      if (problem !== undefined) await healSlot(this.#context, key, expected, dealId, signal)
      // The challenge is bound to the repairer's account: a copy of its transaction by another account fails.
      const mine = { dealId, slotIndex: claim.slot, prover: account }
      let challenge = await getChallenge(client, mine, { signal })
      if (challenge === undefined) {
        await drawSeed(client, { signal }).catch(() => {})
        challenge = await getChallenge(client, mine, { signal })
      }
      if (challenge === undefined) {
        waiting = true
        continue
      }
      const proof = await prover.prove(key, challenge.leafIndex, { signal })
      try {
        await repairSlot(client, { dealId, slotIndex: claim.slot, ...proof }, { signal })
      } catch (error) {
        if (signal.aborted) throw error
        const reason = (error as { details?: { errorName?: string } }).details?.errorName
        // This node (or its operator) holds another slot of the deal: the Market never lets it take this one.
        if (reason === 'DuplicateNode' || reason === 'DuplicateOperator') continue
        const now = await getSlot(client, { dealId, slotIndex: claim.slot }, { signal })
        if (reason === 'ResponseWindowClosed' && now.state === 'open') {
          waiting = true // the epoch's response window passed: the next epoch's seed opens a new one
          continue
        }
        if (now.state === 'open') throw error // tried again on the next tick (e.g. the epoch turned meanwhile)
        continue // someone else took it first: nothing to do
      }
      provedEpoch.set(`${dealId}:${claim.slot}`, challenge.epoch)
      emit({
        type: 'chain:repaired',
        dealId: String(dealId),
        slot: claim.slot,
        epoch: challenge.epoch,
        bounty: String(slot.bounty),
      })
    }
    return waiting ? 'waiting' : 'done'
  }
}
