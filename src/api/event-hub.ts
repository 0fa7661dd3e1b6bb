/** Fan-out of live events to SSE subscribers, with a short replay buffer for `Last-Event-ID`. */
import type { CairnEvent } from './interface.ts'

export interface NumberedEvent {
  id: number
  event: CairnEvent
}

export interface EventHub {
  publish(event: CairnEvent): void
  /** Calls `listener` for each new event; returns the unsubscribe function. */
  subscribe(listener: (event: NumberedEvent) => void): () => void
  /** Buffered events with an id greater than `lastId`. */
  since(lastId: number): NumberedEvent[]
  readonly subscribers: number
}

/**
 * @example
 * ```ts
 * const hub = createEventHub({ replay: 100 })
 * const stop = hub.subscribe(({ id, event }) => console.log(id, event.type))
 * hub.publish({ type: 'node:state', at: Date.now(), peerId, state: 'dead' })
 * ```
 */
export function createEventHub(init: { replay?: number } = {}): EventHub {
  const replay = init.replay ?? 500
  const listeners = new Set<(event: NumberedEvent) => void>()
  const recent: NumberedEvent[] = []
  let nextId = 1
  return {
    publish(event) {
      const numbered = { id: nextId++, event }
      recent.push(numbered)
      if (recent.length > replay) recent.shift()
      for (const listener of listeners) {
        try {
          listener(numbered)
        } catch {
          // a failing subscriber must not stop the others
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    since(lastId) {
      return recent.filter((e) => e.id > lastId)
    },
    get subscribers() {
      return listeners.size
    },
  }
}
