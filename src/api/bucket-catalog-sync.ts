/**
 * Keeps a gateway's S3 buckets and objects in names of its wallet (docs/protocol.md, "S3 buckets through names"), so
 * that gateways started with one key share them. SQLite stays the local index and write-back cache: an S3 write
 * changes the index at once and is queued; the queue is flushed every `flushMs` or `maxPending` changes, one
 * compare-and-swap publish per changed name (`updateName`: a racing gateway's write is merged, never lost). Reads and
 * lists refresh a bucket from its name when the name's sequence moved (one `eth_call`, cached `sequenceCacheMs`).
 */
import { Readable } from 'node:stream'
import {
  applyBucketChanges,
  applyObjectChanges,
  type BucketCatalog,
  type BucketChange,
  type BucketList,
  bucketExists,
  type CatalogVersion,
  catalogCapabilities,
  currentVersion,
  decodeBucketList,
  decodeCatalog,
  deleteMarker,
  encodeBucketList,
  encodeCatalog,
  MAX_CATALOG_BYTES,
  MAX_CATALOG_KEYS,
  objectVersion,
  sameBucketList,
  sameCatalog,
} from './bucket-catalog.ts'
import type { CatalogNameStore, CatalogNames } from './bucket-catalog-names.ts'
import type { GatewayIndex, S3Object } from './gateway-database.ts'
import type { FileService } from './interface.ts'

export const DEFAULT_CATALOG_FLUSH_MS = 2000
export const DEFAULT_CATALOG_MAX_PENDING = 64
export const DEFAULT_SEQUENCE_CACHE_MS = 1000
/** A sequence read that takes longer fails (the request is served from the index). */
export const SEQUENCE_READ_TIMEOUT_MS = 3000
/** An S3 request waits this long for a catalog to be read; then it is served from the index (the read goes on). */
export const REFRESH_WAIT_MS = 10_000

export interface BucketCatalogSyncComponents {
  files: Pick<FileService, 'put' | 'get' | 'remove' | 'forget'>
  index: GatewayIndex
  store: CatalogNameStore
  names: CatalogNames
  /** One line for the gateway's log. */
  log: (line: string) => void
}

export interface BucketCatalogSyncInit {
  flushMs?: number
  /** Keys a bucket may hold (MAX_CATALOG_KEYS when absent; tests lower it). */
  maxKeys?: number
  maxPending?: number
  sequenceCacheMs?: number
}

export interface BucketCatalogSync {
  /** Reads the names, offers what the local index holds (writes a crash kept from a flush) and starts flushing. */
  start(): Promise<void>
  /** Flushes what is queued (bounded by `signal`) and stops. */
  stop(options?: { signal?: AbortSignal }): Promise<void>
  /** Brings the index's bucket list up to the names (when their sequence moved). Never throws: logs. */
  refreshBuckets(): Promise<void>
  /** Brings the index's objects of `bucket` up to its catalog (when its sequence moved). Never throws: logs. */
  refreshBucket(bucket: string): Promise<void>
  /** Queues a CreateBucket or DeleteBucket done on the index. */
  recordBucket(kind: 'create' | 'delete', bucket: string): void
  /** Queues an object written (`object`) or deleted (undefined) on the index. */
  recordObject(bucket: string, key: string, object: S3Object | undefined): void
  /** Whether `bucket` has room for `key` (a key it holds, or fewer than `maxKeys` keys). */
  hasRoom(bucket: string, key: string): boolean
  /** The most keys a bucket holds. */
  readonly maxKeys: number
  /** Every key of `bucket` with its versions (oldest first), as this gateway sees them now, keys sorted. */
  versions(bucket: string): Array<[string, CatalogVersion[]]>
  /** Publishes what is queued now. */
  flush(): Promise<void>
}

interface Seen<T> {
  sequence: number
  value: T
}

const emptyCatalog = (): BucketCatalog => ({ keys: new Map() })
const emptyList = (): BucketList => ({ buckets: new Map() })

/**
 * @example
 * ```ts
 * const sync = createBucketCatalogSync({ files, index, store: chainNameStore(client), names: catalogNames(key), log })
 * await sync.start()
 * ```
 */
export function createBucketCatalogSync(
  components: BucketCatalogSyncComponents,
  init: BucketCatalogSyncInit = {},
): BucketCatalogSync {
  const { files, index, store, names, log } = components
  const flushMs = init.flushMs ?? DEFAULT_CATALOG_FLUSH_MS
  const maxPending = init.maxPending ?? DEFAULT_CATALOG_MAX_PENDING
  const cacheMs = init.sequenceCacheMs ?? DEFAULT_SEQUENCE_CACHE_MS
  const maxKeys = init.maxKeys ?? MAX_CATALOG_KEYS
  let bucketList: Seen<BucketList> = { sequence: -1, value: emptyList() }
  const catalogs = new Map<string, Seen<BucketCatalog>>()
  const pendingBuckets: BucketChange[] = []
  const pendingObjects = new Map<string, Array<{ key: string; version: CatalogVersion }>>()
  const sequences = new Map<string, { at: number; sequence: Promise<number> }>()
  const refreshing = new Map<string, Promise<void>>()
  let flushing: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let lastWarning = ''

  const warn = (what: string, error: unknown): void => {
    const line = `warning: S3 catalog: ${what}: ${error instanceof Error ? error.message : String(error)}`
    if (line !== lastWarning) log(line)
    lastWarning = line
  }

  function pendingCount(): number {
    let count = pendingBuckets.length
    for (const changes of pendingObjects.values()) count += changes.length
    return count
  }

  async function readBytes(capability: string): Promise<Uint8Array> {
    const { size, stream } = await files.get(capability, {}, { signal: AbortSignal.timeout(120_000) })
    if (size > MAX_CATALOG_BYTES) throw new Error(`catalog file of ${size} bytes, over ${MAX_CATALOG_BYTES}`)
    const chunks: Uint8Array[] = []
    for await (const chunk of stream) chunks.push(chunk)
    return Buffer.concat(chunks)
  }

  async function writeBytes(bytes: Uint8Array): Promise<string> {
    const put = await files.put(Readable.from([bytes]), { name: 'cairn-s3-catalog.json', type: 'application/json' })
    return put.capability
  }

  async function removeFile(capability: string): Promise<void> {
    try {
      if (files.remove !== undefined) await files.remove(capability)
      else await files.forget(capability)
    } catch (error) {
      warn('could not end the deals of a file the catalog no longer holds', error)
    }
  }

  function sequenceOf(name: string): Promise<number> {
    const cached = sequences.get(name)
    if (cached !== undefined && Date.now() - cached.at < cacheMs) return cached.sequence
    // A failed read is cached too: while the chain is unreachable, requests are served from the index at once.
    const sequence = store.sequence(name, { signal: AbortSignal.timeout(SEQUENCE_READ_TIMEOUT_MS) })
    sequences.set(name, { at: Date.now(), sequence })
    sequence.catch(() => {})
    return sequence
  }

  /**
   * Runs `body` unless a run for `name` is in progress, then joins that one; waits at most REFRESH_WAIT_MS (the run
   * goes on, and its failure is logged).
   */
  function once(name: string, body: () => Promise<void>): Promise<void> {
    let run = refreshing.get(name)
    if (run === undefined) {
      run = body().finally(() => refreshing.delete(name))
      refreshing.set(name, run)
      run.catch((error: unknown) => warn('could not read a catalog (serving the local index)', error))
    }
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, REFRESH_WAIT_MS)
    })
    return Promise.race([run.catch(() => {}), waited]).finally(() => clearTimeout(timer))
  }

  function materializeBuckets(): void {
    const view = applyBucketChanges(bucketList.value, pendingBuckets)
    const local = new Set(index.listBuckets().map((b) => b.name))
    for (const [name, entry] of view.buckets) if (bucketExists(entry) && !local.has(name)) index.createBucket(name)
    for (const name of local) {
      if (!bucketExists(view.buckets.get(name)) && index.bucketIsEmpty(name)) index.deleteBucket(name)
    }
  }

  function materializeBucket(bucket: string): void {
    const seen = catalogs.get(bucket)?.value ?? emptyCatalog()
    const view = applyObjectChanges(seen, pendingObjects.get(bucket) ?? [])
    const rows = new Map(
      index.listObjects(bucket, { prefix: '', maxKeys: Number.MAX_SAFE_INTEGER }).objects.map((o) => [o.key, o]),
    )
    for (const [key, versions] of view.keys) {
      const current = currentVersion(versions)
      const row = rows.get(key)
      if (current === undefined) continue
      if (row === undefined || objectVersion(row).id !== current.id) {
        const { size, etag, contentType, metadata, parts, time } = current
        index.putObject({ bucket, key, size, etag, contentType, metadata, parts, lastModified: time })
      }
    }
    for (const key of rows.keys()) if (currentVersion(view.keys.get(key)) === undefined) index.deleteObject(bucket, key)
  }

  async function refreshBuckets(): Promise<void> {
    try {
      const sequence = await sequenceOf(names.buckets)
      if (sequence <= bucketList.sequence) return
      await once(names.buckets, async () => {
        const found = await store.resolve(names.buckets, { signal: AbortSignal.timeout(60_000) })
        const value = found === undefined ? emptyList() : decodeBucketList(await readBytes(found.capability))
        const read = found?.sequence ?? 0
        if (read > bucketList.sequence || bucketList.sequence === -1) bucketList = { sequence: read, value }
        materializeBuckets()
      })
    } catch (error) {
      warn('could not read the bucket list (serving the local index)', error)
    }
  }

  async function refreshBucket(bucket: string): Promise<void> {
    const name = names.bucket(bucket)
    try {
      const sequence = await sequenceOf(name)
      if (sequence <= (catalogs.get(bucket)?.sequence ?? -1)) return
      await once(name, async () => {
        const found = await store.resolve(name, { signal: AbortSignal.timeout(60_000) })
        const value = found === undefined ? emptyCatalog() : decodeCatalog(await readBytes(found.capability))
        const read = found?.sequence ?? 0
        if (read > (catalogs.get(bucket)?.sequence ?? -1)) catalogs.set(bucket, { sequence: read, value })
        materializeBucket(bucket)
      })
    } catch (error) {
      warn(`could not read the catalog of bucket ${bucket} (serving the local index)`, error)
    }
  }

  /** One compare-and-swap write of `name`: merge into what is there, put the merged file, publish it. */
  async function publish<T>(
    name: string,
    empty: () => T,
    decode: (bytes: Uint8Array) => T,
    merge: (remote: T) => T,
    same: (a: T, b: T) => boolean,
    encode: (value: T) => Uint8Array,
  ): Promise<{ sequence?: number; remote: T; merged: T }> {
    const written: string[] = []
    let last: { remote: T; merged: T; previous?: string } | undefined
    const sequence = await store.update(
      name,
      async (capability) => {
        const remote = capability === undefined ? empty() : decode(await readBytes(capability))
        const merged = merge(remote)
        last = { remote, merged, ...(capability === undefined ? {} : { previous: capability }) }
        if (capability !== undefined && same(remote, merged)) return undefined
        const next = await writeBytes(encode(merged))
        written.push(next)
        return next
      },
      { signal: AbortSignal.timeout(300_000) },
    )
    // Catalog files of attempts another writer beat, and the catalog this one supersedes, are no longer needed.
    const previous = last?.previous === undefined ? [] : [last.previous]
    const superseded = sequence === undefined ? written : [...written.slice(0, -1), ...previous]
    for (const capability of superseded) await removeFile(capability)
    return { ...(sequence === undefined ? {} : { sequence }), remote: last!.remote, merged: last!.merged }
  }

  async function flushBuckets(): Promise<void> {
    if (pendingBuckets.length === 0) return
    const batch = pendingBuckets.slice()
    const result = await publish(
      names.buckets,
      emptyList,
      decodeBucketList,
      (remote) => applyBucketChanges(remote, batch),
      sameBucketList,
      encodeBucketList,
    )
    pendingBuckets.splice(0, batch.length)
    if (result.sequence !== undefined && result.sequence > bucketList.sequence)
      bucketList = { sequence: result.sequence, value: result.merged }
    // The merge may hold other gateways' changes too: the index shows them now.
    materializeBuckets()
  }

  async function flushBucket(bucket: string): Promise<void> {
    const batch = (pendingObjects.get(bucket) ?? []).slice()
    if (batch.length === 0) return
    const result = await publish(
      names.bucket(bucket),
      emptyCatalog,
      decodeCatalog,
      (remote) => applyObjectChanges(remote, batch),
      sameCatalog,
      encodeCatalog,
    )
    const left = (pendingObjects.get(bucket) ?? []).slice(batch.length)
    if (left.length === 0) pendingObjects.delete(bucket)
    else pendingObjects.set(bucket, left)
    if (result.sequence !== undefined && result.sequence > (catalogs.get(bucket)?.sequence ?? -1))
      catalogs.set(bucket, { sequence: result.sequence, value: result.merged })
    materializeBucket(bucket)
    // Files of versions that left the catalog (deleted, or older than the versions kept) end their deals.
    const kept = catalogCapabilities(result.merged)
    const dropped = new Set(catalogCapabilities(result.remote))
    for (const { version } of batch) for (const part of version.parts) dropped.add(part.capability)
    for (const capability of dropped) {
      if (!kept.has(capability) && !index.isReferenced(capability)) await removeFile(capability)
    }
  }

  async function flushNow(): Promise<void> {
    try {
      await flushBuckets()
      for (const bucket of [...pendingObjects.keys()]) await flushBucket(bucket)
    } catch (error) {
      warn(`could not publish (${pendingCount()} changes wait for the next flush)`, error)
    }
  }

  function flush(): Promise<void> {
    flushing ??= flushNow().finally(() => {
      flushing = undefined
    })
    return flushing
  }

  function queued(): void {
    if (pendingCount() >= maxPending) void flush()
  }

  return {
    async start() {
      // What the index holds and the names do not (a bucket made before names, a write a crash kept from a flush),
      // read before the names are applied to the index
      const localBuckets = index.listBuckets()
      const localObjects = new Map(
        localBuckets.map(({ name }) => [
          name,
          index.listObjects(name, { prefix: '', maxKeys: Number.MAX_SAFE_INTEGER }).objects,
        ]),
      )
      await refreshBuckets()
      const now = Date.now()
      for (const { name, createdAt } of localBuckets) {
        if (!bucketExists(bucketList.value.buckets.get(name)))
          pendingBuckets.push({ kind: 'create', bucket: name, time: Math.min(createdAt, now) })
      }
      materializeBuckets()
      for (const { name } of index.listBuckets()) {
        await refreshBucket(name)
        const catalog = catalogs.get(name)?.value ?? emptyCatalog()
        const offered = (localObjects.get(name) ?? [])
          .map((object) => ({ key: object.key, version: objectVersion(object) }))
          .filter(({ key, version }) => !(catalog.keys.get(key) ?? []).some((v) => v.id === version.id))
        if (offered.length > 0) pendingObjects.set(name, [...offered, ...(pendingObjects.get(name) ?? [])])
        materializeBucket(name)
      }
      timer = setInterval(() => void flush(), flushMs)
      timer.unref()
      if (pendingCount() > 0) void flush()
    },
    async stop(options = {}) {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      const deadline = options.signal ?? AbortSignal.timeout(30_000)
      const aborted = new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve()))
      await Promise.race([(flushing ?? Promise.resolve()).then(() => flush()), aborted])
      if (pendingCount() > 0) log(`warning: S3 catalog: ${pendingCount()} changes were not published before stop`)
    },
    refreshBuckets,
    refreshBucket,
    recordBucket(kind, bucket) {
      pendingBuckets.push({ kind, bucket, time: Date.now() })
      queued()
    },
    recordObject(bucket, key, object) {
      // A delete marker comes after every version this gateway knows of the key, even one written in the same ms.
      const known = [
        ...(catalogs.get(bucket)?.value.keys.get(key) ?? []),
        ...(pendingObjects.get(bucket) ?? []).filter((change) => change.key === key).map((change) => change.version),
      ]
      const after = Math.max(Date.now(), ...known.map((v) => v.time + 1))
      const version = object === undefined ? deleteMarker(key, after) : objectVersion(object)
      pendingObjects.set(bucket, [...(pendingObjects.get(bucket) ?? []), { key, version }])
      queued()
    },
    hasRoom(bucket, key) {
      const seen = catalogs.get(bucket)?.value ?? emptyCatalog()
      if (seen.keys.has(key) || index.getObject(bucket, key) !== undefined) return true
      const view = applyObjectChanges(seen, pendingObjects.get(bucket) ?? [])
      return view.keys.size < maxKeys
    },
    maxKeys,
    versions(bucket) {
      const view = applyObjectChanges(catalogs.get(bucket)?.value ?? emptyCatalog(), pendingObjects.get(bucket) ?? [])
      return [...view.keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    },
    flush,
  }
}
