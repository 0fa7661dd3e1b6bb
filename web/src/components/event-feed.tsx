import { formatTokens, shortId } from '../format.ts'
import type { LiveEvent } from '../use-events.ts'

export type NameOf = (peerIdOrAddress: string | undefined) => string

export function describeEvent(event: LiveEvent, nameOf: NameOf = (id) => shortId(id)): string {
  switch (event.type) {
    case 'node:state':
      return `${nameOf(event.peerId)} is ${event.state}${event.previous === undefined ? '' : ` (was ${event.previous})`}`
    case 'file:stored':
      return `file ${event.name ?? shortId(event.manifest)} stored`
    case 'piece:stored':
      return `piece ${event.segment ?? ''}/${event.slot} → ${nameOf(event.peerId)}`
    case 'repair:started':
      return `repair of slot ${event.slot} of ${shortId(event.manifest)} started`
    case 'repair:finished':
      return `repair of slot ${event.slot} of ${shortId(event.manifest)} ${event.ok ? 'finished' : 'failed'}`
    case 'proof:submitted':
      return `proof by ${nameOf(event.peerId)} (epoch ${event.epoch ?? '?'})`
    case 'proof:missed':
      return `proof missed by ${nameOf(event.peerId)} (epoch ${event.epoch ?? '?'})`
    case 'payment':
      return `payment of ${formatTokens(event.amount)} to ${nameOf(event.to)}`
  }
}

export function EventFeed({ events, nameOf }: { events: LiveEvent[]; nameOf?: NameOf }) {
  return (
    <section className="event-feed">
      <h2>Live events</h2>
      {events.length === 0 ? <p className="muted">Nothing yet. Upload a file or stop a node.</p> : null}
      <ol>
        {events.slice(0, 60).map((event) => (
          <li key={event.id} className={`event event-${event.type.replace(':', '-')}`}>
            <time>{new Date(event.at).toLocaleTimeString()}</time> {describeEvent(event, nameOf)}
          </li>
        ))}
      </ol>
    </section>
  )
}
