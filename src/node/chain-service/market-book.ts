/**
 * The node's book of the Market: every running deal and its slots (holder, state, next epoch due, root, size), kept
 * from the Market's events instead of read deal by deal: the first start reads the history once (in block windows),
 * then each tick reads only the blocks added since, and the book and its block cursor are saved together in
 * `chain-state.json`, so a restart goes on from where it stopped. The duties ask the book (in memory) which slots
 * this node holds and which slots of others missed a proof: no tick reads every deal or every slot.
 */
import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import { type ChainEvent, type ChainReader, getSlot, readChainLogs } from '../../chain/index.ts'
import { crashPoint } from '../../storage/index.ts'
import { readJsonState, writeJsonState } from '../json-state-file.ts'
import { monotonicNow } from '../monotonic-clock.ts'
import { CHAIN_STATE_FILE, CHAIN_STATE_SAVE_MS } from './constants.ts'

/** One slot as the book keeps it. */
export interface BookSlot {
  index: number
  node: Address
  state: 'pending' | 'active' | 'open'
  /** First epoch not yet proven or reported. */
  nextEpoch: number
  root: Hex
  size: bigint
  misses: number
}

/** One running deal as the book keeps it (closed deals leave the book). */
export interface BookDeal {
  dealId: bigint
  owner: Address
  manifestCid: string
  startEpoch: number
  /** First epoch after the deal. */
  endEpoch: number
  slots: BookSlot[]
}

/** A slot of this node with its deal: what the confirm and prove duties work on. */
export interface HeldSlot {
  dealId: bigint
  slot: BookSlot
  deal: BookDeal
}

/** Format of `chain-state.json` (a file of another format, chain or Market is ignored: the history is read again). */
const STATE_FORMAT = 1
/** Epochs a deal stays in the book after its end, so that its last missed epochs can still be reported. */
const ENDED_DEAL_EPOCHS = 4

interface SavedSlot {
  node: string
  state: BookSlot['state']
  nextEpoch: number
  root: string
  size: string
  misses: number
}
interface SavedState {
  format: number
  chainId: number
  market: string
  cursor: string
  deals: Array<{
    dealId: string
    owner: string
    manifestCid: string
    startEpoch: number
    endEpoch: number
    slots: Array<SavedSlot | null>
  }>
}

const text = (value: unknown): string => String(value ?? '')
const int = (value: unknown): number => Number(value ?? 0)

/** Decodes the manifest CID the Market logs (UTF-8 bytes as hex). */
function manifestOf(value: unknown): string {
  const hex = text(value)
  return hex.startsWith('0x') ? Buffer.from(hex.slice(2), 'hex').toString('utf8') : hex
}

export interface MarketBookInit {
  reader: ChainReader
  chainId: number
  dataDir: string
  /** The first block of the Market's history (its deployment block). */
  fromBlock: bigint
}

/** The Market's running deals, kept from its events, with a durable cursor. */
export class MarketBook {
  readonly #init: MarketBookInit
  readonly #deals = new Map<bigint, BookDeal>()
  /** Last block whose events are in the book. */
  #cursor: bigint
  #savedCursor: bigint | undefined
  #savedAt = Number.NEGATIVE_INFINITY
  #dirty = false
  /** Slots an event changed in a way the event does not tell in full: read from the Market after the sync. */
  readonly #refresh = new Set<string>()

  constructor(init: MarketBookInit) {
    this.#init = init
    this.#cursor = init.fromBlock - 1n
  }

  /** Last block whose events are in the book. */
  get cursor(): bigint {
    return this.#cursor
  }

  /** Reads the saved book of the data dir, when it is of this chain and Market; else the history is read on sync. */
  async load(): Promise<void> {
    const saved = await readJsonState(join(this.#init.dataDir, CHAIN_STATE_FILE), (value) => value as SavedState)
    const market = this.#init.reader.contracts.market.toLowerCase()
    if (
      saved === undefined ||
      saved.format !== STATE_FORMAT ||
      saved.chainId !== this.#init.chainId ||
      text(saved.market).toLowerCase() !== market ||
      !/^\d+$/.test(text(saved.cursor)) ||
      !Array.isArray(saved.deals)
    ) {
      return
    }
    const cursor = BigInt(saved.cursor)
    if (cursor < this.#init.fromBlock - 1n) return
    try {
      for (const d of saved.deals) {
        const deal: BookDeal = {
          dealId: BigInt(d.dealId),
          owner: d.owner as Address,
          manifestCid: text(d.manifestCid),
          startEpoch: int(d.startEpoch),
          endEpoch: int(d.endEpoch),
          slots: [],
        }
        d.slots.forEach((s, index) => {
          if (s === null) return
          deal.slots[index] = {
            index,
            node: s.node as Address,
            state: s.state,
            nextEpoch: int(s.nextEpoch),
            root: s.root as Hex,
            size: BigInt(s.size),
            misses: int(s.misses),
          }
        })
        this.#deals.set(deal.dealId, deal)
      }
    } catch {
      this.#deals.clear()
      return
    }
    this.#cursor = cursor
    this.#savedCursor = cursor
  }

  /**
   * Reads the Market's events of the blocks after the cursor up to `head` (in windows), applies them, and saves the
   * book when it changed (or its cursor is older than CHAIN_STATE_SAVE_MS). Returns the events applied.
   */
  async sync(head: bigint, epoch: number, options: { signal?: AbortSignal } = {}): Promise<ChainEvent[]> {
    const applied: ChainEvent[] = []
    if (head > this.#cursor) {
      await readChainLogs(
        this.#init.reader,
        { contract: 'market', fromBlock: this.#cursor + 1n, toBlock: head },
        {
          ...options,
          onWindow: async (to, events) => {
            for (const event of events) if (this.#apply(event)) applied.push(event)
            this.#cursor = to
            if (events.length > 0) this.#dirty = true
            // a long history is saved as it goes: a restart during the first read does not start over
            if (monotonicNow() - this.#savedAt > CHAIN_STATE_SAVE_MS) await this.save()
          },
        },
      )
    }
    for (const id of this.#refresh) {
      const [dealId, index] = id.split(':')
      const slot = this.#deals.get(BigInt(dealId ?? 0))?.slots[Number(index)]
      if (slot !== undefined) {
        const read = await getSlot(
          this.#init.reader,
          { dealId: BigInt(dealId ?? 0), slotIndex: slot.index },
          {
            ...options,
            blockNumber: head,
          },
        )
        Object.assign(slot, { node: read.node, state: read.state, nextEpoch: read.nextEpoch, misses: read.misses })
      }
      this.#refresh.delete(id)
    }
    this.#prune(epoch)
    if (this.#dirty || (this.#cursor !== this.#savedCursor && monotonicNow() - this.#savedAt > CHAIN_STATE_SAVE_MS)) {
      await this.save()
    }
    return applied
  }

  /** Writes the book and its cursor durably (one file, replaced atomically). */
  async save(): Promise<void> {
    const state: SavedState = {
      format: STATE_FORMAT,
      chainId: this.#init.chainId,
      market: this.#init.reader.contracts.market,
      cursor: this.#cursor.toString(),
      deals: [...this.#deals.values()].map((d) => ({
        dealId: d.dealId.toString(),
        owner: d.owner,
        manifestCid: d.manifestCid,
        startEpoch: d.startEpoch,
        endEpoch: d.endEpoch,
        slots: Array.from({ length: d.slots.length }, (_, i) => {
          const s = d.slots[i]
          return s === undefined
            ? null
            : {
                node: s.node,
                state: s.state,
                nextEpoch: s.nextEpoch,
                root: s.root,
                size: String(s.size),
                misses: s.misses,
              }
        }),
      })),
    }
    await writeJsonState(join(this.#init.dataDir, CHAIN_STATE_FILE), state)
    crashPoint('chain-cursor:saved')
    this.#savedCursor = this.#cursor
    this.#savedAt = monotonicNow()
    this.#dirty = false
  }

  /** The slots `node` holds or is named for (not open), in running deals, by deal then slot. */
  heldBy(node: Address): HeldSlot[] {
    const me = node.toLowerCase()
    const held: HeldSlot[] = []
    for (const deal of [...this.#deals.values()].sort((a, b) => (a.dealId < b.dealId ? -1 : 1))) {
      for (const slot of deal.slots) {
        if (slot !== undefined && slot.node.toLowerCase() === me && slot.state !== 'open')
          held.push({ dealId: deal.dealId, slot, deal })
      }
    }
    return held
  }

  /** Every running deal (for the watcher: read from memory, no chain read). */
  deals(): Iterable<BookDeal> {
    return this.#deals.values()
  }

  /** The running deals of a file (by manifest CID). */
  dealsOf(manifestCid: string): BookDeal[] {
    return [...this.#deals.values()].filter((d) => d.manifestCid === manifestCid)
  }

  /** Applies one Market event; true when it changed the book. */
  #apply(event: ChainEvent): boolean {
    const a = event.args
    const dealId = a.dealId === undefined ? undefined : BigInt(a.dealId as bigint)
    if (event.eventName === 'DealCreated' && dealId !== undefined) {
      // the Market logs each SlotAssigned before its DealCreated: the slots are already in the book
      const slots = this.#deals.get(dealId)?.slots ?? []
      const startEpoch = int(a.startEpoch)
      for (const slot of slots) if (slot !== undefined) slot.nextEpoch = startEpoch
      this.#deals.set(dealId, {
        dealId,
        owner: text(a.owner) as Address,
        manifestCid: manifestOf(a.manifestCid),
        startEpoch,
        endEpoch: int(a.endEpoch),
        slots,
      })
      return true
    }
    if (event.eventName === 'SlotAssigned' && dealId !== undefined && !this.#deals.has(dealId)) {
      const placeholder = '0x0000000000000000000000000000000000000000'
      this.#deals.set(dealId, { dealId, owner: placeholder, manifestCid: '', startEpoch: 0, endEpoch: 0, slots: [] })
    }
    const deal = dealId === undefined ? undefined : this.#deals.get(dealId)
    if (deal === undefined) return false
    const index = a.slot === undefined ? undefined : int(a.slot)
    const slot = index === undefined ? undefined : deal.slots[index]
    switch (event.eventName) {
      case 'SlotAssigned':
        if (index === undefined) return false
        deal.slots[index] = {
          index,
          node: text(a.node) as Address,
          state: 'pending',
          nextEpoch: deal.startEpoch,
          root: text(a.root) as Hex,
          size: BigInt(a.size as bigint),
          misses: 0,
        }
        return true
      case 'SlotConfirmed':
        if (slot === undefined) return false
        slot.state = 'active'
        slot.nextEpoch = int(a.fromEpoch)
        return true
      case 'ProofAccepted':
        if (slot === undefined) return false
        slot.nextEpoch = int(a.epoch) + 1
        slot.misses = 0
        return true
      case 'ProofMissed':
        if (slot === undefined) return false
        slot.nextEpoch = int(a.epoch) + 1
        slot.misses = int(a.misses)
        return true
      case 'SlotOpened':
        if (slot === undefined) return false
        slot.state = 'open'
        return true
      case 'SlotRepaired':
        if (slot === undefined) return false
        slot.node = text(a.node) as Address
        slot.state = 'active'
        slot.misses = 0
        // the repairer's next epoch follows the repair's epoch, which the event does not carry: read once
        this.#refresh.add(`${deal.dealId}:${slot.index}`)
        return true
      case 'DealToppedUp':
      case 'DealEnded':
        deal.endEpoch = int(a.endEpoch)
        return true
      case 'DealClosed':
        this.#deals.delete(deal.dealId)
        return true
      default:
        return false
    }
  }

  /** Deals ended a few epochs ago leave the book (their last misses are reported by then). */
  #prune(epoch: number): void {
    for (const [id, deal] of this.#deals) {
      if (epoch > deal.endEpoch + ENDED_DEAL_EPOCHS) {
        this.#deals.delete(id)
        this.#dirty = true
      }
    }
  }
}
