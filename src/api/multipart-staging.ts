/**
 * Parts of S3 multipart uploads staged on the gateway's own disk until CompleteMultipartUpload streams them, in
 * order, into one Cairn file. Layout: `<directory>/<uploadId>/<partNumber>.<random>`; a part is written to a hidden
 * temp file, fsynced, and only renamed to its final name (and the folder fsynced) once the caller accepted it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CorruptDataError, QuotaExceededError } from '../errors.ts'
import { crashPoint, mkdirDurable, syncFolder } from '../storage/index.ts'
import { DEFAULT_STAGING_READ_BYTES } from './constants.ts'
import type { AbortOptions } from './interface.ts'

/** A part written to a temp file: fsynced, not yet visible under its final name. */
export interface PendingPart {
  /** Bytes written. */
  readonly size: number
  /** Renames the temp file to its final name and fsyncs the folder; returns that name (what the index records). */
  commit(): Promise<string>
  /** Removes the temp file. */
  discard(): Promise<void>
}

/** A staged part to read back, as the index recorded it. */
export interface StagedPartRef {
  partNumber: number
  /** File name inside the upload's folder. */
  staged: string
  size: number
  /** Hex MD5 recorded when the part was accepted; checked again while reading. */
  md5: string
}

export interface MultipartStaging {
  /** Folder holding every upload's staging folder. */
  readonly directory: string
  /** Streams `source` into a temp file of the upload's folder (created when missing) and fsyncs it. */
  write(
    uploadId: string,
    partNumber: number,
    source: AsyncIterable<Uint8Array>,
    options?: AbortOptions,
  ): Promise<PendingPart>
  /** Streams staged parts in the given order; throws `CorruptDataError` when one no longer has its size and MD5. */
  read(uploadId: string, parts: StagedPartRef[], options?: AbortOptions): AsyncGenerator<Uint8Array>
  /** Removes one staged part file (a replaced part); missing files are fine. */
  removePart(uploadId: string, staged: string): Promise<void>
  /** Removes an upload's staging folder (after complete or abort); missing folders are fine. */
  removeUpload(uploadId: string): Promise<void>
  /**
   * Cleans up after a crash: removes the folders of uploads `live` does not know (it returns undefined) and, in the
   * folders of live uploads, every file that is not one of the staged names it returns. Returns how many upload
   * folders were removed.
   */
  sweep(live: (uploadId: string) => Set<string> | undefined): Promise<number>
}

export interface MultipartStagingInit {
  /** Folder for staged parts, e.g. `<dataDir>/multipart`. */
  directory: string
  /** Read size when streaming staged parts back. */
  readBytes?: number
}

function diskFull(err: unknown): Error {
  if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
    return new QuotaExceededError("the gateway's disk is full: a multipart upload needs its whole size staged there", {
      cause: err,
    })
  }
  return err as Error
}

/** Upload IDs become folder names: only the gateway's own base64url IDs are accepted. */
function uploadFolder(directory: string, uploadId: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(uploadId)) throw new Error(`not a staging upload id: ${uploadId}`)
  return join(directory, uploadId)
}

/**
 * Creates the staging area of multipart uploads under `init.directory`.
 *
 * @example
 * ```ts
 * const staging = createMultipartStaging({ directory: join(dataDir, 'multipart') })
 * const pending = await staging.write(uploadId, 1, body)
 * const staged = await pending.commit()
 * for await (const bytes of staging.read(uploadId, [{ partNumber: 1, staged, size: pending.size, md5 }])) use(bytes)
 * await staging.removeUpload(uploadId)
 * ```
 */
export function createMultipartStaging(init: MultipartStagingInit): MultipartStaging {
  const { directory } = init
  const readBytes = init.readBytes ?? DEFAULT_STAGING_READ_BYTES

  return {
    directory,
    async write(uploadId, partNumber, source, options = {}) {
      const folder = uploadFolder(directory, uploadId)
      await mkdirDurable(folder, { mode: 0o700 })
      const unique = randomBytes(6).toString('hex')
      const temp = join(folder, `.${partNumber}.${unique}.tmp`)
      const name = `${partNumber}.${unique}`
      const handle = await open(temp, 'wx', 0o600)
      let size = 0
      try {
        for await (const chunk of source) {
          options.signal?.throwIfAborted()
          let at = 0
          while (at < chunk.byteLength) {
            const { bytesWritten } = await handle.write(chunk, at, chunk.byteLength - at)
            at += bytesWritten
          }
          size += chunk.byteLength
        }
        await handle.sync()
        crashPoint('multipart:part-synced')
      } catch (err) {
        await handle.close().catch(() => undefined)
        await rm(temp, { force: true })
        throw diskFull(err)
      }
      await handle.close()
      let settled = false
      return {
        size,
        async commit() {
          if (settled) throw new Error('this staged part was already committed or discarded')
          settled = true
          try {
            await rename(temp, join(folder, name))
            await syncFolder(folder)
            crashPoint('multipart:part-committed')
          } catch (err) {
            await rm(temp, { force: true })
            throw err
          }
          return name
        },
        async discard() {
          if (settled) return
          settled = true
          await rm(temp, { force: true })
        },
      }
    },
    async *read(uploadId, parts, options = {}) {
      const folder = uploadFolder(directory, uploadId)
      for (const part of parts) {
        const md5 = createHash('md5')
        let size = 0
        const stream = createReadStream(join(folder, part.staged), {
          highWaterMark: readBytes,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        })
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            size += chunk.byteLength
            md5.update(chunk)
            yield chunk
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
            throw new CorruptDataError(`part ${part.partNumber} is no longer staged on the gateway: upload it again`, {
              cause: err,
            })
          }
          throw err
        } finally {
          stream.destroy()
        }
        if (size !== part.size || md5.digest('hex') !== part.md5) {
          throw new CorruptDataError(
            `part ${part.partNumber} staged on the gateway changed on disk (${size} of ${part.size} bytes, or its MD5 differs): upload it again`,
          )
        }
      }
    },
    async removePart(uploadId, staged) {
      await rm(join(uploadFolder(directory, uploadId), staged), { force: true })
    },
    async removeUpload(uploadId) {
      await rm(uploadFolder(directory, uploadId), { recursive: true, force: true })
    },
    async sweep(live) {
      let entries: string[]
      try {
        entries = await readdir(directory)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
        throw err
      }
      let removed = 0
      for (const entry of entries) {
        const folder = join(directory, entry)
        const keep = /^[A-Za-z0-9_-]{1,128}$/.test(entry) ? live(entry) : undefined
        if (keep === undefined) {
          await rm(folder, { recursive: true, force: true })
          removed++
          continue
        }
        for (const file of await readdir(folder).catch(() => [] as string[])) {
          if (!keep.has(file)) await rm(join(folder, file), { recursive: true, force: true })
        }
      }
      return removed
    },
  }
}
