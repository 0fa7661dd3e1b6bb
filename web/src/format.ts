/** Display helpers for the dashboard. */
import { formatTokenAmount } from '../../src/api/token-format.ts'

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(value >= 100 || unit === 0 ? 0 : 1)} ${units[unit]}`
}

export function shortId(id: string | undefined, keep = 6): string {
  if (id === undefined) return '–'
  return id.length <= keep * 2 + 1 ? id : `${id.slice(0, keep)}…${id.slice(-keep)}`
}

export function ago(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return 'never'
  const seconds = Math.max(0, Math.round((now - ms) / 1000))
  if (seconds < 60) return `${seconds}s ago`
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`
  return `${Math.round(seconds / 3600)}h ago`
}

/**
 * Token amounts arrive as decimal strings of the smallest unit: shown with 4 decimals and thousands separators, and
 * tiny non-zero amounts written out to 3 significant digits (`0.00000000102 CAIRN`), never in exponent notation.
 */
export function formatTokens(amount: string | undefined, decimals = 18, symbol = 'CAIRN'): string {
  if (amount === undefined) return '–'
  return formatTokenAmount(amount, { decimals, symbol, maxFractionDigits: 4, minFractionDigits: 4, grouping: true })
}

export function redundancyLabel(k: number, n: number): string {
  return k === 1 ? `${n} copies` : `${k} of ${n}`
}
