/**
 * `/api/v1` on Fastify: streaming upload, Range download, file list and status, nodes, deals, wallet, bank and the
 * server-sent event stream. Route paths come from the shared table in routes.ts.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidArgumentError, NotFoundError, TooLargeError } from '../errors.ts'
import { redundancyPolicy } from '../storage/index.ts'
import type { ApiAuth } from './api-auth.ts'
import { contentRange, parseRange } from './byte-range.ts'
import { manifestOf } from './capability-text.ts'
import { SSE_KEEPALIVE_MS } from './constants.ts'
import { downloadHeaders } from './download-headers.ts'
import type { EventHub } from './event-hub.ts'
import type { GatewayIndex } from './gateway-database.ts'
import type { FileService, GatewayInfo, PutInit } from './interface.ts'
import type { CairnMetrics } from './metrics.ts'
import { parseQuoteQuery, type QuoteService } from './quote-route.ts'
import { ROUTES, type RouteDefinition, type RouteResponses } from './route-paths.ts'
import { registerTreeRoute } from './tree-route.ts'
import { meterUpload } from './upload-meter.ts'

export interface ApiComponents {
  files: FileService
  /** Which Cairn files are the data of S3 objects (removed through S3, never through DELETE /api/v1/files). */
  index: Pick<GatewayIndex, 'isReferenced'>
  hub: EventHub
  metrics: CairnMetrics
  /** Answers `GET /api/v1/quote` (a gateway with a chain: `createQuoteService(reader)`); absent: 404. */
  quote?: QuoteService
}

export interface ApiInit {
  /** Checks the bearer token (and, for downloads, the session cookie). */
  auth: ApiAuth
  publicReads: boolean
  maxUploadBytes: number
  info: () => GatewayInfo
}

function parseRedundancy(query: Record<string, string | undefined>): Pick<PutInit, 'k' | 'n'> {
  const out: Pick<PutInit, 'k' | 'n'> = {}
  for (const name of ['k', 'n'] as const) {
    const text = query[name]
    if (text === undefined || text === '') continue
    const value = Number(text)
    if (!Number.isInteger(value) || value < 1 || value > 255) {
      throw new InvalidArgumentError(`${name} must be an integer from 1 to 255, got '${text}'`)
    }
    out[name] = value
  }
  // A pair is checked here; a lone k or n is checked by the client, with the file service's default for the other.
  if (out.k !== undefined && out.n !== undefined) redundancyPolicy(out.k, out.n)
  return out
}

/**
 * Registers `/api/v1` on `app`.
 *
 * @example
 * ```ts
 * registerApiRoutes(app, { files, index, hub, metrics }, { auth: createApiAuth(token), publicReads: false, maxUploadBytes, info })
 * ```
 */
export function registerApiRoutes(app: FastifyInstance, components: ApiComponents, init: ApiInit): void {
  const { files, index, hub, metrics } = components

  function guard(route: RouteDefinition) {
    return async (request: FastifyRequest): Promise<void> => {
      if (route.auth === 'none') return
      if (route.auth === 'token-or-public' && init.publicReads) return
      // the cookie opens downloads only: a cross-site page cannot read them, and they need a capability anyway
      init.auth.check(request, { allowCookie: route === ROUTES.download || route === ROUTES.head })
    }
  }

  function capabilityParam(request: FastifyRequest): string {
    const { capability } = request.params as { capability: string }
    manifestOf(capability)
    return capability
  }

  function signalOf(request: FastifyRequest, reply: FastifyReply): AbortSignal {
    const abort = new AbortController()
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort(new Error('client went away'))
    })
    request.raw.on('aborted', () => abort.abort(new Error('client went away')))
    return abort.signal
  }

  const routes = ROUTES
  const on = (route: RouteDefinition, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
    app.route({ method: route.method, url: route.path, preHandler: guard(route), handler })
  }

  on(routes.health, async (): Promise<RouteResponses['health']> => ({ ok: true }))
  on(routes.info, async (): Promise<RouteResponses['info']> => init.info())
  on(routes.openSession, async (request, reply): Promise<RouteResponses['openSession']> => {
    init.auth.openSession(request, reply)
    return { ok: true }
  })
  on(routes.closeSession, async (_request, reply): Promise<RouteResponses['closeSession']> => {
    init.auth.closeSession(reply)
    return { ok: true }
  })

  on(routes.upload, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>
    const putInit: PutInit = parseRedundancy(query)
    if (query.name !== undefined && query.name !== '') putInit.name = query.name
    const type = request.headers['content-type']
    if (type !== undefined && type !== '') putInit.type = type
    const declared = request.headers['content-length']
    if (declared !== undefined && Number(declared) > init.maxUploadBytes) {
      throw new TooLargeError(`the upload is larger than this gateway's limit of ${init.maxUploadBytes} bytes`, {
        details: { maxBytes: init.maxUploadBytes },
      })
    }
    const signal = signalOf(request, reply)
    const { source } = meterUpload(request.raw, {
      maxBytes: init.maxUploadBytes,
      onBytes: (n) => metrics.bytesIn.inc({ kind: 'api' }, n),
    })
    const endTimer = metrics.putSeconds.startTimer()
    let result: Awaited<ReturnType<FileService['put']>>
    try {
      result = await files.put(source, putInit, { signal })
    } catch (err) {
      request.raw.resume()
      throw err
    }
    endTimer()
    const manifest = manifestOf(result.capability)
    hub.publish({
      type: 'file:stored',
      at: Date.now(),
      manifest,
      size: result.size,
      ...(putInit.name === undefined ? {} : { name: putInit.name }),
    })
    const body: RouteResponses['upload'] = { ...result, manifest }
    if (putInit.name !== undefined) body.name = putInit.name
    if (putInit.type !== undefined) body.type = putInit.type
    return reply.code(201).send(body)
  })

  on(routes.listFiles, async (request, reply): Promise<RouteResponses['listFiles']> => {
    const listed = await files.list({ signal: signalOf(request, reply) })
    return { files: listed.sort((a, b) => b.createdAt - a.createdAt) }
  })

  on(routes.fileStatus, async (request, reply): Promise<RouteResponses['fileStatus']> => {
    const capability = capabilityParam(request)
    const signal = signalOf(request, reply)
    const status = await files.status(capability, { signal })
    const known = await files.find(capability, { signal })
    const body: RouteResponses['fileStatus'] = { ...status }
    if (known?.name !== undefined) body.name = known.name
    if (known?.type !== undefined) body.type = known.type
    return body
  })

  on(routes.forgetFile, async (request, reply): Promise<RouteResponses['forgetFile']> => {
    const capability = capabilityParam(request)
    const signal = signalOf(request, reply)
    if ((await files.find(capability, { signal })) === undefined) {
      throw new NotFoundError("this file is not in the user's list of stored files")
    }
    if (index.isReferenced(capability)) {
      throw new InvalidArgumentError('this file holds the data of an S3 object: delete the object through S3 instead')
    }
    // On chain the file's deals end (the escrow no node can still earn comes back); off chain it is only forgotten.
    if (files.remove === undefined) {
      await files.forget(capability, { signal })
      return { ok: true, deals: [] }
    }
    return { ok: true, ...(await files.remove(capability, { signal })) }
  })

  const download = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const capability = capabilityParam(request)
    const signal = signalOf(request, reply)
    const etag = `"${manifestOf(capability)}"`
    const stat = await files.stat(capability, { signal })
    const known = await files.find(capability, { signal })
    const query = request.query as Record<string, string | undefined>
    reply.header('accept-ranges', 'bytes')
    reply.header('etag', etag)
    reply.header('cache-control', 'private, max-age=31536000, immutable')
    const name = query.filename ?? stat.name ?? known?.name
    reply.headers(
      downloadHeaders({
        type: stat.type ?? known?.type ?? 'application/octet-stream',
        ...(name === undefined ? {} : { name }),
        attachment: query.download !== undefined,
      }),
    )
    if (request.headers['if-none-match'] === etag) return reply.code(304).send()
    const range = parseRange(request.headers.range, stat.size)
    if (range.kind === 'unsatisfiable') {
      return reply
        .code(416)
        .header('content-range', `bytes */${stat.size}`)
        .type('application/json')
        .send({
          error: {
            code: 'ERR_RANGE_NOT_SATISFIABLE',
            message: `the range '${request.headers.range}' is outside the file (${stat.size} bytes)`,
            details: { size: stat.size },
          },
        })
    }
    const offset = range.kind === 'partial' ? range.offset : 0
    const length = range.kind === 'partial' ? range.length : stat.size
    if (range.kind === 'partial') reply.code(206).header('content-range', contentRange(offset, length, stat.size))
    reply.header('content-length', String(length))
    if (request.method === 'HEAD' || length === 0) return reply.send()
    const endTimer = metrics.getSeconds.startTimer()
    const { stream } = await files.get(capability, { offset, length }, { signal })
    const readable = Readable.from(stream)
    readable.on('data', (chunk: Buffer) => metrics.bytesOut.inc({ kind: 'api' }, chunk.byteLength))
    readable.on('end', () => endTimer())
    return reply.send(readable)
  }
  on(routes.download, download)
  on(routes.head, download)
  registerTreeRoute(app, { files }, { auth: init.auth, publicReads: init.publicReads })

  on(routes.nodes, async (request, reply): Promise<RouteResponses['nodes']> => {
    const nodes = await files.nodes({ signal: signalOf(request, reply) })
    return { nodes }
  })
  on(routes.deals, async (request, reply): Promise<RouteResponses['deals']> => {
    if (files.deals === undefined) return { deals: [] }
    return { deals: await files.deals({ signal: signalOf(request, reply) }) }
  })
  on(routes.wallet, async (request, reply): Promise<RouteResponses['wallet']> => {
    if (files.wallet === undefined) throw new NotFoundError('this gateway has no wallet (no chain is configured)')
    return files.wallet({ signal: signalOf(request, reply) })
  })
  on(routes.quote, async (request, reply): Promise<RouteResponses['quote']> => {
    if (components.quote === undefined) throw new NotFoundError('this gateway has no chain: nothing to quote')
    const query = parseQuoteQuery(request.query as Record<string, string | undefined>)
    return components.quote.quote(query, { signal: signalOf(request, reply) })
  })
  on(routes.bank, async (request, reply): Promise<RouteResponses['bank']> => {
    if (files.bank === undefined) throw new NotFoundError('this gateway has no chain view (no chain is configured)')
    return files.bank({ signal: signalOf(request, reply) })
  })

  on(routes.events, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>
    const wanted = query.types === undefined || query.types === '' ? undefined : new Set(query.types.split(','))
    const lastId = Number(request.headers['last-event-id'] ?? query.lastEventId ?? 0)
    reply.hijack()
    const raw = reply.raw
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    raw.write(`retry: 2000\n: connected\n\n`)
    const send = ({ id, event }: { id: number; event: { type: string } }): void => {
      if (wanted !== undefined && !wanted.has(event.type)) return
      raw.write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
    }
    if (Number.isInteger(lastId) && lastId > 0) for (const past of hub.since(lastId)) send(past)
    const unsubscribe = hub.subscribe(send)
    const keepalive = setInterval(() => raw.write(': keepalive\n\n'), SSE_KEEPALIVE_MS)
    keepalive.unref()
    const close = (): void => {
      clearInterval(keepalive)
      unsubscribe()
    }
    raw.on('close', close)
    request.raw.on('close', close)
  })
}
