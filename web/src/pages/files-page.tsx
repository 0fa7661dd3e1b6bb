import { useCallback, useState } from 'react'
import type { ApiClient } from '../../../src/api/api-client.ts'
import { UploadBox } from '../components/upload-box.tsx'
import { formatBytes, redundancyLabel } from '../format.ts'
import { type LiveEvent, usePolling } from '../use-events.ts'

export function FilesPage({ api, events }: { api: ApiClient; events: LiveEvent[] }) {
  const [uploaded, setUploaded] = useState(0)
  const lastStored = events.find((e) => e.type === 'file:stored')?.id
  const load = useCallback((signal: AbortSignal) => api.files({ signal }), [api])
  const { data: files, error } = usePolling(load, 10_000, `${uploaded}-${lastStored}`)
  return (
    <section>
      <h2>Files</h2>
      <UploadBox api={api} onUploaded={() => setUploaded((n) => n + 1)} />
      {error !== undefined ? <p className="error">{error.message}</p> : null}
      <table className="files" data-testid="files">
        <thead>
          <tr>
            <th>name</th>
            <th>size</th>
            <th>redundancy</th>
            <th>stored</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(files ?? []).map((file) => (
            <tr key={file.capability} data-testid="file-row" data-name={file.name ?? ''}>
              <td>
                <a href={`#/files/${encodeURIComponent(file.capability)}`}>{file.name ?? file.manifest}</a>
              </td>
              <td>{formatBytes(file.size)}</td>
              <td>{redundancyLabel(file.k, file.n)}</td>
              <td>{new Date(file.createdAt).toLocaleString()}</td>
              <td>
                <a
                  href={api.contentUrl(file.capability, { download: true })}
                  download={file.name ?? 'file'}
                  data-testid="download"
                >
                  download
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {files?.length === 0 ? <p className="muted">No files yet: drop one above.</p> : null}
    </section>
  )
}
