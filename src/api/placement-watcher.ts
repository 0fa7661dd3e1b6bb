/**
 * Watches where the slots of the most recent files live and reports repairs as events: a slot whose holder
 * becomes `repairing` (repair started) and a slot that moves to another alive node (repair finished). It works from
 * `FileService.status` alone, so the dashboard shows the network heal whatever part of the network does the repair.
 */
import type { CairnEvent, FileService, StoredFile } from './interface.ts'

export interface PlacementWatcherInit {
  /** Files watched: the most recent ones. */
  files: number
  intervalMs: number
}

export interface PlacementWatcher {
  start(): void
  stop(): void
  /** One round now (tests). */
  check(): Promise<void>
}

interface SlotView {
  peerId: string | undefined
  state: string
}

/**
 * @example
 * ```ts
 * const watcher = createPlacementWatcher({ files, publish }, { files: 10, intervalMs: 5000 })
 * watcher.start()
 * ```
 */
export function createPlacementWatcher(
  components: { files: Pick<FileService, 'status' | 'list'>; publish: (event: CairnEvent) => void },
  init: PlacementWatcherInit,
): PlacementWatcher {
  const seen = new Map<string, SlotView[]>()
  let timer: NodeJS.Timeout | undefined
  let running = false

  async function checkFile(file: StoredFile): Promise<void> {
    const status = await components.files.status(file.capability, { signal: AbortSignal.timeout(init.intervalMs * 2) })
    const now = status.slots.map((slot) => ({ peerId: slot.peerId, state: slot.state }))
    const before = seen.get(file.capability)
    seen.set(file.capability, now)
    if (before === undefined) return
    for (const [slot, current] of now.entries()) {
      const previous = before[slot]
      if (previous === undefined) continue
      if (current.state === 'repairing' && previous.state !== 'repairing') {
        components.publish({
          type: 'repair:started',
          at: Date.now(),
          manifest: status.manifest,
          slot,
          ...(previous.peerId === undefined ? {} : { from: previous.peerId }),
        })
      }
      if (current.peerId !== undefined && current.peerId !== previous.peerId && current.state === 'alive') {
        components.publish({
          type: 'repair:finished',
          at: Date.now(),
          manifest: status.manifest,
          slot,
          to: current.peerId,
          ok: true,
        })
      }
    }
  }

  async function check(): Promise<void> {
    if (running) return
    running = true
    try {
      const listed = await components.files.list({ signal: AbortSignal.timeout(init.intervalMs * 2) })
      const recent = listed.sort((a, b) => b.createdAt - a.createdAt).slice(0, init.files)
      for (const file of recent) {
        try {
          await checkFile(file)
        } catch {
          // unreachable holders or a missing manifest: the next round tries again
        }
      }
      const watched = new Set(recent.map((f) => f.capability))
      for (const capability of seen.keys()) if (!watched.has(capability)) seen.delete(capability)
    } finally {
      running = false
    }
  }

  return {
    check,
    start() {
      if (init.files <= 0 || timer !== undefined) return
      timer = setInterval(() => void check(), init.intervalMs)
      timer.unref()
      void check()
    },
    stop() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
  }
}
