/**
 * Adapter from the node layer's `Client` (put, get, status, nodes over libp2p) to the gateway's `FileService`.
 */
import type { Client, EndedDeal, FileRecord, FileRecordStore, FileStatus as NodeFileStatus } from '../client/index.ts'
import type { PeerView } from '../node/index.ts'
import { manifestOf } from './capability-text.ts'
import type {
  CairnEvent,
  FileHealth,
  FileService,
  FileStat,
  FileStatus,
  NodeInfo,
  SlotState,
  StoredFile,
} from './interface.ts'

/** A node the gateway knows by configuration (e.g. a devnet's devnet.json), with extra facts when reachable. */
export interface KnownNode {
  peerId: string
  label?: string
  multiaddrs?: string[]
  /** Reads the node's own usage report; throws when the node does not answer. */
  usage?: (options: { signal?: AbortSignal }) => Promise<{ pieces: number; bytes: number }>
}

export interface CairnFileServiceComponents {
  client: Client
  /** Nodes to show even when the client does not see them (they are then reported dead). */
  knownNodes?: () => KnownNode[]
  /** The user's record of files put (the client's files.jsonl: `cairn ls` and the gateway show the same list). */
  records: FileRecordStore
  /** Ends the deals of a file that the user's wallet opened (on chain only). */
  endDeals?: (manifestCid: string, options: { signal?: AbortSignal }) => Promise<EndedDeal[]>
}

function toStoredFile(record: FileRecord): StoredFile {
  return {
    capability: record.capability,
    manifest: record.manifestCid,
    size: record.size,
    k: record.k,
    n: record.n,
    createdAt: record.storedAt,
    ...(record.name === undefined ? {} : { name: record.name }),
    ...(record.type === undefined ? {} : { type: record.type }),
  }
}

export interface CairnFileServiceInit {
  /** Redundancy when a caller gives none (the client's default when absent). */
  k?: number
  n?: number
}

const STAT_CACHE_SIZE = 1000

function healthOf(status: NodeFileStatus): FileHealth {
  const complete = status.slotsAlive
  if (complete === status.n) return 'healthy'
  if (complete > status.k) return 'degraded'
  if (complete === status.k || status.segmentsReadable === status.segments) return 'at-risk'
  return 'lost'
}

function toNodeInfo(view: PeerView, now: number): NodeInfo {
  const info: NodeInfo = {
    peerId: view.peerId,
    state: view.state,
    multiaddrs: view.multiaddrs,
    lastHeartbeat: now - view.lastSeenMs,
  }
  if (view.phi !== undefined) info.phi = view.phi
  if (view.freeSpace !== undefined) info.freeBytes = view.freeSpace
  if (view.version !== undefined) info.version = view.version
  return info
}

/**
 * @example
 * ```ts
 * const files = createCairnFileService({ client, knownNodes: () => devnetNodes }, {})
 * const gateway = createGateway({ files }, { dataDir, port: 7070 })
 * ```
 */
export function createCairnFileService(
  components: CairnFileServiceComponents,
  init: CairnFileServiceInit = {},
): FileService {
  const { client } = components
  const stats = new Map<string, FileStat>()
  const listeners = new Set<(event: CairnEvent) => void>()
  const emit = (event: CairnEvent): void => {
    for (const listener of listeners) listener(event)
  }

  function remember(capability: string, stat: FileStat): void {
    stats.set(capability, stat)
    if (stats.size > STAT_CACHE_SIZE) {
      const oldest = stats.keys().next().value
      if (oldest !== undefined) stats.delete(oldest)
    }
  }

  async function stat(capability: string, options: { signal?: AbortSignal } = {}): Promise<FileStat> {
    const cached = stats.get(capability)
    if (cached !== undefined) return cached
    const status = await client.status(capability, options)
    const result = { size: status.size, k: status.k, n: status.n }
    remember(capability, result)
    return result
  }

  return {
    async put(source, putInit, options = {}) {
      const k = putInit.k ?? init.k
      const n = putInit.n ?? init.n
      const metadata: { name?: string; type?: string; mtime: number } = { mtime: Date.now() }
      if (putInit.name !== undefined) metadata.name = putInit.name
      if (putInit.type !== undefined) metadata.type = putInit.type
      let read = 0
      const result = await client.put(
        source,
        {
          ...(k === undefined ? {} : { k }),
          ...(n === undefined ? {} : { n }),
          metadata,
          onProgress: (event) => {
            if (event.type === 'put:read') {
              read = event.bytes
              options.onProgress?.({ type: 'progress', bytes: read })
            } else if (event.type === 'put:piece') {
              emit({
                type: 'piece:stored',
                at: Date.now(),
                slot: event.slot,
                peerId: event.peerId,
                segment: event.segment,
                bytes: event.bytes,
              })
            }
          },
        },
        options.signal === undefined ? {} : { signal: options.signal },
      )
      const stored: FileStat = { size: result.size, k: result.k, n: result.n }
      if (putInit.name !== undefined) stored.name = putInit.name
      if (putInit.type !== undefined) stored.type = putInit.type
      remember(result.capability, stored)
      return { capability: result.capability, size: result.size, k: result.k, n: result.n }
    },

    async get(capability, range, options = {}) {
      const { size } = await stat(capability, options)
      const getInit: { offset?: number; length?: number } = {}
      if (range.offset !== undefined) getInit.offset = range.offset
      if (range.length !== undefined) getInit.length = range.length
      return { size, stream: client.get(capability, getInit, options) }
    },

    stat,

    async status(capability, options = {}): Promise<FileStatus> {
      const status = await client.status(capability, options)
      remember(capability, { ...(stats.get(capability) ?? {}), size: status.size, k: status.k, n: status.n })
      return {
        manifest: status.manifestCid,
        size: status.size,
        k: status.k,
        n: status.n,
        segments: status.segments,
        segmentsReadable: status.segmentsReadable,
        health: healthOf(status),
        ...(status.repairBlocked === undefined ? {} : { repairBlocked: status.repairBlocked }),
        slots: status.slots.map((slot) => {
          const state: SlotState = slot.peerId === null ? 'unknown' : slot.state
          const repair = slot.repair
          return {
            slot: slot.index,
            state,
            pieces: slot.held,
            ...(slot.peerId === null ? {} : { peerId: slot.peerId }),
            ...(repair === undefined
              ? {}
              : { repair: { from: repair.from, to: repair.to, done: repair.done, pieces: repair.pieces } }),
          }
        }),
      }
    },

    async nodes(options = {}) {
      const now = Date.now()
      const views = await client.nodes(options)
      const byPeer = new Map(views.map((view) => [view.peerId, toNodeInfo(view, now)]))
      const known = components.knownNodes?.() ?? []
      await Promise.all(
        known.map(async (node) => {
          let info = byPeer.get(node.peerId)
          if (info === undefined) {
            info = { peerId: node.peerId, state: 'dead', multiaddrs: node.multiaddrs ?? [] }
            byPeer.set(node.peerId, info)
          }
          if (node.label !== undefined) info.label = node.label
          if (node.usage !== undefined && info.state !== 'dead') {
            try {
              const usage = await node.usage({ signal: AbortSignal.timeout(1500) })
              info.pieces = usage.pieces
              info.usedBytes = usage.bytes
            } catch {
              // a node that does not answer keeps its detector state; its usage stays unknown
            }
          }
        }),
      )
      const order = new Map(known.map((node, i) => [node.peerId, i]))
      return [...byPeer.values()].sort(
        (a, b) => (order.get(a.peerId) ?? 1e9) - (order.get(b.peerId) ?? 1e9) || a.peerId.localeCompare(b.peerId),
      )
    },

    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

    async list() {
      return (await components.records.list()).map(toStoredFile)
    },

    async find(capability) {
      const record = await components.records.find(manifestOf(capability))
      return record?.capability === capability ? toStoredFile(record) : undefined
    },

    forget: (capability) => components.records.forget(manifestOf(capability)),

    ...(components.endDeals === undefined
      ? {}
      : {
          async remove(capability: string, options: { signal?: AbortSignal } = {}) {
            const deals = await components.endDeals!(manifestOf(capability), options)
            await components.records.forget(manifestOf(capability))
            return { deals: deals.map(({ dealId, outcome, refund }) => ({ dealId, outcome, refund })) }
          },
        }),

    async adopt(file) {
      if ((await components.records.find(file.manifest)) !== undefined) return
      await components.records.add({
        capability: file.capability,
        manifestCid: file.manifest,
        size: file.size,
        k: file.k,
        n: file.n,
        slots: [],
        storedAt: file.createdAt,
        ...(file.name === undefined ? {} : { name: file.name }),
        ...(file.type === undefined ? {} : { type: file.type }),
      })
    },
  }
}
