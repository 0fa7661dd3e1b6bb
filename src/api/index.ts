/**
 * The API layer: the HTTP gateway (`/api/v1`, S3-compatible endpoint, dashboard, `/metrics`), its typed client,
 * Prometheus metrics and the credentials the CLI prints.
 */

export {
  type ApiClient,
  type ApiClientInit,
  createApiClient,
  type DownloadResult,
  type UploadSource,
} from './api-client.ts'
export { type CatalogNameStore, catalogNames, chainNameStore, type S3NamesComponents } from './bucket-catalog-names.ts'
export {
  type CairnFileServiceComponents,
  type CairnFileServiceInit,
  createCairnFileService,
  type KnownNode,
} from './cairn-file-service.ts'
export { type ChainView, type ChainViewInit, createChainView, withChainView } from './chain-view.ts'
export * from './constants.ts'
export { type GatewayState, loadApiToken, readGatewayState, s3Credentials } from './credentials.ts'
export {
  createDealRenewer,
  DEFAULT_GATEWAY_RENEW_EPOCHS,
  DEFAULT_RENEW_CHECK_MS,
  type DealRenewer,
} from './deal-renewer.ts'
export { statusForCode } from './error-status.ts'
export { createGateway, GATEWAY_VERSION } from './gateway.ts'
export type * from './interface.ts'
export { type CairnMetrics, createMetrics, METRIC_NAMES, type MetricsInit } from './metrics.ts'
export type { QuoteInfo } from './quote-info.ts'
export { createQuoteService, parseQuoteQuery, type QuoteQuery, type QuoteService } from './quote-route.ts'
export { ROUTES, type RouteName, type RouteResponses, routePath } from './route-paths.ts'
export { formatTokenAmount, type TokenAmountFormat } from './token-format.ts'
export type { TreeListing } from './tree-listing.ts'
