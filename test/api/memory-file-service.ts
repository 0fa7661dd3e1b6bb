/**
 * An in-memory FileService for unit tests of the API and S3 layers (a fake: no network, no erasure coding).
 * Nodes can be killed to exercise node-state events.
 */
import { createHash, randomBytes } from 'node:crypto'
import type {
  CairnEvent,
  FileService,
  FileStatus,
  NodeInfo,
  PeerState,
  PutInit,
  SlotState,
  StoredFile,
} from '../../src/api/index.ts'
import { InvalidCapabilityError, NotFoundError } from '../../src/errors.ts'

export interface MemoryFileService extends FileService {
  /** Marks a node dead (and its slots), as a failure detector would. */
  setNodeState(peerId: string, state: PeerState): void
  emit(event: CairnEvent): void
  /** Overrides where a slot lives (or its state), as a repair would change it. */
  setSlot(capability: string, slot: number, holder: { peerId?: string; state?: SlotState }): void
  readonly storedBytes: number
  readonly getCalls: Array<{ capability: string; offset: number; length: number }>
  /** The capabilities `status` was asked for, in order. */
  readonly statusCalls: string[]
  /** The capabilities `remove` was asked for (their deals ended), in order. */
  readonly removed: string[]
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

function fakeCid(bytes: Uint8Array): string {
  const digest = createHash('sha256').update(bytes).update(randomBytes(8)).digest()
  let out = 'bafk'
  for (const byte of digest) out += BASE32[byte % 32]
  return out
}

export function createMemoryFileService(init: { nodes?: number } = {}): MemoryFileService {
  const files = new Map<string, { bytes: Buffer; name?: string; type?: string; k: number; n: number }>()
  const nodes: NodeInfo[] = Array.from({ length: init.nodes ?? 6 }, (_, i) => ({
    peerId: `12D3KooWMemoryNode${i}`,
    label: `node-${i}`,
    state: 'alive' as PeerState,
    multiaddrs: [`/ip4/127.0.0.1/tcp/${4000 + i}`],
    lastHeartbeat: Date.now(),
  }))
  const listeners = new Set<(event: CairnEvent) => void>()
  /** The user's record of files stored (what the client's files.jsonl is for a real service). */
  const records = new Map<string, StoredFile>()
  const removed: string[] = []
  const getCalls: MemoryFileService['getCalls'] = []
  const statusCalls: string[] = []
  const slotOverrides = new Map<string, { peerId?: string; state?: SlotState }>()
  let storedBytes = 0
  const emit = (event: CairnEvent): void => {
    for (const l of listeners) l(event)
  }
  function lookup(capability: string) {
    const match = /^cairn:([a-z0-9]+)#/.exec(capability)
    if (match === null) throw new InvalidCapabilityError(`not a capability: ${capability}`)
    const file = files.get(match[1]!)
    if (file === undefined) throw new NotFoundError(`no file ${match[1]}`)
    return { manifest: match[1]!, file }
  }
  return {
    async put(source, putInit: PutInit, options = {}) {
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of source) {
        options.signal?.throwIfAborted()
        chunks.push(Buffer.from(chunk))
        size += chunk.byteLength
        options.onProgress?.({ type: 'progress', bytes: size })
      }
      const bytes = Buffer.concat(chunks)
      const manifest = fakeCid(bytes)
      const k = putInit.k ?? 1
      const n = putInit.n ?? 3
      files.set(manifest, {
        bytes,
        k,
        n,
        ...(putInit.name === undefined ? {} : { name: putInit.name }),
        ...(putInit.type === undefined ? {} : { type: putInit.type }),
      })
      storedBytes += size
      for (let slot = 0; slot < n; slot++) {
        emit({ type: 'piece:stored', at: Date.now(), manifest, slot, peerId: nodes[slot % nodes.length]!.peerId })
      }
      const capability = `cairn:${manifest}#${randomBytes(32).toString('base64url')}`
      records.set(capability, {
        capability,
        manifest,
        size,
        k,
        n,
        createdAt: Date.now(),
        ...(putInit.name === undefined ? {} : { name: putInit.name }),
        ...(putInit.type === undefined ? {} : { type: putInit.type }),
      })
      return { capability, size, k, n }
    },
    async get(capability, range) {
      const { file } = lookup(capability)
      const offset = range.offset ?? 0
      const length = range.length ?? file.bytes.length - offset
      getCalls.push({ capability, offset, length })
      const slice = file.bytes.subarray(offset, offset + length)
      async function* stream() {
        for (let at = 0; at < slice.length; at += 65536) yield slice.subarray(at, at + 65536)
      }
      return { size: file.bytes.length, stream: stream() }
    },
    async stat(capability) {
      const { file } = lookup(capability)
      return {
        size: file.bytes.length,
        k: file.k,
        n: file.n,
        ...(file.name === undefined ? {} : { name: file.name }),
        ...(file.type === undefined ? {} : { type: file.type }),
      }
    },
    async status(capability): Promise<FileStatus> {
      statusCalls.push(capability)
      const { manifest, file } = lookup(capability)
      const slots = Array.from({ length: file.n }, (_, slot) => {
        const override = slotOverrides.get(`${manifest}/${slot}`)
        const node = nodes.find((n) => n.peerId === override?.peerId) ?? nodes[slot % nodes.length]!
        const state: SlotState = override?.state ?? node.state
        return { slot, peerId: node.peerId, state, pieces: 1 }
      })
      const alive = slots.filter((s) => s.state === 'alive').length
      const health = alive === file.n ? 'healthy' : alive > file.k ? 'degraded' : alive === file.k ? 'at-risk' : 'lost'
      return {
        manifest,
        size: file.bytes.length,
        k: file.k,
        n: file.n,
        segments: 1,
        segmentsReadable: alive >= file.k ? 1 : 0,
        health,
        slots,
      }
    },
    async nodes() {
      return nodes.map((node) => ({ ...node }))
    },
    async list() {
      return [...records.values()]
    },
    async find(capability) {
      return records.get(capability)
    },
    async forget(capability) {
      return records.delete(capability)
    },
    async remove(capability) {
      removed.push(capability)
      records.delete(capability)
      return { deals: [{ dealId: '1', outcome: 'ended' as const, refund: '0' }] }
    },
    async adopt(file) {
      if (!records.has(file.capability)) records.set(file.capability, file)
    },
    async deals() {
      return []
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setNodeState(peerId, state) {
      const node = nodes.find((n) => n.peerId === peerId)
      if (node !== undefined) node.state = state
    },
    emit,
    setSlot(capability, slot, holder) {
      slotOverrides.set(`${lookup(capability).manifest}/${slot}`, holder)
    },
    get storedBytes() {
      return storedBytes
    },
    getCalls,
    statusCalls,
    removed,
  }
}
