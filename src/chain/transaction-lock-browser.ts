/**
 * The transaction lock in a web page (package.json `imports`, `#transaction-lock`, browser condition). A page's wallet
 * sends its transactions from one JavaScript realm, where `sendTransaction` already serialises one account's nonces;
 * there is no lock file to share with other processes, so taking the lock is immediate.
 */

/** Resolves at once with a release that does nothing (the Node build takes a lock file: transaction-lock.ts). */
export async function acquireTransactionLock(
  _path: string,
  init: { signal?: AbortSignal } = {},
): Promise<() => Promise<void>> {
  init.signal?.throwIfAborted()
  return async () => {}
}
