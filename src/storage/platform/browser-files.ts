/**
 * The storage layer's file-system parts in a browser: there is no file system, so each one throws a clear error
 * naming what to use instead. Same names and types as ./node-files.ts, so `#storage-files` has one shape.
 */
import { InvalidArgumentError } from '../../errors.ts'
import type * as nodeFiles from './node-files.ts'

function unavailable(what: string, instead: string): never {
  throw new InvalidArgumentError(`${what} needs a file system (Node); in a browser ${instead}`)
}

export const createFsPieceStore: typeof nodeFiles.createFsPieceStore = () =>
  unavailable('createFsPieceStore', 'use createMemoryPieceStore or store pieces on nodes')
export const writeFileDurable: typeof nodeFiles.writeFileDurable = async () =>
  unavailable('writeFileDurable', 'keep state in IndexedDB')
export const syncFolder: typeof nodeFiles.syncFolder = async () => unavailable('syncFolder', 'keep state in IndexedDB')
export const mkdirDurable: typeof nodeFiles.mkdirDurable = async () =>
  unavailable('mkdirDurable', 'keep state in IndexedDB')
