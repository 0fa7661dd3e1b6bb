/** Named defaults and file names of the devnet. */

/** The devnet's state file inside its folder. */
export const DEVNET_FILE = 'devnet.json'
export const DEFAULT_DEVNET_NODES = 6
export const DEFAULT_DEVNET_DIR = '.cairn-devnet'
/** Heartbeat interval of devnet nodes (short: a devnet lives on one machine). */
export const DEFAULT_DEVNET_HEARTBEAT_MS = 1_000
/** Longest wait for every devnet node to be up and connected. */
export const DEFAULT_DEVNET_READY_TIMEOUT_MS = 60_000
/**
 * V8 flags of node processes (the devnet passes them; bin/cairn.js's shebang sets them for the CLI): a small young
 * generation, because pieces are short-lived multi-MiB buffers and the default 16 MiB semi-spaces cost 40-90 MB of
 * resident memory per process for no measured speed (docs/benchmarks.md, Transfer).
 */
export const NODE_PROCESS_FLAGS = ['--max-semi-space-size=2']
/** Epoch length of a devnet's chain (seconds): short, so proofs and payments can be watched within a minute. */
export const DEFAULT_DEVNET_EPOCH_SECONDS = 6
/** The devchain's folder and the user's key file inside a devnet's folder. */
export const DEVNET_CHAIN_DIR = 'chain'
export const DEVNET_USER_KEY_FILE = 'user.key'
