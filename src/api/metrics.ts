/**
 * Prometheus metrics of a Cairn process (prom-client), on a registry of its own so that several nodes in one
 * process (tests) do not clash. Served as text at `/metrics` by the gateway and by a storage node's control API.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { PeerState } from './interface.ts'

export interface CairnMetrics {
  readonly registry: Registry
  /** Pieces held by this node's piece store. */
  readonly piecesStored: Gauge
  readonly bytesStored: Gauge
  /** Bytes received / sent (`kind`: api, s3, piece). */
  readonly bytesIn: Counter<'kind'>
  readonly bytesOut: Counter<'kind'>
  readonly putSeconds: Histogram
  readonly getSeconds: Histogram
  readonly peers: Gauge<'state'>
  readonly proofsMade: Counter
  readonly proofsMissed: Counter
  /** `outcome`: started, finished, failed. */
  readonly repairs: Counter<'outcome'>
  /** Tokens earned (whole tokens, not the smallest unit). */
  readonly earnings: Gauge
  readonly httpRequests: Counter<'method' | 'route' | 'status'>
  readonly httpSeconds: Histogram<'method' | 'route'>
  /** Sets `cairn_peers{state}` from a list of detector verdicts. */
  setPeers(states: Iterable<PeerState>): void
  /** Prometheus text exposition. */
  text(): Promise<string>
  readonly contentType: string
}

export interface MetricsInit {
  /** Adds process_* and nodejs_* metrics; default true. */
  defaultMetrics?: boolean
  /** Labels on every metric, e.g. `{ node: 'node-3' }`. */
  labels?: Record<string, string>
}

/** Metric names, for dashboards and alert rules. */
export const METRIC_NAMES = {
  piecesStored: 'cairn_pieces_stored',
  bytesStored: 'cairn_bytes_stored',
  bytesIn: 'cairn_bytes_in_total',
  bytesOut: 'cairn_bytes_out_total',
  putSeconds: 'cairn_put_duration_seconds',
  getSeconds: 'cairn_get_duration_seconds',
  peers: 'cairn_peers',
  proofsMade: 'cairn_proofs_made_total',
  proofsMissed: 'cairn_proofs_missed_total',
  repairs: 'cairn_repairs_total',
  earnings: 'cairn_earnings_tokens',
  httpRequests: 'cairn_http_requests_total',
  httpSeconds: 'cairn_http_request_duration_seconds',
} as const

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

/**
 * @example
 * ```ts
 * const metrics = createMetrics({ labels: { node: 'node-1' } })
 * metrics.proofsMade.inc()
 * const end = metrics.putSeconds.startTimer(); await put(); end()
 * console.log(await metrics.text())
 * ```
 */
export function createMetrics(init: MetricsInit = {}): CairnMetrics {
  const registry = new Registry()
  if (init.labels !== undefined) registry.setDefaultLabels(init.labels)
  if (init.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const peers = new Gauge({
    name: METRIC_NAMES.peers,
    help: 'Known peers by failure-detector state',
    labelNames: ['state'] as const,
    registers,
  })
  for (const state of ['alive', 'suspect', 'dead']) peers.set({ state }, 0)
  const metrics: CairnMetrics = {
    registry,
    piecesStored: new Gauge({ name: METRIC_NAMES.piecesStored, help: 'Pieces held in the piece store', registers }),
    bytesStored: new Gauge({ name: METRIC_NAMES.bytesStored, help: 'Bytes of piece data held', registers }),
    bytesIn: new Counter({
      name: METRIC_NAMES.bytesIn,
      help: 'Bytes received',
      labelNames: ['kind'] as const,
      registers,
    }),
    bytesOut: new Counter({
      name: METRIC_NAMES.bytesOut,
      help: 'Bytes sent',
      labelNames: ['kind'] as const,
      registers,
    }),
    putSeconds: new Histogram({
      name: METRIC_NAMES.putSeconds,
      help: 'Time to store a file',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    getSeconds: new Histogram({
      name: METRIC_NAMES.getSeconds,
      help: 'Time to read a file or range',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    peers,
    proofsMade: new Counter({ name: METRIC_NAMES.proofsMade, help: 'Storage proofs submitted', registers }),
    proofsMissed: new Counter({ name: METRIC_NAMES.proofsMissed, help: 'Storage proofs missed', registers }),
    repairs: new Counter({
      name: METRIC_NAMES.repairs,
      help: 'Slot repairs by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    earnings: new Gauge({ name: METRIC_NAMES.earnings, help: 'Tokens earned so far', registers }),
    httpRequests: new Counter({
      name: METRIC_NAMES.httpRequests,
      help: 'HTTP requests answered',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    httpSeconds: new Histogram({
      name: METRIC_NAMES.httpSeconds,
      help: 'HTTP answer time (until headers for streams)',
      labelNames: ['method', 'route'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    setPeers(states) {
      const counts = { alive: 0, suspect: 0, dead: 0 }
      for (const state of states) counts[state]++
      for (const [state, count] of Object.entries(counts)) peers.set({ state }, count)
    },
    text: () => registry.metrics(),
    contentType: registry.contentType,
  }
  return metrics
}
