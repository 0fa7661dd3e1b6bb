import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { createApiClient, createGateway, type Gateway, s3Credentials } from '../../src/api/index.ts'
import { NotFoundError, TooLargeError, UnauthorizedError } from '../../src/errors.ts'
import { waitFor } from '../wait-for.ts'
import { createMemoryFileService, type MemoryFileService } from './memory-file-service.ts'

async function startGateway(init: Partial<Parameters<typeof createGateway>[1]> = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-api-'))
  const files = createMemoryFileService()
  const gateway = createGateway({ files }, { dataDir, port: 0, s3Port: false, nodePollMs: 50, ...init })
  await gateway.start()
  return {
    gateway,
    files,
    dataDir,
    async close() {
      await gateway.stop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

describe('gateway /api/v1', () => {
  let gateway: Gateway
  let files: MemoryFileService
  let dataDir: string
  let close: () => Promise<void>
  before(async () => {
    ;({ gateway, files, dataDir, close } = await startGateway())
  })
  after(() => close())

  it('keeps its token in the data folder (0600) and refuses calls without it with a JSON error', async () => {
    const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
    assert.equal(token, gateway.token)
    assert.equal((await stat(join(dataDir, 'api-token'))).mode & 0o777, 0o600)
    const response = await fetch(`${gateway.url}/api/v1/files`)
    assert.equal(response.status, 401)
    const body = (await response.json()) as { error: { code: string; message: string } }
    assert.equal(body.error.code, 'ERR_UNAUTHORIZED')
    assert.match(body.error.message, /Authorization: Bearer/)
    const wrong = createApiClient({ url: gateway.url, token: 'nope' })
    await assert.rejects(wrong.files(), (err: unknown) => err instanceof UnauthorizedError && /wrong/.test(err.message))
    const health = await fetch(`${gateway.url}/api/v1/health`)
    assert.deepEqual(await health.json(), { ok: true })
  })

  it('uploads a stream, lists it, and downloads it whole, by range, by suffix and with HEAD', async () => {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const data = randomBytes(300_000)
    const progress: number[] = []
    const put = await api.upload(
      chunksOf(data, 7_000),
      { name: 'photo one.jpg', type: 'image/jpeg', k: 2, n: 4 },
      { onProgress: (e) => progress.push(e.bytes) },
    )
    assert.match(put.capability, /^cairn:bafk[a-z2-7]+#[A-Za-z0-9_-]+$/)
    assert.equal(put.size, data.length)
    assert.deepEqual([put.k, put.n, put.name], [2, 4, 'photo one.jpg'])
    assert.equal(progress.at(-1), data.length)

    const listed = await api.files()
    assert.equal(listed.length, 1)
    assert.equal(listed[0]?.capability, put.capability)
    assert.equal(listed[0]?.name, 'photo one.jpg')

    const whole = await api.download(put.capability)
    assert.equal(whole.status, 200)
    assert.equal(whole.type, 'image/jpeg')
    assert.deepEqual(Buffer.from(await whole.bytes()), data)

    const part = await api.download(put.capability, { offset: 1000, length: 5000 })
    assert.equal(part.status, 206)
    assert.equal(part.size, data.length)
    assert.deepEqual(Buffer.from(await part.bytes()), data.subarray(1000, 6000))

    const auth = { authorization: `Bearer ${gateway.token}` }
    const suffix = await fetch(api.contentUrl(put.capability), { headers: { ...auth, range: 'bytes=-100' } })
    assert.equal(suffix.status, 206)
    assert.equal(suffix.headers.get('content-range'), `bytes ${data.length - 100}-${data.length - 1}/${data.length}`)
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), data.subarray(data.length - 100))

    const head = await api.head(put.capability)
    assert.equal(head.size, data.length)
    assert.equal(head.type, 'image/jpeg')

    const beyond = await fetch(api.contentUrl(put.capability), {
      headers: { ...auth, range: `bytes=${data.length}-` },
    })
    assert.equal(beyond.status, 416)
    assert.equal(beyond.headers.get('content-range'), `bytes */${data.length}`)
    assert.equal(((await beyond.json()) as { error: { code: string } }).error.code, 'ERR_RANGE_NOT_SATISFIABLE')

    const status = await api.status(put.capability)
    assert.equal(status.health, 'healthy')
    assert.equal(status.slots.length, 4)
    assert.equal(status.name, 'photo one.jpg')
  })

  it('reads any range back byte-identical and asks the service for that range only (property)', async () => {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const data = randomBytes(50_000)
    const { capability } = await api.upload(data)
    await fc.assert(
      fc.asyncProperty(fc.nat(data.length - 1), fc.integer({ min: 1, max: data.length }), async (offset, wanted) => {
        const length = Math.min(wanted, data.length - offset)
        files.getCalls.length = 0
        const answer = await api.download(capability, { offset, length })
        assert.deepEqual(Buffer.from(await answer.bytes()), data.subarray(offset, offset + length))
        assert.deepEqual(files.getCalls, [{ capability, offset, length }])
      }),
      { numRuns: 40 },
    )
  })

  it('answers stable error codes for bad capabilities, bad redundancy, unknown files and routes', async () => {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const auth = { authorization: `Bearer ${gateway.token}` }
    const bad = await fetch(`${gateway.url}/api/v1/files/not-a-capability`, { headers: auth })
    assert.equal(bad.status, 400)
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'ERR_INVALID_CAPABILITY')
    const redundancy = await fetch(`${gateway.url}/api/v1/files?k=5&n=3`, { method: 'POST', headers: auth, body: 'x' })
    assert.equal(redundancy.status, 400)
    assert.match(
      ((await redundancy.json()) as { error: { message: string } }).error.message,
      /^k and n must be whole numbers with 1 <= k < n <= 255 .*, got k=5, n=3: use --k\/--n within that range$/,
    )
    await assert.rejects(api.download('cairn:bafkunknown#key'), (err: unknown) => err instanceof NotFoundError)
    const route = await fetch(`${gateway.url}/api/v1/nope`, { headers: auth })
    assert.equal(route.status, 404)
    assert.equal(((await route.json()) as { error: { code: string } }).error.code, 'ERR_NOT_FOUND')
    const wallet = await fetch(`${gateway.url}/api/v1/wallet`, { headers: auth })
    assert.equal(wallet.status, 404)
    assert.match(((await wallet.json()) as { error: { message: string } }).error.message, /no wallet/)
  })

  it('pushes node state changes and stored files as server-sent events, with replay by Last-Event-ID', async () => {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const abort = new AbortController()
    const seen: Array<{ type: string; id: number }> = []
    // The server subscribes the stream before it answers: once connected, no event is missed.
    const { promise: connected, resolve: onConnected } = Promise.withResolvers<void>()
    const events = api.events({
      signal: abort.signal,
      types: ['node:state', 'file:stored'],
      onConnection: (up) => up && onConnected(),
    })
    const reader = (async () => {
      for await (const event of events) {
        seen.push(event)
        if (event.type === 'node:state' && event.state === 'dead') break
      }
    })()
    await connected
    await api.upload(new Uint8Array([1, 2, 3]), { name: 'three.bin' })
    files.setNodeState('12D3KooWMemoryNode2', 'dead')
    await Promise.race([reader, new Promise((_, reject) => setTimeout(() => reject(new Error('no event')), 5000))])
    abort.abort()
    const types = seen.map((e) => e.type)
    assert.deepEqual(types, ['file:stored', 'node:state'])
    const nodes = await api.nodes()
    assert.equal(nodes.find((n) => n.peerId === '12D3KooWMemoryNode2')?.state, 'dead')
    // replay: a client that saw the first event gets the second again
    const replay = await fetch(`${gateway.url}/api/v1/events?types=node:state`, {
      headers: { authorization: `Bearer ${gateway.token}`, 'last-event-id': String(seen[0]!.id) },
      signal: AbortSignal.timeout(2000),
    })
    const reader2 = replay.body!.getReader()
    let text = ''
    while (!text.includes('event: node:state')) text += new TextDecoder().decode((await reader2.read()).value)
    await reader2.cancel()
    assert.match(text, /"peerId":"12D3KooWMemoryNode2"/)
    files.setNodeState('12D3KooWMemoryNode2', 'alive')
  })

  it('exposes Prometheus metrics with the Cairn names', async () => {
    const auth = { authorization: `Bearer ${gateway.token}` }
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: auth })).text()
    for (const name of [
      'cairn_bytes_in_total{kind="api"}',
      'cairn_put_duration_seconds_bucket',
      'cairn_get_duration_seconds_count',
      'cairn_peers{state="alive"}',
      'cairn_http_requests_total',
      'cairn_repairs_total',
      'cairn_proofs_missed_total',
    ]) {
      assert.ok(text.includes(name), `metrics lack ${name}`)
    }
    const bytesIn = /cairn_bytes_in_total\{kind="api"\} (\d+)/.exec(text)
    assert.ok(Number(bytesIn?.[1]) >= 350_003)
  })

  it('s3Credentials says plainly when the gateway runs without S3', async () => {
    await assert.rejects(
      s3Credentials(dataDir),
      (err: unknown) => err instanceof NotFoundError && /runs without S3/.test(err.message),
    )
  })
})

describe('gateway placement watcher', () => {
  it('reports a slot going to repair and coming back on another node as repair events', async () => {
    const { gateway, files, close } = await startGateway({ watchIntervalMs: 100 })
    try {
      const api = createApiClient({ url: gateway.url, token: gateway.token })
      const { capability, manifest } = await api.upload(new Uint8Array([1, 2, 3]), { k: 1, n: 3 })
      const abort = new AbortController()
      const events: Array<{ type: string; slot?: number; to?: string; manifest?: string }> = []
      const { promise: connected, resolve: onConnected } = Promise.withResolvers<void>()
      const stream = api.events({
        signal: abort.signal,
        types: ['repair:started', 'repair:finished'],
        onConnection: (up) => up && onConnected(),
      })
      const reader = (async () => {
        for await (const event of stream) {
          events.push(event)
          if (event.type === 'repair:finished') return
        }
      })()
      await connected
      // The watcher reports changes from what it saw before: let it see the file whole first (its rounds do not
      // overlap, so a second status call means the first one's view is recorded).
      await waitFor(
        () => files.statusCalls.filter((c) => c === capability).length >= 2,
        5_000,
        'the watcher to see the file',
      )
      files.setSlot(capability, 1, { state: 'repairing' })
      // The watcher must see the repair running before the slot moves: wait for its event, not for a while.
      await waitFor(() => events.some((e) => e.type === 'repair:started'), 5_000, 'the repair:started event')
      files.setSlot(capability, 1, { peerId: '12D3KooWMemoryNode5' })
      await Promise.race([
        reader,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no repair event')), 5000)),
      ])
      abort.abort()
      assert.deepEqual(
        events.map((e) => [e.type, e.slot, e.manifest]),
        [
          ['repair:started', 1, manifest],
          ['repair:finished', 1, manifest],
        ],
      )
      assert.equal(events[1]?.to, '12D3KooWMemoryNode5')
      const metrics = await (
        await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })
      ).text()
      assert.match(metrics, /cairn_repairs_total\{outcome="finished"\} 1/)
    } finally {
      await close()
    }
  })
})

describe('gateway limits and public reads', () => {
  it('refuses uploads over the size limit with 413 and stores nothing', async () => {
    const { gateway, files, close } = await startGateway({ maxUploadBytes: 1000 })
    try {
      const api = createApiClient({ url: gateway.url, token: gateway.token })
      await assert.rejects(api.upload(randomBytes(5000)), (err: unknown) => err instanceof TooLargeError)
      await assert.rejects(api.upload(chunksOf(randomBytes(5000), 500)), (err: unknown) => err instanceof TooLargeError)
      assert.equal(files.storedBytes, 0)
      assert.deepEqual(await api.files(), [])
    } finally {
      await close()
    }
  })

  it('answers 429 with ERR_RATE_LIMITED past the rate limit', async () => {
    const { gateway, close } = await startGateway({ rateLimit: { max: 5, windowMs: 60_000 } })
    try {
      const statuses: number[] = []
      let last: Response | undefined
      for (let i = 0; i < 7; i++) {
        last = await fetch(`${gateway.url}/api/v1/health`)
        statuses.push(last.status)
        if (last.status === 200) await last.arrayBuffer()
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429])
      const body = (await last!.json()) as { error: { code: string } }
      assert.equal(body.error.code, 'ERR_RATE_LIMITED')
      assert.ok(Number(last!.headers.get('retry-after')) > 0)
    } finally {
      await close()
    }
  })

  it('serves downloads without a token only when publicReads is on, never uploads', async () => {
    const { gateway, close } = await startGateway({ publicReads: true })
    try {
      const api = createApiClient({ url: gateway.url, token: gateway.token })
      const { capability } = await api.upload(new TextEncoder().encode('hello public'), { type: 'text/plain' })
      const anonymous = createApiClient({ url: gateway.url })
      const { bytes } = await anonymous.download(capability)
      assert.equal(new TextDecoder().decode(await bytes()), 'hello public')
      await assert.rejects(anonymous.upload(new Uint8Array([1])), (err: unknown) => err instanceof UnauthorizedError)
      await assert.rejects(anonymous.files(), (err: unknown) => err instanceof UnauthorizedError)
    } finally {
      await close()
    }
  })
})
