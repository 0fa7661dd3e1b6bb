/** The repair service's settings read from a node's environment (tests and devnets shorten its clocks). */
import type { RepairServiceInit } from './interface.ts'

/**
 * Repair settings from the environment (`CAIRN_REPAIR_CHECK_MS`, `_FALLBACK_MS`, `_CONFIRM_MS`, `_SCRUB_MS`,
 * `_PIECE_DELAY_MS`).
 */
export function repairInitFromEnv(env: Record<string, string | undefined>): Partial<RepairServiceInit> {
  const out: Partial<RepairServiceInit> = {}
  const read = (name: string): number | undefined => {
    const value = Number(env[name])
    return env[name] !== undefined && Number.isFinite(value) && value > 0 ? value : undefined
  }
  const check = read('CAIRN_REPAIR_CHECK_MS')
  const fallback = read('CAIRN_REPAIR_FALLBACK_MS')
  const confirm = read('CAIRN_REPAIR_CONFIRM_MS')
  const scrub = read('CAIRN_REPAIR_SCRUB_MS')
  const pieceDelay = read('CAIRN_REPAIR_PIECE_DELAY_MS')
  if (check !== undefined) out.checkIntervalMs = check
  if (fallback !== undefined) out.fallbackMs = fallback
  if (confirm !== undefined) out.confirmMs = confirm
  if (scrub !== undefined) out.scrubIntervalMs = scrub
  if (pieceDelay !== undefined) out.pieceDelayMs = pieceDelay
  return out
}
