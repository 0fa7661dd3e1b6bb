import { readFileSync } from 'node:fs'

/** The software version nodes report in heartbeats and `/health` (package.json's). */
export const CAIRN_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
})()
