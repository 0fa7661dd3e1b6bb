/**
 * `npm run bench -- NAME [args]` runs bench/NAME.ts. Each benchmark prints a table and, last, one JSON line.
 */
import { readdirSync } from 'node:fs'

const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts')
  .map((f) => f.slice(0, -3))
const name = process.argv[2]
if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`)
  process.exit(2)
}
process.argv.splice(2, 1)
await import(`./${name}.ts`)
