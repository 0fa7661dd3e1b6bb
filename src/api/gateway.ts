/**
 * The gateway: `/api/v1`, `/metrics` and the dashboard on one port, the S3-compatible API on another, over any
 * `FileService`. Secrets, the index and staged multipart parts (`multipart/`) live in `init.dataDir`.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import { CairnError, InvalidArgumentError, NotFoundError, RateLimitedError, TooLargeError } from '../errors.ts'
import { createApiAuth } from './api-auth.ts'
import { type S3NamesComponents, startS3Catalog } from './bucket-catalog-names.ts'
import type { BucketCatalogSync } from './bucket-catalog-sync.ts'
import {
  API_PREFIX,
  DEFAULT_HOST,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_NODE_POLL_MS,
  DEFAULT_RATE_LIMIT_MAX,
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  DEFAULT_S3_REGION,
  DEFAULT_WATCH_FILES,
  DEFAULT_WATCH_INTERVAL_MS,
  MULTIPART_STAGING_FOLDER,
} from './constants.ts'
import { loadApiToken, loadS3Keys, writeGatewayState } from './credentials.ts'
import { errorBody } from './error-status.ts'
import { createEventHub } from './event-hub.ts'
import { type GatewayIndex, openGatewayIndex } from './gateway-database.ts'
import type { CairnEvent, Gateway, GatewayComponents, GatewayInit, PeerState } from './interface.ts'
import { type CairnMetrics, createMetrics } from './metrics.ts'
import { createMultipartStaging } from './multipart-staging.ts'
import { createPlacementWatcher, type PlacementWatcher } from './placement-watcher.ts'
import { registerApiRoutes } from './rest-api.ts'
import { registerS3Routes } from './s3/index.ts'
import { xmlError } from './s3-xml.ts'

export const GATEWAY_VERSION = '0.1.0'

function fastifyErrorToCairn(err: FastifyError): CairnError {
  if (err instanceof CairnError) return err
  if (err.statusCode === 413) return new TooLargeError(err.message)
  if (err.statusCode === 429) return new RateLimitedError(err.message)
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new InvalidArgumentError(err.message)
  }
  return err as unknown as CairnError
}

class CairnGateway implements Gateway {
  readonly #components: GatewayComponents & S3NamesComponents
  readonly #init: GatewayInit
  readonly #hub = createEventHub()
  readonly #metrics: CairnMetrics
  #token = ''
  #url = ''
  #s3Endpoint: string | undefined
  #api: FastifyInstance | undefined
  #s3: FastifyInstance | undefined
  #index: GatewayIndex | undefined
  #catalog: BucketCatalogSync | undefined
  #poller: NodeJS.Timeout | undefined
  #watcher: PlacementWatcher | undefined
  #unsubscribe: (() => void) | undefined
  readonly #peerStates = new Map<string, PeerState>()

  constructor(components: GatewayComponents & S3NamesComponents, init: GatewayInit) {
    this.#components = components
    this.#init = init
    this.#metrics = components.metrics ?? createMetrics()
  }

  get url(): string {
    return this.#url
  }

  get s3Endpoint(): string | undefined {
    return this.#s3Endpoint
  }

  get token(): string {
    return this.#token
  }

  publish(event: CairnEvent): void {
    if (event.type === 'node:state') {
      if (this.#peerStates.get(event.peerId) === event.state) return
      this.#peerStates.set(event.peerId, event.state)
    }
    if (event.type === 'proof:submitted') this.#metrics.proofsMade.inc()
    if (event.type === 'proof:missed') this.#metrics.proofsMissed.inc()
    if (event.type === 'repair:started') this.#metrics.repairs.inc({ outcome: 'started' })
    if (event.type === 'repair:finished') this.#metrics.repairs.inc({ outcome: event.ok ? 'finished' : 'failed' })
    this.#hub.publish(event)
  }

  async #pollNodes(): Promise<void> {
    try {
      const nodes = await this.#components.files.nodes({ signal: AbortSignal.timeout(10_000) })
      this.#metrics.setPeers(nodes.map((n) => n.state))
      for (const node of nodes) {
        const previous = this.#peerStates.get(node.peerId)
        if (previous === undefined) {
          this.#peerStates.set(node.peerId, node.state)
          continue
        }
        if (previous !== node.state) {
          this.publish({ type: 'node:state', at: Date.now(), peerId: node.peerId, state: node.state, previous })
        }
      }
    } catch {
      // the next poll retries; the API answers the error to whoever asks
    }
  }

  async start(): Promise<void> {
    const init = this.#init
    const host = init.host ?? DEFAULT_HOST
    const region = init.s3Region ?? DEFAULT_S3_REGION
    const maxUploadBytes = init.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES
    this.#token = await loadApiToken(init.dataDir)
    const auth = createApiAuth(this.#token)
    const keys = await loadS3Keys(init.dataDir)
    const index = openGatewayIndex(init.dataDir)
    this.#index = index
    // Files an earlier gateway listed in its own table move, once, into the user's record (durable before the drop).
    for (const file of index.legacyFiles()) await this.#components.files.adopt(file)
    index.dropLegacyFiles()
    const rateLimit =
      init.rateLimit === false
        ? undefined
        : {
            max: init.rateLimit?.max ?? DEFAULT_RATE_LIMIT_MAX,
            timeWindow: init.rateLimit?.windowMs ?? DEFAULT_RATE_LIMIT_WINDOW_MS,
          }

    // API, metrics and dashboard
    const api = Fastify({
      forceCloseConnections: true,
      exposeHeadRoutes: false,
      routerOptions: { maxParamLength: 2048 },
      logger: false,
    })
    this.#api = api
    api.removeAllContentTypeParsers()
    api.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
    if (rateLimit !== undefined) {
      await api.register(fastifyRateLimit, {
        ...rateLimit,
        errorResponseBuilder: (_request, context) =>
          new RateLimitedError(`too many requests: at most ${context.max} per ${context.after}; retry later`, {
            details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
          }),
      })
    }
    api.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched'
      this.#metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) })
      this.#metrics.httpSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000)
    })
    api.setErrorHandler((err: FastifyError, request, reply) => {
      const cairn = fastifyErrorToCairn(err)
      const { status, body } = errorBody(cairn)
      if (status >= 500) request.log.error({ err }, 'api request failed')
      if (reply.sent || reply.raw.headersSent) return
      if (cairn instanceof RateLimitedError) {
        const retry = cairn.details?.retryAfterSeconds
        if (typeof retry === 'number') reply.header('retry-after', String(retry))
      }
      reply.code(status).type('application/json').send(body)
    })
    registerApiRoutes(
      api,
      {
        files: this.#components.files,
        index,
        hub: this.#hub,
        metrics: this.#metrics,
        ...(this.#components.quote === undefined ? {} : { quote: this.#components.quote }),
      },
      {
        auth,
        publicReads: init.publicReads ?? false,
        maxUploadBytes,
        info: () => {
          const info = { version: GATEWAY_VERSION, url: this.#url, publicReads: init.publicReads ?? false }
          return this.#s3Endpoint === undefined ? info : { ...info, s3Endpoint: this.#s3Endpoint }
        },
      },
    )
    // Prometheus scrapes with the token: `authorization: { credentials_file: <dataDir>/api-token }`.
    api.get('/metrics', { preHandler: async (request) => auth.check(request) }, async (_request, reply) =>
      reply.type(this.#metrics.contentType).send(await this.#metrics.text()),
    )
    const webRoot = init.webRoot
    const serveWeb = webRoot !== undefined && existsSync(join(webRoot, 'index.html'))
    if (serveWeb) await api.register(fastifyStatic, { root: webRoot, prefix: '/', index: ['index.html'] })
    api.setNotFoundHandler((request, reply) => {
      if (!request.url.startsWith(API_PREFIX) && request.method === 'GET' && serveWeb) {
        return reply.sendFile('index.html')
      }
      const { status, body } = errorBody(new NotFoundError(`no route ${request.method} ${request.url.split('?')[0]}`))
      return reply.code(status).send(body)
    })
    const address = await api.listen({ host, port: init.port ?? 0 })
    this.#url = address.replace('[::1]', 'localhost')

    // S3
    if (init.s3Port !== false) {
      const s3 = Fastify({
        forceCloseConnections: true,
        exposeHeadRoutes: false,
        routerOptions: { maxParamLength: 2048 },
        logger: false,
      })
      this.#s3 = s3
      if (rateLimit !== undefined) {
        await s3.register(fastifyRateLimit, {
          ...rateLimit,
          errorResponseBuilder: () => ({
            statusCode: 503,
            s3Code: 'SlowDown',
            message: 'Please reduce your request rate.',
          }),
        })
      }
      s3.setErrorHandler((err: FastifyError & { s3Code?: string }, _request, reply) => {
        if (reply.sent) return
        const status = err.statusCode ?? 500
        const code =
          err.s3Code ?? (status === 413 ? 'EntityTooLarge' : status < 500 ? 'InvalidRequest' : 'InternalError')
        reply.code(status).type('application/xml').send(xmlError(code, err.message))
      })
      const staging = createMultipartStaging({ directory: join(init.dataDir, MULTIPART_STAGING_FOLDER) })
      // Parts of uploads that no longer exist (completed or aborted when the gateway stopped) are removed.
      await staging.sweep((uploadId) =>
        index.getUpload(uploadId) === undefined
          ? undefined
          : new Set(index.listParts(uploadId).flatMap((part) => (part.staged === undefined ? [] : [part.staged]))),
      )
      const { files, s3Names } = this.#components
      const log = (line: string): void => void process.stderr.write(`${line}\n`)
      this.#catalog = await startS3Catalog({ files, index, ...(s3Names === undefined ? {} : { s3Names }) }, log)
      registerS3Routes(
        s3,
        {
          files,
          index,
          metrics: this.#metrics,
          staging,
          ...(this.#catalog === undefined ? {} : { catalog: this.#catalog }),
        },
        {
          ...keys,
          region,
          maxUploadBytes,
          ...(init.s3Redundancy?.k === undefined ? {} : { k: init.s3Redundancy.k }),
          ...(init.s3Redundancy?.n === undefined ? {} : { n: init.s3Redundancy.n }),
        },
      )
      this.#s3Endpoint = await s3.listen({ host, port: init.s3Port ?? 0 })
    }

    const state = { url: this.#url, region, pid: process.pid }
    await writeGatewayState(
      init.dataDir,
      this.#s3Endpoint === undefined ? state : { ...state, s3Endpoint: this.#s3Endpoint },
    )

    this.#unsubscribe = this.#components.files.subscribe?.((event) => this.publish(event))
    await this.#pollNodes()
    this.#poller = setInterval(() => void this.#pollNodes(), init.nodePollMs ?? DEFAULT_NODE_POLL_MS)
    this.#poller.unref()
    this.#watcher = createPlacementWatcher(
      { files: this.#components.files, publish: (event) => this.publish(event) },
      {
        files: init.watchFiles ?? DEFAULT_WATCH_FILES,
        intervalMs: init.watchIntervalMs ?? DEFAULT_WATCH_INTERVAL_MS,
      },
    )
    this.#watcher.start()
    this.#components.renewer?.start()
  }

  async stop(): Promise<void> {
    if (this.#poller !== undefined) clearInterval(this.#poller)
    this.#poller = undefined
    this.#watcher?.stop()
    this.#watcher = undefined
    this.#components.renewer?.stop()
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    await Promise.all([this.#api?.close(), this.#s3?.close()])
    this.#api = undefined
    this.#s3 = undefined
    await this.#catalog?.stop()
    this.#catalog = undefined
    this.#index?.close()
    this.#index = undefined
  }
}

/**
 * Creates the gateway over a `FileService`.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ files }, { dataDir: '.cairn-devnet/gateway', port: 7070, s3Port: 7071 })
 * await gateway.start()
 * console.log(`dashboard: ${gateway.url}/#token=${gateway.token}`)
 * // with `s3Names: { client, privateKey }` gateways of one wallet share their S3 buckets (docs/protocol.md, "Names")
 * await gateway.stop()
 * ```
 */
export function createGateway(components: GatewayComponents & S3NamesComponents, init: GatewayInit): Gateway {
  return new CairnGateway(components, init)
}
