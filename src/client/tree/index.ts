/** Folders (`cairn put -r`, `get -r`, `ls CAP`): a tree stored as one pack, read whole, by listing or one file at a time. */
export { type PutTreeInit, type PutTreeResult, putTree } from './put-tree.ts'
export { getTree, type OpenedTree, openTree, readTreeFile, treeFile } from './read-tree.ts'
export { checkRestoreTarget, type RestoreTreeInit, restoreTree } from './restore-tree.ts'
export { packTree } from './tree-pack.ts'
export { type SkippedPath, type WalkedTree, walkTree } from './tree-walk.ts'
