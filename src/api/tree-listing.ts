/** The JSON a folder path of a stored tree answers (`GET /api/v1/files/:capability/*`). Browser-safe. */
export interface TreeListing {
  /** The folder listed, relative to the tree's root (`''` for the root). */
  path: string
  entries: Array<{
    name: string
    path: string
    type: 'file' | 'dir'
    /** Permission bits. */
    mode: number
    /** Modification time, ms since the epoch. */
    mtime: number
    /** Bytes, for a file. */
    size?: number
  }>
}
