/**
 * The devnet: a local Cairn network on one machine (devchain, node processes, gateway), the glue that serves the
 * devnet's files through the gateway, and devnet.json.
 */
export * from './constants.ts'
export { createDevnet, type DevnetEvent, type DevnetInit, readDevnetState } from './devnet.ts'
export { type DevnetFileService, openDevnetFileService } from './devnet-file-service.ts'
export { type GatewayProcess, type GatewayProcessInit, spawnGatewayProcess } from './gateway-process.ts'
export type * from './interface.ts'
export { type NetworkFileService, type NetworkFileServiceInit, openNetworkFileService } from './network-file-service.ts'
