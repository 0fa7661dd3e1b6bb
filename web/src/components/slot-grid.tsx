import type { FileStatus, NodeInfo } from '../../../src/api/interface.ts'
import { shortId } from '../format.ts'

/** Which node holds which slot, coloured by the holder's state. */
export function SlotGrid({ status, nodes }: { status: FileStatus; nodes: NodeInfo[] | undefined }) {
  const labels = new Map((nodes ?? []).map((n) => [n.peerId, n.label ?? shortId(n.peerId)]))
  return (
    <div className="slot-grid" data-testid="slot-grid">
      {status.slots.map((slot) => (
        <div key={slot.slot} className={`slot state-${slot.state}`} data-state={slot.state}>
          <div className="slot-index">slot {slot.slot}</div>
          <div className="slot-node">
            {slot.peerId === undefined ? 'no holder' : (labels.get(slot.peerId) ?? shortId(slot.peerId))}
          </div>
          <div className="slot-state">{slot.state}</div>
          <div className="slot-pieces">
            {slot.pieces ?? 0}/{status.segments} pieces
          </div>
          {slot.repair === undefined ? null : (
            <div className="slot-repair" data-testid="slot-repair">
              repairing → {labels.get(slot.repair.to) ?? shortId(slot.repair.to)} {slot.repair.done}/
              {slot.repair.pieces}
            </div>
          )}
        </div>
      ))}
    </div>
  )
}
