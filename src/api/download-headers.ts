/**
 * Headers of a file download from the gateway, which shares its origin with the dashboard: an uploader chooses the
 * Content-Type, so the bytes must never run as a page of that origin (an HTML or SVG file would otherwise read the
 * dashboard's token from its storage and call the API).
 */
import { DOWNLOAD_CONTENT_SECURITY_POLICY, INLINE_CONTENT_FAMILIES, INLINE_CONTENT_TYPES } from './constants.ts'

/** True when `type` (a Content-Type, parameters allowed) runs no script when a browser shows it. */
export function isInlineSafe(type: string): boolean {
  const essence = (type.split(';')[0] ?? '').trim().toLowerCase()
  return INLINE_CONTENT_TYPES.includes(essence) || INLINE_CONTENT_FAMILIES.some((family) => essence.startsWith(family))
}

/**
 * The headers a download is served with: `nosniff`, a sandboxing CSP, and `Content-Disposition: attachment` unless
 * the type is safe to show and the caller did not ask for an attachment.
 *
 * @example
 * ```ts
 * reply.headers(downloadHeaders({ type: 'text/html', name: 'page.html' })) // attachment, sandboxed
 * ```
 */
export function downloadHeaders(init: { type: string; name?: string; attachment?: boolean }): Record<string, string> {
  const inline = init.attachment !== true && isInlineSafe(init.type)
  const filename = init.name === undefined ? '' : `; filename*=UTF-8''${encodeURIComponent(init.name)}`
  return {
    'content-type': init.type,
    'x-content-type-options': 'nosniff',
    'content-security-policy': DOWNLOAD_CONTENT_SECURITY_POLICY,
    'content-disposition': `${inline ? 'inline' : 'attachment'}${filename}`,
  }
}
