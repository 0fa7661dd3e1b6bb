/**
 * The gateway's read-only view of the chain: each node's stake, status, proofs and earnings, the deals (with the
 * protocol fees their proofs burned), the user's wallet and the bank (per epoch: rewards minted, fees burned,
 * payments), and live events (proofs, misses, repairs, payments) from the Market's logs. `withChainView` adds it to
 * any `FileService`.
 */
import type { Address } from 'viem'
import {
  type ChainEvent,
  type ChainReader,
  createEventLog,
  getBalances,
  getDeal,
  getNode,
  marketAbi,
  type NodeRecord,
  watchChainEvents,
} from '../chain/index.ts'
import { type DealSnapshot, readDeals } from '../client/index.ts'
import { NotFoundError } from '../errors.ts'
import type {
  AbortOptions,
  BankEpoch,
  BankInfo,
  CairnEvent,
  DealInfo,
  FileService,
  NodeChainState,
  WalletInfo,
} from './interface.ts'

export interface ChainViewInit {
  /** The user's account (wallet page, escrow); absent: no wallet. */
  account?: Address
  /** First block to read events from (the Market's deployment block). */
  fromBlock?: bigint
  /** Epochs of history in `bank()`. */
  historyEpochs?: number
  /** Most recent deals listed. */
  maxDeals?: number
  /** Results are reused this long (ms) so that pollers and pages share chain reads. */
  cacheMs?: number
}

export interface ChainView {
  /** True when an account is configured (`wallet()` answers). */
  readonly hasWallet: boolean
  /** Chain state of every registered node, by libp2p peer ID. */
  nodeStates(options?: AbortOptions): Promise<Map<string, NodeChainState>>
  deals(options?: AbortOptions): Promise<DealInfo[]>
  wallet(options?: AbortOptions): Promise<WalletInfo>
  bank(options?: AbortOptions): Promise<BankInfo>
  subscribe(listener: (event: CairnEvent) => void): () => void
}

const TOKEN = { symbol: 'CAIRN', decimals: 18 }
const PROOF_EVENTS = ['ProofAccepted', 'ProofMissed']

/** An epoch's rewards minted (`epochRewards`) and protocol fees burned (`epochFees`). */
interface EpochFigures {
  minted: bigint
  burned: bigint
}

/** The Market's proof and withdrawal events up to `blockNumber` (inclusive). */
interface MarketLog {
  blockNumber: bigint
  events: ChainEvent[]
}

function cached<T>(ms: number, load: (options: AbortOptions) => Promise<T>): (options?: AbortOptions) => Promise<T> {
  let entry: { at: number; value: Promise<T> } | undefined
  return (options = {}) => {
    const now = Date.now()
    if (entry === undefined || now - entry.at > ms) {
      const value = load(options)
      entry = { at: now, value }
      value.catch(() => {
        entry = undefined
      })
    }
    return entry.value
  }
}

/** A deal as the dashboard shows it (newest first), from the one deal read; `burned` is its proofs' fees. */
function toDealInfo({ view, owner, slots }: DealSnapshot, burned: bigint): DealInfo {
  return {
    id: view.dealId,
    manifest: view.manifestCid,
    size: view.size,
    k: view.k,
    n: view.n,
    client: owner,
    escrow: view.escrowLeft,
    paid: view.paidSoFar,
    burned: burned.toString(),
    startEpoch: view.startEpoch,
    endEpoch: view.endEpoch,
    status: view.closed ? 'closed' : view.slots.every((s) => s.state === 'active') ? 'active' : 'partial',
    slots: view.slots.map((slot, i) => {
      const lastProofEpoch = slots[i]?.lastProofEpoch
      return {
        slot: slot.index,
        provider: slot.holder,
        missed: slots[i]?.misses ?? 0,
        ...(slot.peerId === null ? {} : { peerId: slot.peerId }),
        ...(lastProofEpoch === undefined ? {} : { lastProofEpoch }),
      }
    }),
  }
}

const big = (value: unknown): bigint => (typeof value === 'bigint' ? value : BigInt(String(value ?? 0)))
const num = (value: unknown): number => Number(big(value))

/**
 * @example
 * ```ts
 * const chain = createChainView({ reader: createChainReader({ rpcUrl, chainId, contracts }) }, { account })
 * const files = withChainView(createCairnFileService({ client }), chain)
 * ```
 */
export function createChainView(components: { reader: ChainReader }, init: ChainViewInit = {}): ChainView {
  const { reader } = components
  const cacheMs = init.cacheMs ?? 1000
  const historyEpochs = init.historyEpochs ?? 30
  const maxDeals = init.maxDeals ?? 100
  const fromBlock = init.fromBlock ?? 0n
  const market = { address: reader.contracts.market, abi: marketAbi } as const

  // The Market's proofs and withdrawals up to one block, and that block: the node and bank figures read everything
  // else at it too, so that a proof or a withdrawal landing mid-read cannot make them drop between refreshes.
  // Both logs are read once from `fromBlock` (in block windows) and then only the blocks added since: no call reads
  // the whole history again.
  const proofLog = createEventLog(reader, { contract: 'market', eventNames: [...PROOF_EVENTS, 'Withdrawn'], fromBlock })
  const registrations = createEventLog(reader, { contract: 'registry', eventNames: ['NodeRegistered'], fromBlock })
  const marketLog = cached(cacheMs, async (options): Promise<MarketLog> => {
    const blockNumber = await reader.getBlockNumber({ cacheTime: 0 })
    const events = await proofLog.readTo(blockNumber, options)
    return { blockNumber, events }
  })
  // Every account that ever registered (jailed and unbonding nodes too, which activeNodes leaves out).
  const registeredAccounts = cached(cacheMs, async (options): Promise<Address[]> => {
    const events = await registrations.readTo(await reader.getBlockNumber({ cacheTime: 0 }), options)
    return [...new Set(events.map((e) => String(e.args.node)))] as Address[]
  })

  async function registered(options: AbortOptions & { blockNumber?: bigint }): Promise<NodeRecord[]> {
    const accounts = await registeredAccounts(options)
    const nodes = await Promise.all(accounts.map((account) => getNode(reader, { account }, options)))
    return nodes.filter((node) => node.status !== 'none')
  }

  async function peerOfAccount(options: AbortOptions): Promise<Map<string, NodeRecord>> {
    const nodes = await registered(options)
    return new Map(nodes.map((node) => [node.account.toLowerCase(), node]))
  }

  const nodeStates = cached(cacheMs, async (options): Promise<Map<string, NodeChainState>> => {
    const { blockNumber, events } = await marketLog(options)
    const at = { ...options, blockNumber }
    const nodes = await registered(at)
    const made = new Map<string, number>()
    const withdrawn = new Map<string, bigint>()
    for (const event of events) {
      const node = String(event.args.node).toLowerCase()
      if (event.eventName === 'ProofAccepted') made.set(node, (made.get(node) ?? 0) + 1)
      if (event.eventName === 'Withdrawn') {
        withdrawn.set(node, (withdrawn.get(node) ?? 0n) + big(event.args.earnings) + big(event.args.rewards))
      }
    }
    const states = await Promise.all(
      nodes.map(async (node): Promise<[string, NodeChainState]> => {
        const account = node.account.toLowerCase()
        const balances = await getBalances(reader, { account: node.account }, at)
        const state: NodeChainState = {
          address: node.account,
          stake: node.stake.toString(),
          status: node.status,
          proofsMade: made.get(account) ?? 0,
          proofsMissed: node.missedProofs,
          // cumulative: what the Market owes it now plus all it withdrew (a withdrawal moves money, it earns none)
          earnings: (balances.earnings + balances.rewards + (withdrawn.get(account) ?? 0n)).toString(),
        }
        if (node.lastProvedEpoch !== undefined) state.lastProofEpoch = node.lastProvedEpoch
        return [node.peerId, state]
      }),
    )
    return new Map(states)
  })

  // A slot's size and price, and the Market's fee parameters, never change: each proof of a slot burns the same fee.
  const charges = new Map<string, Promise<bigint>>()
  function feeOf(size: number, price: string): Promise<bigint> {
    const key = `${size}/${price}`
    let fee = charges.get(key)
    if (fee === undefined) {
      fee = reader
        .readContract({ ...market, functionName: 'slotCharge', args: [BigInt(size), BigInt(price)] })
        .then(([, charged]) => charged)
      fee.catch(() => charges.delete(key))
      charges.set(key, fee)
    }
    return fee
  }

  // One read at one block (shared with `cairn deals`): escrow left, payments made and fees burned agree.
  const deals = cached(cacheMs, async (options): Promise<DealInfo[]> => {
    const snapshots = await readDeals(reader, { fromBlock, maxDeals }, options)
    const burned = await Promise.all(
      snapshots.map(async ({ view }) => {
        const fees = await Promise.all(
          view.slots.map(async (slot) =>
            slot.proofsMade === 0 ? 0n : BigInt(slot.proofsMade) * (await feeOf(slot.size, slot.pricePerByteEpoch)),
          ),
        )
        return fees.reduce((total, fee) => total + fee, 0n)
      }),
    )
    return snapshots.map((snapshot, i) => toDealInfo(snapshot, burned[i] ?? 0n)).reverse()
  })

  // What an epoch's rewards mint and the fees its proofs burned, as of `blockNumber`. Proofs are accepted only in
  // their own epoch, so a finished epoch's figures are final and read once; the running epoch's are read every time.
  const finished = new Map<number, Promise<EpochFigures>>()
  function figuresOf(epoch: number, running: number, blockNumber: bigint): Promise<EpochFigures> {
    const known = finished.get(epoch)
    if (known !== undefined) return known
    const read = (functionName: 'epochRewards' | 'epochFees'): Promise<bigint> =>
      reader.readContract({ ...market, functionName, args: [BigInt(epoch)], blockNumber }).then(big)
    const figures = Promise.all([read('epochRewards'), read('epochFees')]).then(([minted, burned]) => ({
      minted,
      burned,
    }))
    if (epoch < running) {
      finished.set(epoch, figures)
      figures.catch(() => finished.delete(epoch))
    }
    return figures
  }

  // Totals since genesis (not over the charted window, which slides), all as of the market log's block.
  const bank = cached(cacheMs, async (options): Promise<BankInfo> => {
    const { blockNumber, events } = await marketLog(options)
    const epoch = num(await reader.readContract({ ...market, functionName: 'currentEpoch', blockNumber }))
    // only epochs with an accepted proof burned fees, and so mint rewards
    const paidByEpoch = new Map<number, bigint>()
    for (const event of events) {
      if (event.eventName !== 'ProofAccepted') continue
      const proved = num(event.args.epoch)
      paidByEpoch.set(proved, (paidByEpoch.get(proved) ?? 0n) + big(event.args.payment))
    }
    const proven = [...paidByEpoch.keys()]
    const figures = new Map(
      await Promise.all(proven.map(async (e) => [e, await figuresOf(e, epoch, blockNumber)] as const)),
    )
    const first = Math.max(0, epoch - historyEpochs + 1)
    const history = Array.from({ length: epoch - first + 1 }, (_, i): BankEpoch => {
      const at = first + i
      return {
        epoch: at,
        minted: (figures.get(at)?.minted ?? 0n).toString(),
        burned: (figures.get(at)?.burned ?? 0n).toString(),
        paid: (paidByEpoch.get(at) ?? 0n).toString(),
      }
    })
    const sum = (values: Iterable<bigint>): string => [...values].reduce((total, v) => total + v, 0n).toString()
    const all = [...figures.values()]
    return {
      epoch,
      totalMinted: sum(all.map((f) => f.minted)),
      totalBurned: sum(all.map((f) => f.burned)),
      totalPaid: sum(paidByEpoch.values()),
      // the bank's budget: the most an epoch's rewards may mint, whatever fees are burned
      rewardPerEpoch: big(
        await reader.readContract({ ...market, functionName: 'emission', args: [BigInt(epoch)], blockNumber }),
      ).toString(),
      history,
    }
  })

  async function wallet(options: AbortOptions = {}): Promise<WalletInfo> {
    if (init.account === undefined) throw new NotFoundError('this gateway has no wallet (no account is configured)')
    const [balances, open] = await Promise.all([
      getBalances(reader, { account: init.account }, options),
      deals(options),
    ])
    const mine = open.filter((d) => d.client?.toLowerCase() === init.account?.toLowerCase() && d.status !== 'closed')
    return {
      address: init.account,
      balance: balances.tokens.toString(),
      gas: balances.ether.toString(),
      escrowLocked: mine.reduce((total, d) => total + BigInt(d.escrow), 0n).toString(),
      ...TOKEN,
    }
  }

  async function manifestsOf(events: ChainEvent[]): Promise<Map<string, string>> {
    const ids = new Set(
      events
        .filter((e) => e.eventName === 'SlotOpened' || e.eventName === 'SlotRepaired')
        .map((e) => big(e.args.dealId)),
    )
    const entries = await Promise.all(
      [...ids].map(async (dealId) => {
        try {
          return [dealId.toString(), (await getDeal(reader, { dealId })).manifestCid] as const
        } catch {
          return [dealId.toString(), ''] as const
        }
      }),
    )
    return new Map(entries)
  }

  function toCairnEvents(
    events: ChainEvent[],
    byAccount: Map<string, NodeRecord>,
    manifests: Map<string, string>,
  ): CairnEvent[] {
    const at = Date.now()
    const peer = (address: unknown): { peerId?: string } => {
      const peerId = byAccount.get(String(address).toLowerCase())?.peerId
      return peerId === undefined ? {} : { peerId }
    }
    const out: CairnEvent[] = []
    for (const event of events) {
      const a = event.args
      const dealId = big(a.dealId).toString()
      if (event.eventName === 'ProofAccepted') {
        out.push({ type: 'proof:submitted', at, dealId, slot: num(a.slot), epoch: num(a.epoch), ...peer(a.node) })
        out.push({
          type: 'payment',
          at,
          dealId,
          to: String(a.node),
          amount: big(a.payment).toString(),
          epoch: num(a.epoch),
        })
      } else if (event.eventName === 'ProofMissed') {
        out.push({ type: 'proof:missed', at, dealId, slot: num(a.slot), epoch: num(a.epoch), ...peer(a.node) })
      } else if (event.eventName === 'SlotOpened') {
        out.push({
          type: 'repair:started',
          at,
          manifest: manifests.get(dealId) ?? '',
          slot: num(a.slot),
          from: String(a.formerNode),
        })
      } else if (event.eventName === 'SlotRepaired') {
        out.push({
          type: 'repair:finished',
          at,
          manifest: manifests.get(dealId) ?? '',
          slot: num(a.slot),
          to: String(a.node),
          ok: true,
        })
      }
    }
    return out
  }

  return {
    hasWallet: init.account !== undefined,
    nodeStates,
    deals,
    wallet,
    bank,
    subscribe(listener) {
      return watchChainEvents(reader, {
        contract: 'market',
        eventNames: [...PROOF_EVENTS, 'SlotOpened', 'SlotRepaired'],
        onEvents: (events) => {
          Promise.all([peerOfAccount({}).catch(() => new Map<string, NodeRecord>()), manifestsOf(events)]).then(
            ([byAccount, manifests]) => {
              for (const event of toCairnEvents(events, byAccount, manifests)) listener(event)
            },
          )
        },
      })
    },
  }
}

/**
 * A `FileService` whose nodes carry their chain state and which answers deals, wallet and bank from the chain.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ files: withChainView(files, chain) }, { dataDir })
 * ```
 */
export function withChainView(files: FileService, chain: ChainView): FileService {
  const service: FileService = {
    put: (source, putInit, options) => files.put(source, putInit, options),
    get: (capability, range, options) => files.get(capability, range, options),
    stat: (capability, options) => files.stat(capability, options),
    status: (capability, options) => files.status(capability, options),
    list: (options) => files.list(options),
    find: (capability, options) => files.find(capability, options),
    forget: (capability, options) => files.forget(capability, options),
    adopt: (file) => files.adopt(file),
    async nodes(options = {}) {
      const [nodes, states] = await Promise.all([
        files.nodes(options),
        chain.nodeStates(options).catch(() => new Map<string, NodeChainState>()),
      ])
      return nodes.map((node) => {
        const state = states.get(node.peerId)
        return state === undefined ? node : { ...node, chain: state }
      })
    },
    deals: (options) => chain.deals(options),
    bank: (options) => chain.bank(options),
    subscribe(listener) {
      const stops = [files.subscribe?.(listener), chain.subscribe(listener)]
      return () => {
        for (const stop of stops) stop?.()
      }
    },
  }
  if (chain.hasWallet) service.wallet = (options) => chain.wallet(options)
  if (files.remove !== undefined) {
    const remove = files.remove.bind(files)
    service.remove = (capability, options) => remove(capability, options)
  }
  return service
}
