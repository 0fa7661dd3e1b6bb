/** HTTP `Range: bytes=...` against a known size (RFC 9110 §14), for the API and S3 downloads. */

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; offset: number; length: number }
  | { kind: 'unsatisfiable' }

/**
 * Resolves one byte range. A header that is absent, malformed or asks for several ranges means the whole body
 * (servers may ignore Range); a well-formed range that starts past the end is unsatisfiable (416).
 *
 * @example
 * ```ts
 * parseRange('bytes=-500', 1000) // { kind: 'partial', offset: 500, length: 500 }
 * ```
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' }
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (match === null) return { kind: 'full' }
  const [, startText = '', endText = ''] = match
  if (startText === '' && endText === '') return { kind: 'full' }
  if (startText === '') {
    const suffix = Number(endText)
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' }
    const length = Math.min(suffix, size)
    return { kind: 'partial', offset: size - length, length }
  }
  const start = Number(startText)
  if (endText !== '' && Number(endText) < start) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  const end = endText === '' ? size - 1 : Math.min(Number(endText), size - 1)
  return { kind: 'partial', offset: start, length: end - start + 1 }
}

/** `Content-Range` value of a partial answer. */
export function contentRange(offset: number, length: number, size: number): string {
  return `bytes ${offset}-${offset + length - 1}/${size}`
}
