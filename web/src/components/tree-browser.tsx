import { useEffect, useState } from 'react'
import type { TreeListing } from '../../../src/api/tree-listing.ts'
import { formatBytes } from '../format.ts'
import { readToken } from '../session.ts'

/** The gateway's tree route for `path` in the folder `capability` names. */
function treeUrl(capability: string, path: string): string {
  const rest = path
    .split('/')
    .filter((p) => p !== '')
    .map(encodeURIComponent)
    .join('/')
  return `/api/v1/files/${encodeURIComponent(capability)}/${rest}`
}

/**
 * Browses a folder stored with `cairn put -r`: its listing, one folder at a time, with download links for its files.
 * Shows nothing for a plain file.
 */
export function TreeBrowser({ capability }: { capability: string }) {
  const [path, setPath] = useState('')
  const [listing, setListing] = useState<TreeListing | undefined>()
  const [error, setError] = useState<string | undefined>()
  useEffect(() => {
    const abort = new AbortController()
    const token = readToken()
    fetch(treeUrl(capability, path), {
      signal: abort.signal,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    })
      .then(async (response) => {
        const body = (await response.json()) as TreeListing & { error?: { message: string } }
        if (response.ok) {
          setListing(body)
          setError(undefined)
        } else if (path !== '') setError(body.error?.message ?? response.statusText)
        else setListing(undefined) // a plain file: no folder to browse
      })
      .catch(() => undefined)
    return () => abort.abort()
  }, [capability, path])
  if (listing === undefined && error === undefined) return null
  const up = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : ''
  return (
    <section data-testid="tree">
      <h3>Folder /{path}</h3>
      {error === undefined ? null : <p className="error">{error}</p>}
      <table>
        <tbody>
          {path === '' ? null : (
            <tr>
              <td colSpan={3}>
                <button type="button" className="link" onClick={() => setPath(up)}>
                  ↑ ..
                </button>
              </td>
            </tr>
          )}
          {(listing?.entries ?? []).map((entry) => (
            <tr key={entry.path}>
              <td>
                {entry.type === 'dir' ? (
                  <button type="button" className="link" onClick={() => setPath(entry.path)}>
                    {entry.name}/
                  </button>
                ) : (
                  <a href={`${treeUrl(capability, entry.path)}?download`} download={entry.name}>
                    {entry.name}
                  </a>
                )}
              </td>
              <td>{entry.size === undefined ? '' : formatBytes(entry.size)}</td>
              <td className="muted">{new Date(entry.mtime).toISOString().slice(0, 19).replace('T', ' ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
