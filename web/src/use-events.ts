/** Live events from the gateway's SSE stream, shared by every page. */
import { useEffect, useState } from 'react'
import type { ApiClient } from '../../src/api/api-client.ts'
import type { CairnEvent } from '../../src/api/interface.ts'

export type LiveEvent = CairnEvent & { id: number }

export interface EventsState {
  events: LiveEvent[]
  connected: boolean
}

const KEEP = 200

export function useEvents(api: ApiClient | undefined): EventsState {
  const [state, setState] = useState<EventsState>({ events: [], connected: false })
  useEffect(() => {
    if (api === undefined) return
    const abort = new AbortController()
    ;(async () => {
      try {
        for await (const event of api.events({
          signal: abort.signal,
          onConnection: (connected) => setState((s) => ({ ...s, connected })),
        })) {
          setState((s) => ({ connected: true, events: [event, ...s.events].slice(0, KEEP) }))
        }
      } catch {
        setState((s) => ({ ...s, connected: false }))
      }
    })()
    return () => abort.abort()
  }, [api])
  return state
}

/** Re-runs `load` every `intervalMs` and whenever an event of the given types arrives. */
export function usePolling<T>(
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
  trigger: unknown,
): { data: T | undefined; error: Error | undefined; reload: () => void } {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<Error>()
  const [tick, setTick] = useState(0)
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick and trigger are reload signals
  useEffect(() => {
    const abort = new AbortController()
    load(abort.signal)
      .then((value) => {
        // an answer that a newer load superseded (a reload, the next tick) must not overwrite the newer one
        if (abort.signal.aborted) return
        setData(value)
        setError(undefined)
      })
      .catch((err: Error) => {
        if (!abort.signal.aborted) setError(err)
      })
    return () => abort.abort()
  }, [load, tick, trigger])
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), intervalMs)
    return () => clearInterval(timer)
  }, [intervalMs])
  return { data, error, reload: () => setTick((t) => t + 1) }
}
