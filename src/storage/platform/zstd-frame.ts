/**
 * Reads the content size a zstd frame header declares (RFC 8878 section 3.1.1.1), so a decoder can refuse a frame
 * that claims more bytes than the manifest allows before allocating for it.
 */

const ZSTD_MAGIC = 0xfd2fb528

/**
 * The Frame_Content_Size of the first frame in `bytes`, or undefined when the header does not carry one (or is not
 * a zstd frame header: the decoder then reports the error).
 *
 * @example
 * ```ts
 * zstdFrameContentSize(platform.zstdCompress(data, 3)) // data.byteLength
 * ```
 */
export function zstdFrameContentSize(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < 5) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== ZSTD_MAGIC) return undefined
  const descriptor = bytes[4]!
  const sizeFlag = descriptor >> 6
  const singleSegment = (descriptor & 0x20) !== 0
  const dictionaryIdSize = [0, 1, 2, 4][descriptor & 3]!
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryIdSize
  const fieldSize = [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag]!
  if (fieldSize === 0 || bytes.byteLength < at + fieldSize) return undefined
  if (fieldSize === 1) return view.getUint8(at)
  if (fieldSize === 2) return view.getUint16(at, true) + 256
  if (fieldSize === 4) return view.getUint32(at, true)
  return Number(view.getBigUint64(at, true))
}
