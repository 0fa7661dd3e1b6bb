/**
 * The dashboard's address is its hash: `#/files`, `#/files/<capability>`, `#/bank`. The gateway prints
 * `<url>/#token=<token>`; a token may also ride along a page, as `#/files?token=<token>` or `#/files&token=<token>`.
 */

/** The page shown when the hash names none. */
export const DEFAULT_ROUTE = '/network'

export interface ParsedHash {
  /** The page: the hash's path without `#`, parameters or token (`/files`), DEFAULT_ROUTE when empty. */
  route: string
  /** The API token the hash carried, decoded. */
  token?: string
  /** The hash to keep in the address bar: as given, without the token parameter. */
  hash: string
}

const TOKEN_PARAMETER = /(^|[?&])token=([^&]*)/

/**
 * Reads a location hash: the page it names, and the token it carries (if any) taken out.
 *
 * @example
 * ```ts
 * parseHash('#/files&token=abc') // { route: '/files', token: 'abc', hash: '#/files' }
 * parseHash('#token=abc') // { route: '/network', token: 'abc', hash: '' }
 * ```
 */
export function parseHash(hash: string): ParsedHash {
  let rest = hash.replace(/^#/, '')
  let token: string | undefined
  const match = TOKEN_PARAMETER.exec(rest)
  if (match !== null) {
    token = decodeURIComponent(match[2] ?? '')
    const before = rest.slice(0, match.index)
    const after = rest.slice(match.index + match[0].length)
    // `#/files?token=t&x=1` keeps `?x=1`; `#token=t&/files` keeps `/files`
    rest =
      after === '' ? before : before === '' ? after.replace(/^&/, '') : `${before}${match[1]}${after.replace(/^&/, '')}`
  }
  const route = rest.split(/[?&]/, 1)[0] ?? ''
  return {
    route: route === '' ? DEFAULT_ROUTE : route,
    ...(token === undefined || token === '' ? {} : { token }),
    hash: rest === '' ? '' : `#${rest}`,
  }
}
