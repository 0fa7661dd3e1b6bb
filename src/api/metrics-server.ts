/** A tiny HTTP server answering `GET /metrics` for processes that run no gateway (storage nodes). */
import Fastify, { type FastifyInstance } from 'fastify'
import { DEFAULT_HOST } from './constants.ts'
import type { CairnMetrics } from './metrics.ts'

export interface MetricsServerInit {
  host?: string
  /** 0 picks a free port. */
  port?: number
}

export interface MetricsServer {
  start(): Promise<void>
  stop(): Promise<void>
  /** `http://host:port/metrics` once started. */
  readonly url: string
}

/**
 * @example
 * ```ts
 * const metrics = createMetrics({ labels: { node: 'node-2' } })
 * const server = createMetricsServer({ metrics }, { port: 9102 })
 * await server.start() // curl http://127.0.0.1:9102/metrics
 * ```
 */
export function createMetricsServer(
  components: { metrics: CairnMetrics },
  init: MetricsServerInit = {},
): MetricsServer {
  let app: FastifyInstance | undefined
  let url = ''
  return {
    get url() {
      return url
    },
    async start() {
      app = Fastify({ forceCloseConnections: true })
      app.get('/metrics', async (_request, reply) =>
        reply.type(components.metrics.contentType).send(await components.metrics.text()),
      )
      url = `${await app.listen({ host: init.host ?? DEFAULT_HOST, port: init.port ?? 0 })}/metrics`
    },
    async stop() {
      await app?.close()
      app = undefined
    },
  }
}
