/**
 * Cairn's simulations on the real contracts.
 *
 *   npm run sim -- economics [--seed 42] [--epochs 8]
 *
 * Prints one line per epoch, then one JSON line with the run's figures.
 */
import { parseArgs } from 'node:util'
import { runEconomics } from './economics.ts'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: 'string', default: '42' }, epochs: { type: 'string', default: '8' } },
})
const [command] = positionals
if (command !== 'economics') {
  console.error(`unknown simulation ${JSON.stringify(command)}: run "npm run sim -- economics [--seed N] [--epochs N]"`)
  process.exit(2)
}
const seed = Number(values.seed)
const epochs = Number(values.epochs)
if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(epochs) || epochs < 1) {
  console.error('--seed must be an integer and --epochs a positive integer, e.g. --seed 42 --epochs 8')
  process.exit(2)
}
const summary = await runEconomics({ seed, epochs, log: (line) => console.error(line) })
console.log(JSON.stringify(summary))
