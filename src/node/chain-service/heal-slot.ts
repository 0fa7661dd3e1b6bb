/** Heals the damaged pieces of a slot this node holds or takes over, before it proves the slot. */
import type { ChainDutyContext } from './chain-duty.ts'
import type { SlotKey } from './slot-prover.ts'

/** Heals every missing or unreadable piece of a slot, then checks the slot again; throws when it still fails. */
export async function healSlot(
  context: Pick<ChainDutyContext, 'components' | 'prover' | 'emit'>,
  key: SlotKey,
  expected: { root: string; size: bigint },
  dealId: bigint | undefined,
  signal: AbortSignal,
): Promise<void> {
  const heal = context.components.healPiece
  if (heal === undefined) return
  const store = context.components.pieceStore
  let healed = 0
  for (const cid of await context.prover.pieces(key, { signal })) {
    let ok = await store.has(cid, { signal }).catch(() => false)
    if (ok)
      ok = await store.get(cid, { signal }).then(
        () => true,
        () => false,
      )
    if (ok) continue
    await heal(cid, { signal })
    healed++
  }
  if (healed > 0 && dealId !== undefined) {
    context.emit({ type: 'chain:healed', dealId: String(dealId), slot: key.slotIndex, pieces: healed })
  }
  const problem = await context.prover.check(key, expected, { signal })
  if (problem !== undefined) throw new Error(`slot ${key.slotIndex} of ${key.manifestCid}: ${problem}`)
}
