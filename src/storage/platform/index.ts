/**
 * The storage layer's runtime seam. Code imports the implementation as `#storage-platform` (and the file-system
 * parts as `#storage-files`): package.json's `imports` field maps them to ./node.ts and ./node-files.ts, or under the
 * `browser` condition to ./browser.ts and ./browser-files.ts. This index holds only the types.
 */
export type { SegmentThread, Sha256, StoragePlatform } from './interface.ts'
