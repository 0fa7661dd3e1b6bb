import { InvalidArgumentError } from '../errors.ts'

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
}

/**
 * Parses a byte size such as `500MB`, `10GiB`, `1.5 TB` or `4096`. `none`, `unlimited` and `Infinity` mean no limit.
 *
 * @example
 * ```ts
 * parseByteSize('10GiB') // 10737418240
 * ```
 */
export function parseByteSize(text: string | number): number {
  if (typeof text === 'number') {
    if (text >= 0) return text
    throw new InvalidArgumentError(`invalid size ${text}: use a number of bytes such as 500MB or 10GiB`)
  }
  const trimmed = text.trim().toLowerCase()
  if (trimmed === 'none' || trimmed === 'unlimited' || trimmed === 'infinity') return Number.POSITIVE_INFINITY
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(trimmed)
  const unit = UNITS[match?.[2] ?? 'x']
  if (match === null || unit === undefined) {
    throw new InvalidArgumentError(`invalid size "${text}": use a number of bytes such as 500MB or 10GiB`)
  }
  return Math.floor(Number(match[1]) * unit)
}

/**
 * Formats a byte count for people: `1.5 MB`, `980 B`.
 *
 * @example
 * ```ts
 * formatByteSize(1_500_000) // '1.5 MB'
 * ```
 */
export function formatByteSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unlimited'
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`
}
