/** A node's answer on `/cairn/file-health/1.0.0`: its repair view of one file, as the wire carries it. */
import type { FileHealthReport } from '../../net/index.ts'
import type { RepairFileView } from './interface.ts'

/**
 * What this node tells a client asking over `/cairn/file-health/1.0.0` (undefined: the file is unknown here).
 *
 * @example
 * ```ts
 * createNetwork({ pieceStore }, { ...init, reportFileHealth: (cid) => fileHealthReport(repair.file(cid)) })
 * ```
 */
export function fileHealthReport(view: RepairFileView | undefined): FileHealthReport | undefined {
  if (view === undefined) return undefined
  return {
    known: true,
    mySlots: view.mySlots.filter((slot) => slot < view.n),
    lost: view.slots.filter((s) => s.state === 'lost').map((s) => s.slot),
    repairs: view.slots.flatMap((s) =>
      s.repair === undefined
        ? []
        : [
            {
              slot: s.slot,
              target: s.repair.target,
              done: s.repair.done,
              pieces: s.repair.pieces,
              startedAt: s.repair.startedAt,
            },
          ],
    ),
  }
}
