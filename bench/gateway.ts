/**
 * `npm run bench -- gateway [--mib N]`: throughput of the gateway's HTTP paths over a file service that discards
 * uploads and serves downloads from memory, so that only the HTTP layer is measured, against a bare node:http server
 * moving the same bytes in the same run (the baseline). `--rounds R` (default 2) measured rounds after a warm-up one.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { createApiClient, createGateway, type FileService, s3Credentials } from '../src/api/index.ts'

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '256' }, rounds: { type: 'string', default: '2' } },
})
const MIB = 1024 * 1024
const size = Number(values.mib) * MIB
const block = randomBytes(MIB)

async function* blocks(total: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += MIB) yield block.subarray(0, Math.min(MIB, total - sent))
}

const sizes = new Map<string, number>()
const sink: FileService = {
  async put(source) {
    let n = 0
    for await (const chunk of source) n += chunk.byteLength
    const capability = `cairn:bafkbench${sizes.size}#key`
    sizes.set(capability, n)
    return { capability, size: n, k: 1, n: 3 }
  },
  async get(capability, range) {
    const total = sizes.get(capability) ?? 0
    return { size: total, stream: blocks(range.length ?? total - (range.offset ?? 0)) }
  },
  async stat(capability) {
    return { size: sizes.get(capability) ?? 0, k: 1, n: 3 }
  },
  async status() {
    throw new Error('not in this benchmark')
  },
  async nodes() {
    return []
  },
  list: async () => [],
  find: async () => undefined,
  forget: async () => false,
  adopt: async () => {},
}

async function time(run: () => Promise<void>): Promise<number> {
  const start = performance.now()
  await run()
  return (performance.now() - start) / 1000
}

async function drain(stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0
  for await (const chunk of stream as AsyncIterable<Uint8Array>) n += chunk.byteLength
  return n
}

const results: Array<{ path: string; seconds: number; mbPerSecond: number }> = []
const rounds = Number(values.rounds)
let round = 0
/** Keeps the best of the rounds (round 0 warms up the JIT and the connection pools and is not kept). */
function record(path: string, seconds: number): void {
  if (round === 0) return
  const entry = { path, seconds, mbPerSecond: size / 1e6 / seconds }
  const previous = results.findIndex((r) => r.path === path)
  if (previous === -1) results.push(entry)
  else if (results[previous]!.seconds > seconds) results[previous] = entry
}

for (round = 0; round <= rounds; round++) {
  // baseline: bare node:http
  const bare = createServer((req, res) => {
    if (req.method === 'POST') {
      req.on('data', () => {})
      req.on('end', () => res.end('{}'))
    } else {
      res.writeHead(200, { 'content-length': String(size) })
      ;(async () => {
        for await (const chunk of blocks(size)) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r))
        res.end()
      })()
    }
  })
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve))
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`
  const streamBody = (): ReadableStream<Uint8Array> => ReadableStream.from(blocks(size))
  record(
    'baseline node:http upload',
    await time(async () => {
      await (await fetch(bareUrl, { method: 'POST', body: streamBody(), duplex: 'half' } as RequestInit)).text()
    }),
  )
  record(
    'baseline node:http download',
    await time(async () => {
      await drain((await fetch(bareUrl)).body!)
    }),
  )
  bare.close()

  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-bench-gateway-'))
  const gateway = createGateway({ files: sink }, { dataDir, port: 0, s3Port: 0, rateLimit: false })
  await gateway.start()
  try {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    let capability = ''
    record(
      'gateway /api/v1 upload (stream)',
      await time(async () => {
        capability = (await api.upload(blocks(size))).capability
      }),
    )
    record(
      'gateway /api/v1 download',
      await time(async () => {
        await drain((await api.download(capability)).stream)
      }),
    )
    const credentials = await s3Credentials(dataDir)
    const s3 = new S3Client({
      endpoint: credentials.endpoint,
      region: credentials.region,
      forcePathStyle: true,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    })
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }))
    const body = Buffer.concat(Array.from({ length: size / MIB }, () => block))
    record(
      'gateway S3 PutObject (SDK, buffer, CRC32)',
      await time(async () => {
        await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'object', Body: body }))
      }),
    )
    record(
      'gateway S3 GetObject (SDK)',
      await time(async () => {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: 'object' }))
        await drain(got.Body as AsyncIterable<Uint8Array>)
      }),
    )
  } finally {
    await gateway.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

console.log(
  `gateway HTTP paths, ${values.mib} MiB each, best of ${rounds} rounds after a warm-up, loopback, one process (client and server share the CPU)`,
)
console.log('path'.padEnd(44), 'seconds'.padStart(8), 'MB/s'.padStart(8))
for (const r of results)
  console.log(r.path.padEnd(44), r.seconds.toFixed(2).padStart(8), r.mbPerSecond.toFixed(0).padStart(8))
console.log(JSON.stringify({ bench: 'gateway', mib: Number(values.mib), rounds, results }))
