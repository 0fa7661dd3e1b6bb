/**
 * The storage layer's file-system parts in Node: the disk piece store and durable writes. package.json's
 * `imports` maps `#storage-files` here, and to ./browser-files.ts under the `browser` condition.
 */
export { mkdirDurable, syncFolder, writeFileDurable } from '../durable-file.ts'
export { createFsPieceStore } from '../fs-piece-store.ts'
