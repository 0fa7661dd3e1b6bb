/**
 * Codes segments in worker threads (node:worker_threads). One pool per process, shared by every encoding and
 * started on first use; idle workers do not keep the process alive and exit after 2 s without work. Each job
 * carries its file's keys and code, so files with different keys or (k, n) share the workers. Plaintext is
 * transferred in, pieces and hashes are transferred back: segment data is not copied between threads.
 */
import { platform } from '#storage-platform'
import * as errors from '../errors.ts'
import { CairnError } from '../errors.ts'
import type { SegmentEncoder } from './encode-file.ts'
import type { ManifestSegment } from './interface.ts'
import type { SegmentThread } from './platform/index.ts'
import type { CodedSegment, SegmentCodecInit } from './segment-codec.ts'

interface Job {
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  member: PoolMember
}

interface PoolMember {
  worker: SegmentThread
  busy: number
  dead: boolean
}

interface WorkerReply {
  id: number
  result?: unknown
  error?: { message: string; code?: string; details?: Record<string, unknown> }
}

const ERROR_CLASSES = new Map<string, typeof CairnError>(
  Object.values(errors)
    .filter((value): value is typeof CairnError => typeof value === 'function' && 'code' in value)
    .map((errorClass) => [errorClass.code, errorClass]),
)

/** Rebuilds the worker's error as the same CairnError class (by code), so callers can tell them apart. */
function reviveError(error: WorkerReply['error']): CairnError {
  const ErrorClass = (error?.code !== undefined && ERROR_CLASSES.get(error.code)) || CairnError
  const message = error?.message ?? 'unknown error in a segment worker'
  return new ErrorClass(message, error?.details === undefined ? {} : { details: error.details })
}

const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './segment-worker.ts' : './segment-worker.js',
  import.meta.url,
)

/** Workers that had nothing to do for this long exit (their memory goes back to the system); ms. */
const IDLE_EXIT_MS = 2_000

const members: PoolMember[] = []
const jobs = new Map<number, Job>()
let nextId = 0
let idleTimer: ReturnType<typeof setTimeout> | undefined

function noteIdle(): void {
  if (jobs.size > 0) return
  clearTimeout(idleTimer)
  idleTimer = setTimeout(() => {
    if (jobs.size === 0) void stopSegmentWorkers()
  }, IDLE_EXIT_MS)
  idleTimer.unref()
}

function spawnMember(): PoolMember {
  const worker = platform.startSegmentThread(WORKER_URL)
  const member: PoolMember = { worker, busy: 0, dead: false }
  const settle = (job: Job) => {
    if (--member.busy === 0) worker.keepAlive(false)
    return job
  }
  worker.onMessage((message) => {
    const reply = message as WorkerReply
    const job = jobs.get(reply.id)
    if (job === undefined) return
    jobs.delete(reply.id)
    settle(job)
    noteIdle()
    if (reply.error === undefined) job.resolve(reply.result)
    else job.reject(reviveError(reply.error))
  })
  const fail = (error: Error) => {
    if (member.dead) return
    member.dead = true
    const at = members.indexOf(member)
    if (at !== -1) members.splice(at, 1)
    for (const [id, job] of jobs) {
      if (job.member !== member) continue
      jobs.delete(id)
      job.reject(new CairnError(`a segment worker stopped: ${error.message}`, { cause: error }))
    }
  }
  worker.onExit(fail)
  members.push(member)
  return member
}

/** Decodes segments; the same contract as `SegmentCodec.decode`, asynchronously. */
export interface SegmentDecoder {
  decode(
    index: number,
    segment: Pick<ManifestSegment, 'size' | 'flags' | 'ciphertextHash'>,
    final: boolean,
    plaintextSize: number,
    pieces: ReadonlyArray<Uint8Array | undefined>,
    /** The pieces may be moved to the worker (the caller will not use them again). */
    transferPieces: boolean,
  ): Promise<Uint8Array>
}

function wholeBuffer(bytes: Uint8Array): ArrayBuffer | undefined {
  const buffer = bytes.buffer
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength
    ? buffer
    : undefined
}

function run<T>(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<T> {
  const member = members.reduce<PoolMember | undefined>(
    (best, m) => (best === undefined || m.busy < best.busy ? m : best),
    undefined,
  )
  if (member === undefined) return Promise.reject(new CairnError('no segment worker is running'))
  const id = nextId++
  clearTimeout(idleTimer)
  if (member.busy++ === 0) member.worker.keepAlive(true)
  return new Promise<T>((resolve, reject) => {
    jobs.set(id, { resolve: resolve as (value: unknown) => void, reject, member })
    member.worker.postMessage({ ...message, id }, [...new Set(transfer)])
  })
}

/** Segment coding over at least `workers` pooled threads, for one file's keys and code. */
export function createSegmentWorkerPool(init: SegmentCodecInit & { workers: number }): SegmentEncoder & SegmentDecoder {
  clearTimeout(idleTimer)
  while (members.length < init.workers) spawnMember()
  const code = {
    k: init.k,
    n: init.n,
    compressionLevel: init.compressionLevel,
    salt: init.keys.salt,
    subkey: init.keys.subkey,
    keyCheck: init.keys.keyCheck,
  }
  return {
    encode(index, plaintext, final) {
      const buffer = wholeBuffer(plaintext)
      return run<CodedSegment>({ type: 'encode', code, index, final, plaintext }, buffer === undefined ? [] : [buffer])
    },
    decode(index, segment, final, plaintextSize, pieces, transferPieces) {
      const transfer: ArrayBuffer[] = []
      if (transferPieces) {
        for (const piece of pieces) {
          const buffer = piece === undefined ? undefined : wholeBuffer(piece)
          if (buffer !== undefined) transfer.push(buffer)
        }
      }
      const { size, flags, ciphertextHash } = segment
      const message = { type: 'decode', code, index, segment: { size, flags, ciphertextHash } }
      return run<Uint8Array>({ ...message, final, plaintextSize, pieces }, transfer)
    },
    async close() {},
  }
}

/** Stops every pooled worker (tests and benchmarks; a process may also just exit). */
export async function stopSegmentWorkers(): Promise<void> {
  clearTimeout(idleTimer)
  await Promise.all(members.splice(0).map((m) => m.worker.terminate()))
}
