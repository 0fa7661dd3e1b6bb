import { InvalidCapabilityError } from '../errors.ts'

/** `cairn:<cid>#<key>` → `<cid>`; throws `InvalidCapabilityError` on anything else. */
export function manifestOf(capability: string): string {
  const match = /^cairn:([a-z0-9]+)(?:#[A-Za-z0-9_-]*)?$/.exec(capability)
  if (match?.[1] === undefined) {
    throw new InvalidCapabilityError(`'${capability.slice(0, 80)}' is not a capability (expected cairn:<cid>#<key>)`)
  }
  return match[1]
}
