/** The repair service of a storage node: failure-driven slot repair, scrub and piece healing. */
export * from './constants.ts'
export type * from './interface.ts'
export { createRepairService, fileHealthReport, repairInitFromEnv } from './repair-service.ts'
