/** The repair service of a storage node: failure-driven slot repair, scrub and piece healing. */
export * from './constants.ts'
export { fileHealthReport } from './file-health-report.ts'
export type * from './interface.ts'
export { createRepairService } from './repair-service.ts'
