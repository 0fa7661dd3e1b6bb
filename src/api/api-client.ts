/**
 * The typed client of `/api/v1`, used by the CLI and the dashboard. Browser-safe: it needs only `fetch` (and, in a
 * browser, `XMLHttpRequest` for upload progress). Errors are rebuilt as the server's `CairnError` subclasses.
 */
import { AbortedError, UnreachableError } from '../errors.ts'
import { errorFromBody } from './error-status.ts'
import type {
  AbortOptions,
  BankInfo,
  ByteRange,
  CairnEvent,
  CairnEventType,
  DealInfo,
  FileStatus,
  GatewayInfo,
  NodeInfo,
  PutInit,
  PutOptions,
  StoredFile,
  WalletInfo,
} from './interface.ts'
import type { QuoteInfo } from './quote-info.ts'
import { type RouteName, type RouteResponses, routePath } from './route-paths.ts'

export interface ApiClientInit {
  /** Gateway base URL, e.g. `http://127.0.0.1:7070`. */
  url: string
  /** Bearer token (the gateway's `api-token` file). */
  token?: string
  fetch?: typeof fetch
}

export type UploadSource = Blob | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

export interface DownloadResult {
  status: 200 | 206
  /** Size of the whole file. */
  size: number
  /** Bytes in this answer. */
  length: number
  type: string | undefined
  stream: ReadableStream<Uint8Array>
  /** Reads the whole answer into memory (small files and ranges only). */
  bytes(): Promise<Uint8Array>
}

export interface HeadResult {
  size: number
  type: string | undefined
  etag: string | undefined
}

export interface EventsOptions extends AbortOptions {
  types?: CairnEventType[]
  /** Resume after this event id (the server replays what it still buffers). */
  lastEventId?: number
  /** Called when the stream (re)connects or drops; the iterator reconnects by itself until aborted. */
  onConnection?: (connected: boolean) => void
}

export interface ApiClient {
  readonly url: string
  health(options?: AbortOptions): Promise<RouteResponses['health']>
  info(options?: AbortOptions): Promise<GatewayInfo>
  upload(source: UploadSource, init?: PutInit, options?: PutOptions): Promise<RouteResponses['upload']>
  download(capability: string, range?: ByteRange, options?: AbortOptions): Promise<DownloadResult>
  head(capability: string, options?: AbortOptions): Promise<HeadResult>
  /**
   * URL of the file's bytes, without the token (never put in a URL): a browser on the gateway's origin opens it with
   * the session cookie (`openSession`), other callers send the bearer header.
   */
  contentUrl(capability: string, init?: { download?: boolean; filename?: string }): string
  /** Asks the gateway for the HttpOnly session cookie that opens `contentUrl` links in this browser. */
  openSession(options?: AbortOptions): Promise<void>
  /** Clears the session cookie. */
  closeSession(options?: AbortOptions): Promise<void>
  files(options?: AbortOptions): Promise<StoredFile[]>
  status(capability: string, options?: AbortOptions): Promise<FileStatus & { name?: string; type?: string }>
  forget(capability: string, options?: AbortOptions): Promise<void>
  nodes(options?: AbortOptions): Promise<NodeInfo[]>
  deals(options?: AbortOptions): Promise<DealInfo[]>
  wallet(options?: AbortOptions): Promise<WalletInfo>
  bank(options?: AbortOptions): Promise<BankInfo>
  /** The price of storing `size` bytes with k of n before paying (a gateway on chain; 404 off chain). */
  quote(params: { size: number; k: number; n: number; duration?: number }, options?: AbortOptions): Promise<QuoteInfo>
  /** Live events; reconnects (resuming by event id) until `signal` aborts. */
  events(options?: EventsOptions): AsyncGenerator<CairnEvent & { id: number }>
}

/** The part of the browser's XMLHttpRequest the upload uses (the repo compiles without the DOM library). */
interface Xhr {
  open(method: string, url: string): void
  setRequestHeader(name: string, value: string): void
  send(body: Blob): void
  abort(): void
  readonly status: number
  readonly responseText: string
  upload: { onprogress: ((event: { loaded: number }) => void) | null }
  onload: (() => void) | null
  onerror: (() => void) | null
  onabort: (() => void) | null
}

function xhrConstructor(): (new () => Xhr) | undefined {
  return (globalThis as { XMLHttpRequest?: new () => Xhr }).XMLHttpRequest
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function toReadableStream(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await iterator.next()
      if (done === true) controller.close()
      else {
        onBytes(value.byteLength)
        controller.enqueue(value)
      }
    },
    async cancel(reason) {
      await iterator.return?.(reason)
    },
  })
}

function meteredStream(stream: ReadableStream<Uint8Array>, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onBytes(chunk.byteLength)
        controller.enqueue(chunk)
      },
    }),
  )
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = stream.getReader()
  while (true) {
    const { value, done } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.byteLength
  }
  return out
}

/**
 * Creates a client of a gateway's `/api/v1`.
 *
 * @example
 * ```ts
 * const api = createApiClient({ url: 'http://127.0.0.1:7070', token })
 * const { capability } = await api.upload(new Uint8Array([1, 2, 3]), { name: 'three.bin' })
 * const { bytes } = await api.download(capability, { offset: 1 })
 * console.log(await bytes()) // Uint8Array [2, 3]
 * ```
 */
export function createApiClient(init: ApiClientInit): ApiClient {
  const base = init.url.replace(/\/+$/, '')
  const doFetch = init.fetch ?? globalThis.fetch.bind(globalThis)

  function headers(extra: Record<string, string> = {}): Record<string, string> {
    return init.token === undefined ? extra : { ...extra, authorization: `Bearer ${init.token}` }
  }

  async function send(path: string, request: RequestInit, options: AbortOptions = {}): Promise<Response> {
    let response: Response
    try {
      response = await doFetch(`${base}${path}`, {
        ...request,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
    } catch (err) {
      if (options.signal?.aborted === true) throw new AbortedError('the request was cancelled', { cause: err })
      throw new UnreachableError(`cannot reach the gateway at ${base}: ${(err as Error).message}`, { cause: err })
    }
    if (!response.ok && response.status !== 304) {
      const text = await response.text()
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = { error: { message: text === '' ? `HTTP ${response.status}` : text.slice(0, 300) } }
      }
      throw errorFromBody(response.status, body)
    }
    return response
  }

  async function json<N extends keyof RouteResponses>(
    name: N & RouteName,
    params: Record<string, string> = {},
    options: AbortOptions = {},
    method: 'GET' | 'POST' | 'DELETE' = 'GET',
  ): Promise<RouteResponses[N]> {
    const response = await send(
      routePath(name, params),
      { method, headers: headers({ accept: 'application/json' }) },
      options,
    )
    return (await response.json()) as RouteResponses[N]
  }

  function uploadQuery(putInit: PutInit): string {
    const query = new URLSearchParams()
    if (putInit.name !== undefined) query.set('name', putInit.name)
    if (putInit.k !== undefined) query.set('k', String(putInit.k))
    if (putInit.n !== undefined) query.set('n', String(putInit.n))
    const text = query.toString()
    return text === '' ? '' : `?${text}`
  }

  function uploadWithXhr(blob: Blob, putInit: PutInit, options: PutOptions): Promise<RouteResponses['upload']> {
    return new Promise((resolve, reject) => {
      const Constructor = xhrConstructor()
      if (Constructor === undefined) throw new TypeError('XMLHttpRequest is not available here')
      const xhr = new Constructor()
      xhr.open('POST', `${base}${routePath('upload')}${uploadQuery(putInit)}`)
      for (const [name, value] of Object.entries(headers())) xhr.setRequestHeader(name, value)
      xhr.setRequestHeader('content-type', putInit.type ?? (blob.type === '' ? 'application/octet-stream' : blob.type))
      xhr.upload.onprogress = (event) =>
        options.onProgress?.({ type: 'progress', bytes: event.loaded, total: blob.size })
      xhr.onload = () => {
        let body: unknown
        try {
          body = JSON.parse(xhr.responseText)
        } catch {
          body = undefined
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body as RouteResponses['upload'])
        else reject(errorFromBody(xhr.status, body))
      }
      xhr.onerror = () => reject(new UnreachableError(`cannot reach the gateway at ${base}`))
      xhr.onabort = () => reject(new AbortedError('the upload was cancelled'))
      options.signal?.addEventListener('abort', () => xhr.abort(), { once: true })
      xhr.send(blob)
    })
  }

  async function* events(options: EventsOptions = {}): AsyncGenerator<CairnEvent & { id: number }> {
    let lastId = options.lastEventId ?? 0
    const query = options.types === undefined ? '' : `?types=${encodeURIComponent(options.types.join(','))}`
    while (!isAborted(options.signal)) {
      let response: Response
      try {
        response = await send(
          `${routePath('events')}${query}`,
          { headers: headers({ accept: 'text/event-stream', 'last-event-id': String(lastId) }) },
          options,
        )
      } catch (err) {
        if (isAborted(options.signal)) return
        if (err instanceof UnreachableError) {
          options.onConnection?.(false)
          await new Promise((resolve) => setTimeout(resolve, 1000))
          continue
        }
        throw err
      }
      options.onConnection?.(true)
      const body = response.body
      if (body === null) return
      const reader = body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ''
      try {
        while (true) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          let end = buffer.indexOf('\n\n')
          while (end !== -1) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            end = buffer.indexOf('\n\n')
            let data = ''
            let id: number | undefined
            for (const line of block.split('\n')) {
              if (line.startsWith('data:')) data += line.slice(5).trimStart()
              else if (line.startsWith('id:')) id = Number(line.slice(3).trim())
            }
            if (data === '' || id === undefined) continue
            lastId = id
            yield { ...(JSON.parse(data) as CairnEvent), id }
          }
        }
      } catch {
        if (isAborted(options.signal)) return
      }
      options.onConnection?.(false)
      if (!isAborted(options.signal)) await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }

  return {
    url: base,
    health: (options) => json('health', {}, options),
    info: (options) => json('info', {}, options),
    async upload(source, putInit = {}, options = {}) {
      if (typeof Blob !== 'undefined' && source instanceof Blob && xhrConstructor() !== undefined) {
        return uploadWithXhr(source, putInit, options)
      }
      let sent = 0
      const total = source instanceof Uint8Array ? source.byteLength : source instanceof Blob ? source.size : undefined
      const onBytes = (n: number): void => {
        sent += n
        options.onProgress?.(
          total === undefined ? { type: 'progress', bytes: sent } : { type: 'progress', bytes: sent, total },
        )
      }
      let body: NonNullable<RequestInit['body']>
      if (source instanceof Uint8Array) body = source as Uint8Array<ArrayBuffer>
      else if (source instanceof Blob) body = meteredStream(source.stream(), onBytes)
      else if (source instanceof ReadableStream) body = meteredStream(source, onBytes)
      else body = toReadableStream(source, onBytes)
      const type =
        putInit.type ?? (source instanceof Blob && source.type !== '' ? source.type : 'application/octet-stream')
      const request: RequestInit & { duplex?: 'half' } = {
        method: 'POST',
        headers: headers({ 'content-type': type, accept: 'application/json' }),
        body,
      }
      if (!(source instanceof Uint8Array)) request.duplex = 'half'
      const response = await send(`${routePath('upload')}${uploadQuery(putInit)}`, request, options)
      if (source instanceof Uint8Array) onBytes(source.byteLength)
      return (await response.json()) as RouteResponses['upload']
    },
    async download(capability, range = {}, options = {}) {
      const extra: Record<string, string> = {}
      const offset = range.offset ?? 0
      if (range.offset !== undefined || range.length !== undefined) {
        if (range.length === 0) throw new RangeError('a download range needs a length of at least 1')
        extra.range = `bytes=${offset}-${range.length === undefined ? '' : offset + range.length - 1}`
      }
      const response = await send(routePath('download', { capability }), { headers: headers(extra) }, options)
      const length = Number(response.headers.get('content-length') ?? 0)
      const total = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1]
      const stream = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })
      return {
        status: response.status === 206 ? 206 : 200,
        size: total === undefined ? length : Number(total),
        length,
        type: response.headers.get('content-type') ?? undefined,
        stream,
        bytes: () => collect(stream),
      }
    },
    async head(capability, options = {}) {
      const response = await send(routePath('head', { capability }), { method: 'HEAD', headers: headers() }, options)
      return {
        size: Number(response.headers.get('content-length') ?? 0),
        type: response.headers.get('content-type') ?? undefined,
        etag: response.headers.get('etag') ?? undefined,
      }
    },
    contentUrl(capability, urlInit = {}) {
      const query = new URLSearchParams()
      if (urlInit.download === true) query.set('download', '1')
      if (urlInit.filename !== undefined) query.set('filename', urlInit.filename)
      const text = query.toString()
      return `${base}${routePath('download', { capability })}${text === '' ? '' : `?${text}`}`
    },
    async openSession(options) {
      await json('openSession', {}, options, 'POST')
    },
    async closeSession(options) {
      await json('closeSession', {}, options, 'DELETE')
    },
    files: async (options) => (await json('listFiles', {}, options)).files,
    status: (capability, options) => json('fileStatus', { capability }, options),
    async forget(capability, options) {
      await json('forgetFile', { capability }, options, 'DELETE')
    },
    nodes: async (options) => (await json('nodes', {}, options)).nodes,
    deals: async (options) => (await json('deals', {}, options)).deals,
    wallet: (options) => json('wallet', {}, options),
    bank: (options) => json('bank', {}, options),
    async quote(params, options) {
      const query = new URLSearchParams({ size: String(params.size), k: String(params.k), n: String(params.n) })
      if (params.duration !== undefined) query.set('duration', String(params.duration))
      const response = await send(
        `${routePath('quote')}?${query}`,
        { method: 'GET', headers: headers({ accept: 'application/json' }) },
        options,
      )
      return (await response.json()) as QuoteInfo
    },
    events,
  }
}
