/**
 * The gateway's durable index (node:sqlite, WAL, synchronous=FULL) in its data folder: the S3 view (buckets, objects
 * as lists of Cairn files, multipart uploads in progress and where their parts are staged on the gateway's disk). The
 * files the user stored are the client's record (files.jsonl), not here: gateways before kept them in a `files`
 * table, which the gateway moves into the record once (`legacyFiles`, then `dropLegacyFiles`).
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { INDEX_DATABASE_FILE } from './constants.ts'
import type { StoredFile } from './interface.ts'

/**
 * One stored part of an S3 object: a Cairn file. Objects written by PutObject or (since parts are staged) by
 * CompleteMultipartUpload have exactly one; objects completed by older gateways have one per uploaded part.
 */
export interface ObjectPart {
  capability: string
  size: number
}

export interface S3Object {
  bucket: string
  key: string
  size: number
  /** Quoted, as S3 sends it. */
  etag: string
  contentType: string
  /** User metadata (`x-amz-meta-*`, names without the prefix). */
  metadata: Record<string, string>
  parts: ObjectPart[]
  /** Milliseconds since the epoch. */
  lastModified: number
}

export interface MultipartUpload {
  uploadId: string
  bucket: string
  key: string
  contentType: string
  metadata: Record<string, string>
  createdAt: number
}

/** A part of a multipart upload in progress: staged on the gateway's disk, or (older gateways) a Cairn file. */
export interface UploadedPart {
  partNumber: number
  size: number
  /** Hex MD5 of the part, unquoted. */
  md5: string
  /** File name in the upload's staging folder (`<dataDir>/multipart/<uploadId>/`). */
  staged?: string
  /** The Cairn file holding the part, for parts uploaded before parts were staged. */
  capability?: string
}

export interface ListObjectsQuery {
  prefix: string
  delimiter?: string
  /** Keys and common prefixes strictly after this one. */
  after?: string
  maxKeys: number
}

export interface ListObjectsPage {
  objects: S3Object[]
  commonPrefixes: string[]
  truncated: boolean
  /** Last key or common prefix returned, to continue after. */
  last?: string
}

export interface GatewayIndex {
  /** The files an earlier gateway kept in its own table (empty once moved to the record). */
  legacyFiles(): StoredFile[]
  /** Drops that table (after its rows are durably in the record). */
  dropLegacyFiles(): void
  /** Whether an object still holds this Cairn file as a part. */
  isReferenced(capability: string): boolean

  createBucket(name: string): boolean
  deleteBucket(name: string): void
  hasBucket(name: string): boolean
  listBuckets(): Array<{ name: string; createdAt: number }>
  bucketIsEmpty(name: string): boolean

  putObject(object: S3Object): void
  getObject(bucket: string, key: string): S3Object | undefined
  deleteObject(bucket: string, key: string): boolean
  listObjects(bucket: string, query: ListObjectsQuery): ListObjectsPage

  createUpload(upload: MultipartUpload): void
  getUpload(uploadId: string): MultipartUpload | undefined
  /** Records (or replaces) a part; returns the part it replaced, if any. */
  putPart(uploadId: string, part: UploadedPart): UploadedPart | undefined
  listParts(uploadId: string): UploadedPart[]
  /** Records the completed object and forgets the upload, in one transaction. */
  completeUpload(uploadId: string, object: S3Object): void
  /** Removes the upload and its parts (after complete or abort). */
  deleteUpload(uploadId: string): void
  listUploads(bucket: string): MultipartUpload[]

  close(): void
}

interface ObjectRow {
  bucket: string
  key: string
  size: number
  etag: string
  content_type: string
  metadata: string
  parts: string
  last_modified: number
}

function toObject(row: ObjectRow): S3Object {
  return {
    bucket: row.bucket,
    key: row.key,
    size: row.size,
    etag: row.etag,
    contentType: row.content_type,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    parts: JSON.parse(row.parts) as ObjectPart[],
    lastModified: row.last_modified,
  }
}

interface FileRow {
  capability: string
  manifest: string
  name: string | null
  type: string | null
  size: number
  k: number
  n: number
  created_at: number
}

function toFile(row: FileRow): StoredFile {
  const file: StoredFile = {
    capability: row.capability,
    manifest: row.manifest,
    size: row.size,
    k: row.k,
    n: row.n,
    createdAt: row.created_at,
  }
  if (row.name !== null) file.name = row.name
  if (row.type !== null) file.type = row.type
  return file
}

interface UploadRow {
  upload_id: string
  bucket: string
  key: string
  content_type: string
  metadata: string
  created_at: number
}

function toUpload(row: UploadRow): MultipartUpload {
  return {
    uploadId: row.upload_id,
    bucket: row.bucket,
    key: row.key,
    contentType: row.content_type,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    createdAt: row.created_at,
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
  bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, content_type TEXT NOT NULL,
  metadata TEXT NOT NULL, parts TEXT NOT NULL, last_modified INTEGER NOT NULL, PRIMARY KEY (bucket, key));
CREATE TABLE IF NOT EXISTS uploads (
  upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, content_type TEXT NOT NULL,
  metadata TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS upload_parts (
  upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, capability TEXT NOT NULL, size INTEGER NOT NULL,
  md5 TEXT NOT NULL, PRIMARY KEY (upload_id, part_number));
`

const LIST_BATCH = 500

interface PartRow {
  part_number: number
  capability: string
  size: number
  md5: string
  staged: string | null
}

function toPart(row: PartRow): UploadedPart {
  const part: UploadedPart = { partNumber: row.part_number, size: row.size, md5: row.md5 }
  if (row.staged !== null) part.staged = row.staged
  if (row.capability !== '') part.capability = row.capability
  return part
}

/**
 * Opens (creating when missing) `<dataDir>/index.sqlite`.
 *
 * @example
 * ```ts
 * const index = openGatewayIndex('/data/gateway')
 * index.createBucket('photos')
 * ```
 */
export function openGatewayIndex(dataDir: string): GatewayIndex {
  // The index holds every file's capability (its key): private to the gateway's user. SQLite creates -wal and -shm
  // with the mode of the database file, so creating that one 0600 first covers all three.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  chmodSync(dataDir, 0o700)
  const path = join(dataDir, INDEX_DATABASE_FILE)
  closeSync(openSync(path, 'a', 0o600))
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600)
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;')
  db.exec(SCHEMA)
  // Staged parts (gateways before them kept each part as a Cairn file in `capability`, now '' for staged parts).
  const partColumns = db.prepare('PRAGMA table_info(upload_parts)').all() as unknown as Array<{ name: string }>
  if (!partColumns.some((column) => column.name === 'staged'))
    db.exec('ALTER TABLE upload_parts ADD COLUMN staged TEXT')

  const statements = {
    referenced: db.prepare('SELECT 1 AS found FROM objects WHERE instr(parts, ?) > 0 LIMIT 1'),
    createBucket: db.prepare('INSERT OR IGNORE INTO buckets (name, created_at) VALUES (?, ?)'),
    deleteBucket: db.prepare('DELETE FROM buckets WHERE name = ?'),
    hasBucket: db.prepare('SELECT 1 AS found FROM buckets WHERE name = ?'),
    listBuckets: db.prepare('SELECT name, created_at FROM buckets ORDER BY name'),
    anyObject: db.prepare('SELECT 1 AS found FROM objects WHERE bucket = ? LIMIT 1'),
    anyUpload: db.prepare('SELECT 1 AS found FROM uploads WHERE bucket = ? LIMIT 1'),
    putObject: db.prepare(
      'INSERT OR REPLACE INTO objects (bucket, key, size, etag, content_type, metadata, parts, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getObject: db.prepare('SELECT * FROM objects WHERE bucket = ? AND key = ?'),
    deleteObject: db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?'),
    listFrom: db.prepare('SELECT * FROM objects WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?'),
    listAfter: db.prepare('SELECT * FROM objects WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?'),
    createUpload: db.prepare(
      'INSERT INTO uploads (upload_id, bucket, key, content_type, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    getUpload: db.prepare('SELECT * FROM uploads WHERE upload_id = ?'),
    putPart: db.prepare(
      'INSERT OR REPLACE INTO upload_parts (upload_id, part_number, capability, size, md5, staged) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    getPart: db.prepare('SELECT * FROM upload_parts WHERE upload_id = ? AND part_number = ?'),
    listParts: db.prepare('SELECT * FROM upload_parts WHERE upload_id = ? ORDER BY part_number'),
    deleteParts: db.prepare('DELETE FROM upload_parts WHERE upload_id = ?'),
    deleteUpload: db.prepare('DELETE FROM uploads WHERE upload_id = ?'),
    listUploads: db.prepare('SELECT * FROM uploads WHERE bucket = ? ORDER BY key, created_at'),
  }

  function transaction<T>(body: () => T): T {
    db.exec('BEGIN')
    try {
      const result = body()
      db.exec('COMMIT')
      return result
    } catch (err) {
      db.exec('ROLLBACK')
      throw err
    }
  }

  function putObject(object: S3Object): void {
    statements.putObject.run(
      object.bucket,
      object.key,
      object.size,
      object.etag,
      object.contentType,
      JSON.stringify(object.metadata),
      JSON.stringify(object.parts),
      object.lastModified,
    )
  }

  function listObjects(bucket: string, query: ListObjectsQuery): ListObjectsPage {
    const { prefix, delimiter, maxKeys } = query
    const objects: S3Object[] = []
    const commonPrefixes: string[] = []
    let last: string | undefined
    // A continuation after a common prefix skips every key under it.
    let skipPrefix =
      query.after !== undefined && delimiter !== undefined && query.after.endsWith(delimiter) ? query.after : undefined
    let cursor: { key: string; inclusive: boolean } =
      query.after !== undefined && query.after >= prefix
        ? { key: query.after, inclusive: false }
        : { key: prefix, inclusive: true }
    while (true) {
      const statement = cursor.inclusive ? statements.listFrom : statements.listAfter
      const rows = statement.all(bucket, cursor.key, LIST_BATCH) as unknown as ObjectRow[]
      if (rows.length === 0)
        return { objects, commonPrefixes, truncated: false, ...(last === undefined ? {} : { last }) }
      for (const row of rows) {
        cursor = { key: row.key, inclusive: false }
        if (!row.key.startsWith(prefix)) {
          return { objects, commonPrefixes, truncated: false, ...(last === undefined ? {} : { last }) }
        }
        if (skipPrefix !== undefined && row.key.startsWith(skipPrefix)) continue
        let entry: { kind: 'object'; row: ObjectRow } | { kind: 'prefix'; prefix: string } = { kind: 'object', row }
        if (delimiter !== undefined && delimiter !== '') {
          const at = row.key.indexOf(delimiter, prefix.length)
          if (at !== -1) entry = { kind: 'prefix', prefix: row.key.slice(0, at + delimiter.length) }
        }
        if (objects.length + commonPrefixes.length >= maxKeys) {
          return { objects, commonPrefixes, truncated: true, ...(last === undefined ? {} : { last }) }
        }
        if (entry.kind === 'object') {
          objects.push(toObject(entry.row))
          last = entry.row.key
        } else {
          commonPrefixes.push(entry.prefix)
          last = entry.prefix
          skipPrefix = entry.prefix
        }
      }
    }
  }

  const hasLegacyFiles = (): boolean =>
    db.prepare("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'files'").get() !== undefined

  return {
    legacyFiles: () =>
      hasLegacyFiles()
        ? (db.prepare('SELECT * FROM files ORDER BY created_at, capability').all() as unknown as FileRow[]).map(toFile)
        : [],
    dropLegacyFiles() {
      db.exec('DROP TABLE IF EXISTS files')
    },
    // A capability is `cairn:<manifest>#<key>`: as a JSON string inside `parts` it is quoted whole.
    isReferenced: (capability) => statements.referenced.get(JSON.stringify(capability)) !== undefined,
    createBucket: (name) => Number(statements.createBucket.run(name, Date.now()).changes) > 0,
    deleteBucket(name) {
      statements.deleteBucket.run(name)
    },
    hasBucket: (name) => statements.hasBucket.get(name) !== undefined,
    listBuckets: () =>
      (statements.listBuckets.all() as unknown as Array<{ name: string; created_at: number }>).map((row) => ({
        name: row.name,
        createdAt: row.created_at,
      })),
    bucketIsEmpty: (name) =>
      statements.anyObject.get(name) === undefined && statements.anyUpload.get(name) === undefined,
    putObject,
    getObject(bucket, key) {
      const row = statements.getObject.get(bucket, key) as unknown as ObjectRow | undefined
      return row === undefined ? undefined : toObject(row)
    },
    deleteObject: (bucket, key) => Number(statements.deleteObject.run(bucket, key).changes) > 0,
    listObjects,
    createUpload(upload) {
      statements.createUpload.run(
        upload.uploadId,
        upload.bucket,
        upload.key,
        upload.contentType,
        JSON.stringify(upload.metadata),
        upload.createdAt,
      )
    },
    getUpload(uploadId) {
      const row = statements.getUpload.get(uploadId) as unknown as UploadRow | undefined
      return row === undefined ? undefined : toUpload(row)
    },
    putPart(uploadId, part) {
      return transaction(() => {
        const previous = statements.getPart.get(uploadId, part.partNumber) as unknown as PartRow | undefined
        statements.putPart.run(
          uploadId,
          part.partNumber,
          part.capability ?? '',
          part.size,
          part.md5,
          part.staged ?? null,
        )
        return previous === undefined ? undefined : toPart(previous)
      })
    },
    listParts: (uploadId) => (statements.listParts.all(uploadId) as unknown as PartRow[]).map(toPart),
    completeUpload(uploadId, object) {
      transaction(() => {
        putObject(object)
        statements.deleteParts.run(uploadId)
        statements.deleteUpload.run(uploadId)
      })
    },
    deleteUpload(uploadId) {
      transaction(() => {
        statements.deleteParts.run(uploadId)
        statements.deleteUpload.run(uploadId)
      })
    },
    listUploads: (bucket) => (statements.listUploads.all(bucket) as unknown as UploadRow[]).map(toUpload),
    close() {
      db.close()
    },
  }
}
