/**
 * `cairn deals --json` prints `DealView`s; the read itself lives in the client layer (src/client/deal-views.ts),
 * shared with the gateway's dashboard. Kept for the tests that parse the CLI's JSON with this type.
 */
export type { DealView } from '../client/index.ts'
