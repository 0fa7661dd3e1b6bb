/**
 * The S3 catalogs a gateway keeps through names (docs/protocol.md, "Names", "S3 buckets through names"): the bucket
 * list and, per bucket, key -> versions. Pure data: how a change applies, how two writers' changes merge (a racing
 * write becomes a newer version, never a lost one), and the bounded JSON each is stored as (an ordinary Cairn file).
 */
import { createHash } from 'node:crypto'
import { CorruptDataError } from '../errors.ts'
import type { ObjectPart, S3Object } from './gateway-database.ts'

/** Keys (live or deleted) one bucket's catalog holds at most: a bucket cannot grow one file without bound. */
export const MAX_CATALOG_KEYS = 10_000
/** Live versions kept per key; an older one leaves the catalog (and its file's deals end). */
export const MAX_VERSIONS_PER_KEY = 10
/** Largest catalog file read or written. */
export const MAX_CATALOG_BYTES = 32 * 1024 * 1024
/** A deleted key's marker is kept this long, so that an older write flushed late by another gateway stays deleted. */
export const DELETE_MARKER_MS = 30 * 24 * 3600 * 1000

const CATALOG_FORMAT = 'cairn-s3-catalog/v1'
const BUCKET_LIST_FORMAT = 'cairn-s3-buckets/v1'

/** One version of a key: an object, or a delete marker (`deleted`). */
export interface CatalogVersion {
  /** Derived from the version's content (versionId): the same write seen twice is one version. */
  id: string
  /** Milliseconds since the epoch: versions are ordered by (time, id). */
  time: number
  deleted?: true
  size: number
  etag: string
  contentType: string
  metadata: Record<string, string>
  parts: ObjectPart[]
}

/** A bucket's catalog: key -> versions, oldest first, the current one last. */
export interface BucketCatalog {
  keys: Map<string, CatalogVersion[]>
}

/** The bucket list: name -> when it was last created and (when later) deleted. */
export interface BucketList {
  buckets: Map<string, { createdAt: number; deletedAt?: number }>
}

export type BucketChange = { kind: 'create' | 'delete'; bucket: string; time: number }

function versionId(key: string, body: Omit<CatalogVersion, 'id'>): string {
  const text = JSON.stringify([key, body.time, body.deleted === true, body.etag, body.parts, body.size])
  return createHash('sha256').update(text).digest('base64url').slice(0, 22)
}

/** The catalog version of an object as the index holds it. */
export function objectVersion(object: S3Object): CatalogVersion {
  const body = {
    time: object.lastModified,
    size: object.size,
    etag: object.etag,
    contentType: object.contentType,
    metadata: object.metadata,
    parts: object.parts,
  }
  return { id: versionId(object.key, body), ...body }
}

/** A delete marker of `key` at `time`. */
export function deleteMarker(key: string, time: number): CatalogVersion {
  const body = { time, deleted: true as const, size: 0, etag: '', contentType: '', metadata: {}, parts: [] }
  return { id: versionId(key, body), ...body }
}

const byOrder = (a: CatalogVersion, b: CatalogVersion): number =>
  a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * `versions` with `version` added: ordered by (time, id), the same version once, nothing older than the newest delete
 * marker, at most MAX_VERSIONS_PER_KEY. Commutative: two gateways applying each other's changes reach one list.
 */
export function addVersion(versions: readonly CatalogVersion[], version: CatalogVersion): CatalogVersion[] {
  if (versions.some((v) => v.id === version.id)) return [...versions]
  const all = [...versions, version].sort(byOrder)
  let marker = -1
  for (let i = 0; i < all.length; i++) if (all[i]!.deleted === true) marker = i
  const live = marker === -1 ? all : all.slice(marker)
  return live.slice(-MAX_VERSIONS_PER_KEY)
}

/** The current object of a key (undefined when it has none or was deleted last). */
export function currentVersion(versions: readonly CatalogVersion[] | undefined): CatalogVersion | undefined {
  const last = versions?.at(-1)
  return last === undefined || last.deleted === true ? undefined : last
}

/** `catalog` with `changes` (key, version) applied, delete markers older than `now - DELETE_MARKER_MS` dropped. */
export function applyObjectChanges(
  catalog: BucketCatalog,
  changes: ReadonlyArray<{ key: string; version: CatalogVersion }>,
  now = Date.now(),
): BucketCatalog {
  const keys = new Map(catalog.keys)
  for (const { key, version } of changes) keys.set(key, addVersion(keys.get(key) ?? [], version))
  for (const [key, versions] of keys) {
    const last = versions.at(-1)
    if (last === undefined || (last.deleted === true && versions.length === 1 && last.time < now - DELETE_MARKER_MS))
      keys.delete(key)
  }
  return { keys }
}

/** `list` with `changes` applied: a bucket exists when created after it was last deleted. */
export function applyBucketChanges(list: BucketList, changes: readonly BucketChange[]): BucketList {
  const buckets = new Map(list.buckets)
  for (const change of changes) {
    const entry = buckets.get(change.bucket)
    if (change.kind === 'create') {
      if (entry === undefined) buckets.set(change.bucket, { createdAt: change.time })
      else if (entry.deletedAt !== undefined && change.time > entry.deletedAt && change.time > entry.createdAt)
        buckets.set(change.bucket, { createdAt: change.time })
    } else if (entry !== undefined && change.time >= entry.createdAt && change.time > (entry.deletedAt ?? 0)) {
      buckets.set(change.bucket, { createdAt: entry.createdAt, deletedAt: change.time })
    }
  }
  return { buckets }
}

/** Whether a bucket of the list exists now. */
export function bucketExists(entry: { createdAt: number; deletedAt?: number } | undefined): boolean {
  return entry !== undefined && (entry.deletedAt === undefined || entry.deletedAt < entry.createdAt)
}

/** Every Cairn file the catalog's versions hold. */
export function catalogCapabilities(catalog: BucketCatalog): Set<string> {
  const found = new Set<string>()
  for (const versions of catalog.keys.values())
    for (const v of versions) for (const p of v.parts) found.add(p.capability)
  return found
}

/** The catalog as stored: JSON, keys sorted (one catalog, one encoding). */
export function encodeCatalog(catalog: BucketCatalog): Uint8Array {
  const keys = [...catalog.keys.keys()].sort()
  const text = JSON.stringify({ format: CATALOG_FORMAT, keys: keys.map((key) => [key, catalog.keys.get(key)]) })
  return new TextEncoder().encode(text)
}

/** The bucket list as stored. */
export function encodeBucketList(list: BucketList): Uint8Array {
  const names = [...list.buckets.keys()].sort()
  const text = JSON.stringify({
    format: BUCKET_LIST_FORMAT,
    buckets: names.map((name) => [name, list.buckets.get(name)]),
  })
  return new TextEncoder().encode(text)
}

function corrupt(what: string, problem: string): CorruptDataError {
  return new CorruptDataError(`the S3 ${what} read through the names is not valid: ${problem}`)
}

function parseJson(bytes: Uint8Array, what: string, format: string): Record<string, unknown> {
  if (bytes.byteLength > MAX_CATALOG_BYTES) throw corrupt(what, `${bytes.byteLength} bytes, over ${MAX_CATALOG_BYTES}`)
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (error) {
    throw corrupt(what, `not UTF-8 JSON (${(error as Error).message})`)
  }
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== format)
    throw corrupt(what, `format is not ${format}`)
  return value as Record<string, unknown>
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isText = (v: unknown): v is string => typeof v === 'string'

function checkVersion(value: unknown): CatalogVersion {
  const v = value as Partial<CatalogVersion> | null
  if (typeof v !== 'object' || v === null) throw corrupt('catalog', 'a version is not an object')
  const parts = v.parts
  const metadata = v.metadata
  if (
    !isText(v.id) ||
    !isCount(v.time) ||
    !isCount(v.size) ||
    !isText(v.etag) ||
    !isText(v.contentType) ||
    (v.deleted !== undefined && v.deleted !== true) ||
    typeof metadata !== 'object' ||
    metadata === null ||
    !Object.values(metadata).every(isText) ||
    !Array.isArray(parts) ||
    !parts.every((p: Partial<ObjectPart>) => isText(p?.capability) && isCount(p.size))
  )
    throw corrupt('catalog', `version ${JSON.stringify(v.id)} has a missing or mistyped field`)
  return {
    id: v.id,
    time: v.time,
    ...(v.deleted === true ? { deleted: true as const } : {}),
    size: v.size,
    etag: v.etag,
    contentType: v.contentType,
    metadata: { ...metadata },
    parts: parts.map((p) => ({ capability: p.capability, size: p.size })),
  }
}

/** Reads a stored catalog; anything else is a `CorruptDataError` naming the problem. */
export function decodeCatalog(bytes: Uint8Array): BucketCatalog {
  const value = parseJson(bytes, 'catalog', CATALOG_FORMAT)
  if (!Array.isArray(value.keys)) throw corrupt('catalog', 'keys is not a list')
  // Gateways racing near the bound may together pass it a little; far past it is not a catalog Cairn wrote.
  if (value.keys.length > 2 * MAX_CATALOG_KEYS)
    throw corrupt('catalog', `${value.keys.length} keys, over ${2 * MAX_CATALOG_KEYS}`)
  const keys = new Map<string, CatalogVersion[]>()
  for (const entry of value.keys as unknown[]) {
    if (!Array.isArray(entry) || !isText(entry[0]) || !Array.isArray(entry[1]) || entry[1].length === 0)
      throw corrupt('catalog', 'an entry is not [key, versions]')
    if (entry[1].length > MAX_VERSIONS_PER_KEY) throw corrupt('catalog', `key ${entry[0]} has too many versions`)
    keys.set(entry[0], (entry[1] as unknown[]).map(checkVersion).sort(byOrder))
  }
  return { keys }
}

/** Reads a stored bucket list. */
export function decodeBucketList(bytes: Uint8Array): BucketList {
  const value = parseJson(bytes, 'bucket list', BUCKET_LIST_FORMAT)
  if (!Array.isArray(value.buckets)) throw corrupt('bucket list', 'buckets is not a list')
  const buckets = new Map<string, { createdAt: number; deletedAt?: number }>()
  for (const entry of value.buckets as unknown[]) {
    const times = (Array.isArray(entry) ? entry[1] : undefined) as { createdAt?: unknown; deletedAt?: unknown }
    if (!Array.isArray(entry) || !isText(entry[0]) || typeof times !== 'object' || times === null)
      throw corrupt('bucket list', 'an entry is not [name, times]')
    if (!isCount(times.createdAt) || (times.deletedAt !== undefined && !isCount(times.deletedAt)))
      throw corrupt('bucket list', `bucket ${entry[0]} has no valid times`)
    buckets.set(entry[0], {
      createdAt: times.createdAt,
      ...(times.deletedAt === undefined ? {} : { deletedAt: times.deletedAt }),
    })
  }
  return { buckets }
}

/** Whether two catalogs hold the same versions (a flush that changes nothing publishes nothing). */
export function sameCatalog(a: BucketCatalog, b: BucketCatalog): boolean {
  return Buffer.from(encodeCatalog(a)).equals(Buffer.from(encodeCatalog(b)))
}

/** Whether two bucket lists are the same. */
export function sameBucketList(a: BucketList, b: BucketList): boolean {
  return Buffer.from(encodeBucketList(a)).equals(Buffer.from(encodeBucketList(b)))
}
