import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { PieceStore } from '../storage/index.ts'
import type { NodeUsage, PeerView } from './interface.ts'

export interface ControlApiComponents {
  pieceStore: Pick<PieceStore, 'list' | 'usage'>
  /** The node's failure-detector view of its peers. */
  peers: () => PeerView[]
  /** Facts about the node for `/health`. */
  health: () => Record<string, unknown>
  /** Prometheus metrics for `/metrics` (a node's `createNodeMetrics`); absent: `/metrics` answers 404. */
  metrics?: { readonly contentType: string; text(): Promise<string> }
}

export interface ControlApiInit {
  /** 0 picks a free port. */
  port?: number
  /** Always a loopback address: the control API has no authentication. */
  host?: string
}

/** The node's local HTTP control API (read-only JSON, 127.0.0.1 only). */
export interface ControlApi {
  start(): Promise<string>
  stop(): Promise<void>
  readonly url: string
}

/**
 * Creates the local control API the CLI talks to:
 * `GET /health`, `GET /peers` (detector states), `GET /pieces[?limit=N]` (stored piece CIDs), `GET /usage`,
 * `GET /metrics` (Prometheus text, when `components.metrics` is given).
 *
 * @example
 * ```ts
 * const api = createControlApi({ pieceStore, peers: () => network.peers(), health: () => ({ peerId }) }, { port: 0 })
 * const url = await api.start() // http://127.0.0.1:41234
 * ```
 */
export function createControlApi(components: ControlApiComponents, init: ControlApiInit = {}): ControlApi {
  return new HttpControlApi(components, init)
}

class HttpControlApi implements ControlApi {
  readonly #components: ControlApiComponents
  readonly #port: number
  readonly #host: string
  #server: Server | undefined
  url = ''

  constructor(components: ControlApiComponents, init: ControlApiInit) {
    this.#components = components
    this.#port = init.port ?? 0
    this.#host = init.host ?? '127.0.0.1'
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { error: 'ERR_INTERNAL', message: String((err as Error)?.message ?? err) })
        else res.destroy()
      })
    })
    server.keepAliveTimeout = 1_000
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, this.#host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.#server = server
    const address = server.address() as AddressInfo
    this.url = `http://${this.#host}:${address.port}`
    return this.url
  }

  async stop(): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'ERR_METHOD', message: `${req.method} is not allowed: the control API is read-only` })
      return
    }
    switch (url.pathname) {
      case '/health':
        send(res, 200, { status: 'ok', ...this.#components.health() })
        return
      case '/peers':
        send(res, 200, this.#components.peers())
        return
      case '/usage': {
        const usage = this.#components.pieceStore.usage()
        const body: NodeUsage = {
          pieces: usage.pieces,
          bytes: usage.bytes,
          quota: Number.isFinite(usage.quota) ? usage.quota : null,
        }
        send(res, 200, body)
        return
      }
      case '/pieces': {
        const limitText = url.searchParams.get('limit')
        const limit = limitText === null ? Number.POSITIVE_INFINITY : Number(limitText)
        if (!(limit >= 0)) {
          send(res, 400, { error: 'ERR_INVALID_ARGUMENT', message: 'limit must be a non-negative number' })
          return
        }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"pieces":[')
        let count = 0
        for await (const cid of this.#components.pieceStore.list()) {
          if (count >= limit) break
          const ok = res.write(`${count === 0 ? '' : ','}"${cid.toString()}"`)
          count++
          if (!ok) await new Promise((resolve) => res.once('drain', resolve))
        }
        res.end(`],"count":${count}}\n`)
        return
      }
      case '/metrics': {
        const metrics = this.#components.metrics
        if (metrics === undefined) {
          send(res, 404, { error: 'ERR_NOT_FOUND', message: 'this control API serves no metrics' })
          return
        }
        const text = await metrics.text()
        res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) })
        res.end(text)
        return
      }
      default:
        send(res, 404, {
          error: 'ERR_NOT_FOUND',
          message: `no such endpoint ${url.pathname}: try /health, /peers, /pieces, /usage or /metrics`,
        })
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
