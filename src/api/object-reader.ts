/** Reads a byte range of an object stored as a list of Cairn files (multipart objects span several). */
import type { ObjectPart } from './gateway-database.ts'
import type { AbortOptions, FileService } from './interface.ts'

/**
 * Streams bytes `[offset, offset + length)` of the concatenation of `parts`, asking the service only for the parts
 * (and the ranges inside them) that the range touches.
 *
 * @example
 * ```ts
 * for await (const bytes of readParts(files, object.parts, 5_000_000, 1024)) response.write(bytes)
 * ```
 */
export async function* readParts(
  files: Pick<FileService, 'get'>,
  parts: ObjectPart[],
  offset: number,
  length: number,
  options: AbortOptions = {},
): AsyncGenerator<Uint8Array> {
  let partStart = 0
  let left = length
  for (const part of parts) {
    if (left <= 0) return
    const partEnd = partStart + part.size
    if (offset < partEnd && part.size > 0) {
      const localOffset = Math.max(0, offset - partStart)
      const localLength = Math.min(part.size - localOffset, left)
      const { stream } = await files.get(part.capability, { offset: localOffset, length: localLength }, options)
      for await (const bytes of stream) {
        left -= bytes.byteLength
        yield bytes
      }
    }
    partStart = partEnd
  }
}
