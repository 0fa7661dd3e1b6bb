/**
 * Prometheus metrics of one storage node (`cairn_node_*`), on a prom-client registry of its own (never the global
 * one), so that several nodes in one process (tests, benchmarks) keep separate figures. The control API serves them
 * at `GET /metrics`.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { TOKEN_DECIMALS } from '../chain/index.ts'
import type { PieceStore } from '../storage/index.ts'
import type { ChainServiceEvent } from './chain-service/index.ts'
import type { PeerState, PeerView } from './interface.ts'
import type { RepairEvent } from './repair/index.ts'

/** Metric names, for dashboards and alert rules (the `_total` counters as the text exposition spells them). */
export const NODE_METRIC_NAMES = {
  info: 'cairn_node_info',
  piecesStored: 'cairn_node_pieces_stored',
  usedBytes: 'cairn_node_used_bytes',
  quotaBytes: 'cairn_node_quota_bytes',
  freeBytes: 'cairn_node_free_bytes',
  piecesReceived: 'cairn_node_pieces_received_total',
  piecesServed: 'cairn_node_pieces_served_total',
  receivedBytes: 'cairn_node_received_bytes_total',
  servedBytes: 'cairn_node_served_bytes_total',
  pieceErrors: 'cairn_node_piece_errors_total',
  pieceSeconds: 'cairn_node_piece_duration_seconds',
  peers: 'cairn_node_peers',
  slotRepairs: 'cairn_node_slot_repairs_total',
  slotRepairsRunning: 'cairn_node_slot_repairs_running',
  rebuiltBytes: 'cairn_node_repair_rebuilt_bytes_total',
  piecesHealed: 'cairn_node_pieces_healed_total',
  pieceHealsFailed: 'cairn_node_piece_heals_failed_total',
  slotsLost: 'cairn_node_slots_lost_total',
  slotsAdopted: 'cairn_node_slots_adopted_total',
  proofsAccepted: 'cairn_node_proofs_accepted_total',
  proofErrors: 'cairn_node_proof_errors_total',
  chainErrors: 'cairn_node_chain_errors_total',
  slotsConfirmed: 'cairn_node_slots_confirmed_total',
  slotsRefused: 'cairn_node_slots_refused_total',
  missesReported: 'cairn_node_misses_reported_total',
  repairsClaimed: 'cairn_node_repairs_claimed_total',
  withdrawals: 'cairn_node_withdrawals_total',
  withdrawnTokens: 'cairn_node_withdrawn_tokens_total',
} as const

/** Buckets (seconds) of the piece store's put/get time as the network sees it. */
const PIECE_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const PEER_STATES: readonly PeerState[] = ['alive', 'suspect', 'dead']

/** Label values of `cairn_node_chain_errors_total{action}`: the first word of a `chain:error` event's action. */
const CHAIN_ERROR_ACTIONS = ['tick', 'slot', 'repair', 'other'] as const

export interface NodeMetricsComponents {
  /** Read at scrape time for the stored pieces, used bytes and quota gauges. */
  pieceStore: Pick<PieceStore, 'usage'>
  /** The failure detector's view, read at scrape time (empty before the network starts). */
  peers: () => PeerView[]
  /** The node's peer ID for `cairn_node_info` ('' before the network starts). */
  peerId: () => string
  /** Bytes the node can still take (quota left, capped by the disk); the gauge is left out when absent. */
  freeSpace?: () => number
}

export interface NodeMetricsInit {
  /** `cairn_node_info{version}`; default: package.json's version as the caller passes it, else '0.0.0'. */
  version?: string
  /** Adds prom-client's process_* and nodejs_* metrics to the node's registry; default true. */
  defaultMetrics?: boolean
  /** Labels on every metric, e.g. `{ node: 'node-3' }`. */
  labels?: Record<string, string>
}

/** The metrics of one storage node and the hooks that feed them. */
export interface NodeMetrics {
  readonly registry: Registry
  /** Content type of `text()` (Prometheus text exposition 0.0.4). */
  readonly contentType: string
  /** The Prometheus text exposition (gauges are read from the components now). */
  text(): Promise<string>
  /**
   * Wraps the store the network serves: a successful `put` counts as a piece received, a successful `get` as a piece
   * served (with their bytes); failures count in `cairn_node_piece_errors_total{operation,code}`.
   */
  meterPieceStore(store: PieceStore): PieceStore
  /** Feeds the repair counters; pass as (or call from) the repair service's `onProgress`. */
  onRepairEvent(event: RepairEvent): void
  /** Feeds the chain counters; pass as (or call from) the chain service's `onEvent`. */
  onChainEvent(event: ChainServiceEvent): void
}

/**
 * Creates a storage node's metrics on a registry of its own.
 *
 * @example
 * ```ts
 * const metrics = createNodeMetrics({ pieceStore: store, peers: () => network.peers(), peerId: () => network.peerId })
 * const network = createNetwork({ pieceStore: metrics.meterPieceStore(store) }, networkInit)
 * const repair = createRepairService(components, { onProgress: (event) => metrics.onRepairEvent(event) })
 * console.log(await metrics.text()) // cairn_node_pieces_stored 3 ...
 * ```
 */
export function createNodeMetrics(components: NodeMetricsComponents, init: NodeMetricsInit = {}): NodeMetrics {
  const registry = new Registry()
  if (init.labels !== undefined) registry.setDefaultLabels(init.labels)
  if (init.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const version = init.version ?? '0.0.0'
  const counter = (name: string, help: string) => new Counter({ name, help, registers })

  new Gauge({
    name: NODE_METRIC_NAMES.info,
    help: 'Build and identity of the node (always 1)',
    labelNames: ['version', 'peer_id'] as const,
    registers,
    collect() {
      this.reset()
      this.set({ version, peer_id: components.peerId() }, 1)
    },
  })
  new Gauge({
    name: NODE_METRIC_NAMES.piecesStored,
    help: 'Pieces held in the piece store',
    registers,
    collect() {
      this.set(components.pieceStore.usage().pieces)
    },
  })
  new Gauge({
    name: NODE_METRIC_NAMES.usedBytes,
    help: 'Bytes of piece data held in the piece store',
    registers,
    collect() {
      this.set(components.pieceStore.usage().bytes)
    },
  })
  new Gauge({
    name: NODE_METRIC_NAMES.quotaBytes,
    help: 'Quota of the piece store in bytes (+Inf when unlimited)',
    registers,
    collect() {
      this.set(components.pieceStore.usage().quota)
    },
  })
  const freeSpace = components.freeSpace
  if (freeSpace !== undefined) {
    new Gauge({
      name: NODE_METRIC_NAMES.freeBytes,
      help: 'Bytes the node can still take: the quota left, capped by the free disk space',
      registers,
      collect() {
        this.set(freeSpace())
      },
    })
  }
  /** Slot repairs started and not yet done or failed, by manifestCid:slot. */
  const running = new Set<string>()
  new Gauge({
    name: NODE_METRIC_NAMES.slotRepairsRunning,
    help: 'Slot repairs this node is running now',
    registers,
    collect() {
      this.set(running.size)
    },
  })
  new Gauge({
    name: NODE_METRIC_NAMES.peers,
    help: 'Known storage peers by failure-detector state',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const counts: Record<PeerState, number> = { alive: 0, suspect: 0, dead: 0 }
      for (const peer of components.peers()) counts[peer.state]++
      for (const state of PEER_STATES) this.set({ state }, counts[state])
    },
  })

  const piecesReceived = counter(
    NODE_METRIC_NAMES.piecesReceived,
    'Pieces stored on request of other nodes and clients',
  )
  const piecesServed = counter(NODE_METRIC_NAMES.piecesServed, 'Pieces read and sent to other nodes and clients')
  const receivedBytes = counter(NODE_METRIC_NAMES.receivedBytes, 'Bytes of the pieces received and stored')
  const servedBytes = counter(NODE_METRIC_NAMES.servedBytes, 'Bytes of the pieces served')
  const pieceErrors = new Counter({
    name: NODE_METRIC_NAMES.pieceErrors,
    help: 'Failed piece puts and gets asked over the network, by operation and error code',
    labelNames: ['operation', 'code'] as const,
    registers,
  })
  const pieceSeconds = new Histogram({
    name: NODE_METRIC_NAMES.pieceSeconds,
    help: 'Time the piece store took to put or get a piece asked over the network',
    labelNames: ['operation'] as const,
    buckets: PIECE_SECONDS_BUCKETS,
    registers,
  })
  for (const operation of ['put', 'get']) pieceSeconds.zero({ operation })

  const slotRepairs = new Counter({
    name: NODE_METRIC_NAMES.slotRepairs,
    help: 'Slot repairs this node ran, by outcome (done, failed)',
    labelNames: ['outcome'] as const,
    registers,
  })
  for (const outcome of ['done', 'failed']) slotRepairs.inc({ outcome }, 0)
  const rebuiltBytes = counter(
    NODE_METRIC_NAMES.rebuiltBytes,
    'Bytes of pieces rebuilt and sent by finished slot repairs',
  )
  const piecesHealed = counter(NODE_METRIC_NAMES.piecesHealed, 'Pieces found missing or corrupt on disk and rebuilt')
  const pieceHealsFailed = counter(
    NODE_METRIC_NAMES.pieceHealsFailed,
    'Missing or corrupt pieces that could not be rebuilt',
  )
  const slotsLost = counter(NODE_METRIC_NAMES.slotsLost, 'Slots seen without a live holder (files this node shares)')
  const slotsAdopted = counter(NODE_METRIC_NAMES.slotsAdopted, 'Slots another node rebuilt onto this node')

  const proofsAccepted = counter(NODE_METRIC_NAMES.proofsAccepted, 'Storage proofs the Market accepted')
  const proofErrors = counter(
    NODE_METRIC_NAMES.proofErrors,
    'Slots whose confirmation or proof failed (rejected, not buildable, transaction failed); retried while the epoch lasts',
  )
  const chainErrors = new Counter({
    name: NODE_METRIC_NAMES.chainErrors,
    help: 'Errors of the chain service by action (tick, slot, repair, other)',
    labelNames: ['action'] as const,
    registers,
  })
  for (const action of CHAIN_ERROR_ACTIONS) chainErrors.inc({ action }, 0)
  const slotsConfirmed = counter(NODE_METRIC_NAMES.slotsConfirmed, 'Deal slots this node confirmed holding')
  const slotsRefused = counter(NODE_METRIC_NAMES.slotsRefused, 'Deal slots not confirmed yet: pieces missing or wrong')
  const missesReported = counter(NODE_METRIC_NAMES.missesReported, "Other nodes' missed proofs this node reported")
  const repairsClaimed = counter(
    NODE_METRIC_NAMES.repairsClaimed,
    'Slots taken over on chain after an off-chain repair',
  )
  const withdrawals = counter(NODE_METRIC_NAMES.withdrawals, 'Withdrawals of earnings and rewards')
  const withdrawnTokens = counter(NODE_METRIC_NAMES.withdrawnTokens, 'Tokens withdrawn (earnings plus rewards)')

  const timed = async <T>(operation: 'put' | 'get', run: () => Promise<T>): Promise<T> => {
    const end = pieceSeconds.startTimer({ operation })
    try {
      return await run()
    } catch (error) {
      pieceErrors.inc({ operation, code: errorCode(error) })
      throw error
    } finally {
      end()
    }
  }

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    meterPieceStore(store) {
      return {
        put: (cid, bytes, options) =>
          timed('put', async () => {
            await store.put(cid, bytes, options)
            piecesReceived.inc()
            receivedBytes.inc(bytes.byteLength)
          }),
        get: (cid, options) =>
          timed('get', async () => {
            const bytes = await store.get(cid, options)
            piecesServed.inc()
            servedBytes.inc(bytes.byteLength)
            return bytes
          }),
        has: (cid, options) => store.has(cid, options),
        delete: (cid, options) => store.delete(cid, options),
        list: (options) => store.list(options),
        usage: () => store.usage(),
      }
    },
    onRepairEvent(event) {
      switch (event.type) {
        case 'repair:start':
          running.add(`${event.manifestCid}:${event.slot}`)
          return
        case 'repair:done':
          running.delete(`${event.manifestCid}:${event.slot}`)
          slotRepairs.inc({ outcome: 'done' })
          rebuiltBytes.inc(event.bytes)
          return
        case 'repair:failed':
          running.delete(`${event.manifestCid}:${event.slot}`)
          slotRepairs.inc({ outcome: 'failed' })
          return
        case 'repair:piece-healed':
          piecesHealed.inc()
          return
        case 'repair:piece-failed':
          pieceHealsFailed.inc()
          return
        case 'repair:slot-lost':
          slotsLost.inc()
          return
        case 'repair:adopted':
          slotsAdopted.inc()
          return
        default:
      }
    },
    onChainEvent(event) {
      switch (event.type) {
        case 'chain:proved':
          proofsAccepted.inc()
          return
        case 'chain:error': {
          const word = event.action.split(' ')[0] ?? ''
          const action = (CHAIN_ERROR_ACTIONS as readonly string[]).includes(word) ? word : 'other'
          chainErrors.inc({ action })
          if (action === 'slot') proofErrors.inc()
          return
        }
        case 'chain:confirmed':
          slotsConfirmed.inc()
          return
        case 'chain:refused':
          slotsRefused.inc()
          return
        case 'chain:reported':
          missesReported.inc()
          return
        case 'chain:repaired':
          repairsClaimed.inc()
          return
        case 'chain:withdrew':
          withdrawals.inc()
          withdrawnTokens.inc(tokens(event.earnings) + tokens(event.rewards))
          return
        default:
      }
    },
  }
}

/** A bounded label value for a failure: the error's stable code (`ERR_QUOTA_EXCEEDED`, `ENOSPC`...), else ERR_UNKNOWN. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,47}$/.test(code) ? code : 'ERR_UNKNOWN'
}

/** Whole tokens from a decimal string of token units (precision of a double: fine for a dashboard). */
function tokens(units: string): number {
  try {
    const value = BigInt(units)
    const scale = 10n ** BigInt(TOKEN_DECIMALS)
    return Number(value / scale) + Number(value % scale) / Number(scale)
  } catch {
    return 0
  }
}
