/**
 * Codes segments in worker threads (node:worker_threads), one SegmentCodec per worker. Plaintext is transferred in,
 * pieces and hashes are transferred back: no copies of segment data between threads.
 */
import { Worker } from 'node:worker_threads'
import { CairnError } from '../errors.ts'
import type { SegmentEncoder } from './encode-file.ts'
import type { CodedSegment, SegmentCodecInit } from './segment-codec.ts'

export interface SegmentWorkerPoolInit extends SegmentCodecInit {
  workers: number
}

interface Pending {
  resolve: (segment: CodedSegment) => void
  reject: (error: unknown) => void
}

interface WorkerSlot {
  worker: Worker
  busy: number
  failed?: Error
}

const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './segment-worker.ts' : './segment-worker.js',
  import.meta.url,
)

/** Starts `init.workers` threads. */
export function createSegmentWorkerPool(init: SegmentWorkerPoolInit): SegmentEncoder {
  const pending = new Map<number, Pending & { slot: WorkerSlot }>()
  let nextId = 0
  const slots: WorkerSlot[] = []
  const workerData = {
    k: init.k,
    n: init.n,
    compressionLevel: init.compressionLevel,
    salt: init.keys.salt,
    subkey: init.keys.subkey,
    keyCheck: init.keys.keyCheck,
  }
  for (let i = 0; i < init.workers; i++) {
    const worker = new Worker(WORKER_URL, { workerData })
    const slot: WorkerSlot = { worker, busy: 0 }
    worker.on(
      'message',
      (message: { id: number; result?: CodedSegment; error?: { message: string; code?: string } }) => {
        const job = pending.get(message.id)
        if (job === undefined) return
        pending.delete(message.id)
        slot.busy--
        if (message.result !== undefined) job.resolve(message.result)
        else
          job.reject(
            new CairnError(`segment worker failed: ${message.error?.message}`, {
              details: { code: message.error?.code },
            }),
          )
      },
    )
    const fail = (error: Error) => {
      slot.failed = error
      for (const [id, job] of pending) {
        if (job.slot !== slot) continue
        pending.delete(id)
        job.reject(new CairnError(`segment worker stopped: ${error.message}`, { cause: error }))
      }
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`worker exited with code ${code}`)))
    slots.push(slot)
  }

  return {
    encode(index, plaintext, final) {
      const slot = slots.filter((s) => s.failed === undefined).sort((a, b) => a.busy - b.busy)[0]
      if (slot === undefined) return Promise.reject(new CairnError('every segment worker has stopped'))
      const id = nextId++
      slot.busy++
      return new Promise<CodedSegment>((resolve, reject) => {
        pending.set(id, { resolve, reject, slot })
        const transfer = plaintext.byteOffset === 0 && plaintext.byteLength === plaintext.buffer.byteLength
        slot.worker.postMessage({ id, index, final, plaintext }, transfer ? [plaintext.buffer as ArrayBuffer] : [])
      })
    },
    async close() {
      await Promise.all(
        slots.map(async (slot) => {
          slot.failed ??= new Error('closed')
          await slot.worker.terminate()
        }),
      )
    },
  }
}
