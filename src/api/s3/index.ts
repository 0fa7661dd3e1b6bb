/** The S3-compatible endpoint: one route table (routes.ts) over bucket, object and multipart operations. */
export type { S3Components, S3Init } from './s3-context.ts'
export { registerS3Routes } from './s3-server.ts'
