/**
 * A storage node's life on the chain: it registers (or updates) its Registry entry and stakes, confirms the slots it
 * was named for once it checked it holds them, proves every held slot every epoch, takes over the slots it rebuilt,
 * reports the missed proofs of other nodes (the watcher role), and withdraws its earnings when they are worth a
 * transaction, and closes the ended deals it held slots of. Each duty lives in its own file; this one runs them in turn on every tick.
 */
import { join } from 'node:path'
import type { Address } from 'viem'
import { type ChainClient, createChainClient, type EpochInfo, marketAbi } from '../../chain/index.ts'
import type { AbortOptions } from '../index.ts'
import { monotonicNow } from '../monotonic-clock.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import { SlotClaims } from './claim-slots.ts'
import { DealCloser } from './close-deals.ts'
import { SlotConfirmer } from './confirm-slots.ts'
import { DEFAULT_CHAIN_POLL_MS, SLOT_CACHE_DIR } from './constants.ts'
import type { ChainService, ChainServiceComponents, ChainServiceInit, MarketView } from './interface.ts'
import { StandingKeeper } from './keep-standing.ts'
import { MarketBook } from './market-book.ts'
import { proveDueSlots } from './prove-slots.ts'
import { createSlotProver } from './slot-prover.ts'
import { SlotWatcher } from './watch-slots.ts'
import { EarningsWithdrawer } from './withdraw-earnings.ts'

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
  readonly #init: ChainServiceInit
  readonly #context: ChainDutyContext
  readonly #controller = new AbortController()
  #loop: Promise<void> | undefined
  readonly #confirmer: SlotConfirmer
  readonly #claims: SlotClaims
  readonly #watcher: SlotWatcher
  readonly #withdrawer: EarningsWithdrawer
  readonly #standing: StandingKeeper
  readonly #book: MarketBook
  readonly #closer: DealCloser
  /** The book's epoch and time of its last successful read in this process. */
  #read: { epoch: number; chainTime: number; at: number } | undefined
  /** The Market's genesis and epoch length (immutable: read once). */
  #clock: Promise<{ genesis: number; epochSeconds: number }> | undefined

  constructor(components: ChainServiceComponents, init: ChainServiceInit) {
    this.#init = init
    this.client = createChainClient({
      rpcUrl: init.rpcUrl,
      ...(init.fallbackRpcUrls === undefined ? {} : { fallbackRpcUrls: init.fallbackRpcUrls }),
      chainId: init.chainId,
      privateKey: init.privateKey,
      contracts: init.contracts,
      ...(init.logBlockRange === undefined ? {} : { logBlockRange: init.logBlockRange }),
    })
    this.#book = new MarketBook({
      reader: this.client,
      chainId: init.chainId,
      dataDir: init.dataDir,
      fromBlock: init.fromBlock ?? 0n,
    })
    this.account = this.client.account.address
    this.#context = {
      client: this.client,
      account: this.account,
      components,
      init,
      prover: createSlotProver(
        {
          pieceStore: components.pieceStore,
          ...(components.pieceLeaves === undefined ? {} : { pieceLeaves: components.pieceLeaves }),
        },
        { cacheDir: join(init.dataDir, SLOT_CACHE_DIR) },
      ),
      emit: init.onEvent ?? (() => {}),
      provedEpoch: new Map(),
      healing: new Set(),
      missedEpoch: new Map(),
    }
    this.#confirmer = new SlotConfirmer(this.#context)
    this.#claims = new SlotClaims({ ...this.#context, dealsOf: (manifestCid) => this.#book.dealsOf(manifestCid) })
    this.#watcher = new SlotWatcher({
      ...this.#context,
      deals: () => this.#book.deals(),
      offerToTake: (manifestCid, slot, signal) => this.#claims.offerToTake(manifestCid, slot, signal),
    })
    this.#withdrawer = new EarningsWithdrawer(this.#context)
    this.#standing = new StandingKeeper(this.#context)
    this.#closer = new DealCloser(this.#context)
  }

  marketView(): MarketView | undefined {
    const read = this.#read
    if (read === undefined) return undefined
    return {
      account: this.account,
      epoch: read.epoch,
      chainTime: read.chainTime,
      readAt: read.at,
      deals: () => this.#book.deals(),
    }
  }

  async claimSlot(params: { manifestCid: string; slot: number }, _options: AbortOptions = {}): Promise<void> {
    await this.#claims.add(params)
  }

  async start(): Promise<void> {
    const signal = this.#controller.signal
    await this.#claims.load()
    await this.#book.load()
    await this.#standing.enter(signal)
    this.#loop = this.#run()
  }

  async stop(): Promise<void> {
    this.#controller.abort()
    await this.#loop?.catch(() => {})
    await this.#book.save().catch(() => {})
  }

  async #run(): Promise<void> {
    const signal = this.#controller.signal
    const pollMs = this.#init.pollMs ?? DEFAULT_CHAIN_POLL_MS
    while (!signal.aborted) {
      try {
        await this.#tick(signal)
      } catch (error) {
        if (signal.aborted) return
        this.#context.emit({ type: 'chain:error', action: 'tick', message: (error as Error).message })
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

  /**
   * One round of every duty: the latest block (its number and time: the epoch), the Market's events of the blocks
   * added since the last round (the book), then confirm, prove, claim, watch, close, withdraw, standing. An idle round is
   * one eth_getBlockByNumber and, when a block was added, one eth_getLogs.
   */
  async #tick(signal: AbortSignal): Promise<void> {
    const { info, head } = await this.#epochInfo(signal)
    await this.#book.sync(head, info.epoch, { signal })
    this.#read = { epoch: info.epoch, chainTime: info.now, at: monotonicNow() }
    const held = this.#book.heldBy(this.account)
    // Confirms pending slots and lists the due ones, then proves every due slot at once: one batch transaction
    // (per DEFAULT_MAX_PROOFS_PER_TRANSACTION slots) instead of one transaction per slot.
    const due = await Promise.all(held.map((entry) => this.#confirmer.work(entry, info, signal)))
    await proveDueSlots(
      this.#context,
      due.filter((entry) => entry !== undefined),
      info.epoch,
      signal,
    )
    await this.#claims.tick(info, signal)
    if (this.#init.watcher !== false) await this.#watcher.tick(info, signal)
    await this.#closer.tick(info, this.#book.deals(), signal)
    await this.#withdrawer.tick(info, signal)
    await this.#standing.tick(info, signal)
  }

  /** The epoch as of the latest block, and that block's number: one read (the Market's clock is read once). */
  async #epochInfo(signal: AbortSignal): Promise<{ info: EpochInfo; head: bigint }> {
    const market = { address: this.client.contracts.market, abi: marketAbi } as const
    this.#clock ??= Promise.all([
      this.client.readContract({ ...market, functionName: 'genesis' }),
      this.client.readContract({ ...market, functionName: 'epochSeconds' }),
    ]).then(([genesis, epochSeconds]) => ({ genesis: Number(genesis), epochSeconds: Number(epochSeconds) }))
    this.#clock.catch(() => {
      this.#clock = undefined
    })
    const [{ genesis, epochSeconds }, block] = await Promise.all([
      this.#clock,
      this.client.getBlock({ blockTag: 'latest' }),
    ])
    signal.throwIfAborted()
    const now = Number(block.timestamp)
    const epoch = Math.floor((now - genesis) / epochSeconds)
    return {
      info: { epoch, genesis, epochSeconds, now, endsAt: genesis + (epoch + 1) * epochSeconds },
      head: block.number,
    }
  }
}
