import type { FileStatus } from '../client/index.ts'
import { formatByteSize } from '../node/index.ts'
import { abortableSleep, parseCapability } from '../storage/index.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { describeError, EXIT_INTERRUPTED } from './error-message.ts'
import { formatTable, shortPeerId } from './output.ts'

/** How often `cairn status --watch` refreshes. */
const WATCH_INTERVAL_MS = 1000

/**
 * `cairn status CAPABILITY [--watch] [--json]`: which node holds each slot, whether it is alive, the file's health
 * (slots alive, segments readable) and the repairs running. `--watch` refreshes every second until the file is fully
 * healthy (exit 0) or Ctrl-C (exit 130).
 */
export async function runStatus(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const capability = parsed.positionals[0]!
  parseCapability(capability) // a malformed capability fails before any network work
  const json = parsed.values.json === true
  const location = await locateNetwork(parsed.values)
  const session = await openClientSession(location)
  try {
    const refresh = () => session.client.status(capability, { signal: context.signal })
    if (parsed.values.watch !== true) {
      const status = await refresh()
      context.stdout.write(json ? `${JSON.stringify(status)}\n` : formatStatus(status))
      return 0
    }
    return await watchStatus(refresh, json, context)
  } finally {
    await session.close()
  }
}

/** All n slots alive and complete, and no repair running: what `--watch` waits for. */
export function isFullyHealthy(status: FileStatus): boolean {
  return status.slotsAlive === status.n && status.repairs.length === 0
}

/** The header line: the file, its redundancy and its health. */
export function formatStatusHeader(status: FileStatus): string {
  return `${status.manifestCid}  ${formatByteSize(status.size)}  k=${status.k} n=${status.n}  ${status.readable ? 'readable' : 'NOT READABLE'}  slots alive ${status.slotsAlive}/${status.n}, segments readable ${status.segmentsReadable}/${status.segments}`
}

/** `repairing -> <target> 37/64` for a slot being rebuilt. */
function repairText(repair: NonNullable<FileStatus['slots'][number]['repair']>): string {
  return `repairing -> ${shortPeerId(repair.to)} ${repair.done}/${repair.pieces}`
}

/** The header line and one row per slot (a REPAIR column while a repair runs). */
export function formatStatus(status: FileStatus): string {
  const repairing = status.repairs.length > 0
  const header = ['SLOT', 'NODE', 'STATE', 'PIECES', ...(repairing ? ['REPAIR'] : [])]
  const rows = status.slots.map((s) => [
    String(s.index),
    s.peerId ?? '-',
    s.state,
    `${s.held}/${s.pieces}`,
    ...(repairing ? [s.repair === undefined ? '' : repairText(s.repair)] : []),
  ])
  const blocked = status.repairBlocked === undefined ? '' : `cannot repair: ${status.repairBlocked}\n`
  return `${formatStatusHeader(status)}\n${formatTable(header, rows)}${blocked}`
}

/** One line per change when the output is not a terminal: health, slots not alive and repairs. */
function changeLine(status: FileStatus): string {
  const parts = [
    `slots alive ${status.slotsAlive}/${status.n}, segments readable ${status.segmentsReadable}/${status.segments}`,
  ]
  for (const slot of status.slots) {
    if (slot.repair !== undefined) parts.push(`slot ${slot.index} ${repairText(slot.repair)}`)
    else if (slot.state !== 'alive' || slot.held !== slot.pieces) {
      parts.push(`slot ${slot.index} ${slot.state} ${slot.held}/${slot.pieces}`)
    }
  }
  if (isFullyHealthy(status)) parts.push('healthy')
  else if (!status.readable) parts.push('NOT READABLE')
  if (status.repairBlocked !== undefined) parts.push(`cannot repair: ${status.repairBlocked}`)
  return parts.join('; ')
}

async function watchStatus(
  refresh: () => Promise<FileStatus>,
  json: boolean,
  context: CommandContext,
): Promise<number> {
  const { signal, stdout } = context
  const redraw = !json && stdout.isTTY === true
  let drawnLines = 0
  let lastLine = ''
  let refreshed = false
  while (!signal.aborted) {
    const started = Date.now()
    let status: FileStatus
    try {
      status = await refresh()
    } catch (err) {
      // The first refresh fails like a plain status would; later ones (a node restarting) are retried.
      if (signal.aborted) break
      if (!refreshed) throw err
      context.stderr.write(`${describeError(err).line} (retrying)\n`)
      await abortableSleep(WATCH_INTERVAL_MS, signal)
      continue
    }
    refreshed = true
    if (json) {
      stdout.write(`${JSON.stringify(status)}\n`)
    } else if (redraw) {
      const text = `${formatStatus(status)}${isFullyHealthy(status) ? 'healthy\n' : ''}`
      // Move up over the previous drawing and clear it, then draw again.
      stdout.write(`${drawnLines > 0 ? `\x1b[${drawnLines}A\x1b[J` : ''}${text}`)
      drawnLines = text.split('\n').length - 1
    } else {
      const line = changeLine(status)
      if (line !== lastLine) stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
      lastLine = line
    }
    if (isFullyHealthy(status)) return 0
    await abortableSleep(Math.max(0, WATCH_INTERVAL_MS - (Date.now() - started)), signal)
  }
  return EXIT_INTERRUPTED
}
