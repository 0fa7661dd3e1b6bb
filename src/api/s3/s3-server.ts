/**
 * The S3-compatible endpoint (path-style: `http://host:port/<bucket>/<key>`), on its own Fastify instance.
 * Buckets and objects live in the gateway index; object bytes are Cairn files: one per PutObject and one per completed
 * multipart upload, whose parts wait on the gateway's disk (multipart-staging.ts) until CompleteMultipartUpload
 * streams them, in order, into a single `files.put` (so one object is one file and, with the chain on, one deal).
 * Every request must be signed with AWS Signature V4 by the gateway's access key; routes.ts picks the operation.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { xmlError } from '../s3-xml.ts'
import { BUCKET_ROUTES, matchRoute, OBJECT_ROUTES, type S3Route, SERVICE_ROUTES } from './routes.ts'
import { requireBucket, type S3Components, type S3Context, type S3Init } from './s3-context.ts'
import { methodNotAllowed, S3Error, toS3Error } from './s3-error.ts'
import { parseTarget, requestId, type ServiceCall, verifyRequest } from './s3-request.ts'

/**
 * Registers the S3 API on `app` (a Fastify instance of its own: every path belongs to S3).
 *
 * @example
 * ```ts
 * const app = Fastify()
 * registerS3Routes(app, { files, index, metrics, staging }, { accessKeyId, secretAccessKey, region, maxUploadBytes })
 * await app.listen({ host: '127.0.0.1', port: 7071 })
 * ```
 */
export function registerS3Routes(app: FastifyInstance, components: S3Components, init: S3Init): void {
  const context: S3Context = { ...components, init, completingUploads: new Set() }
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

  function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
    let s3 = toS3Error(err)
    if (s3 === undefined) {
      request.log.error({ err }, 's3 request failed')
      s3 = new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.')
    }
    const id = requestId()
    reply.code(s3.status).header('x-amz-request-id', id).header('content-type', 'application/xml')
    if (request.method === 'HEAD') return reply.send()
    const resource = request.url.split('?')[0]
    return reply.send(xmlError(s3.s3Code, s3.message, { ...s3.extra, Resource: resource, RequestId: id }))
  }

  /** Runs the first matching route; a bucket must exist (NoSuchBucket) before anything but CreateBucket. */
  function dispatch<Call extends ServiceCall>(
    routes: Array<S3Route<Call>>,
    call: Call,
    bucket?: string,
  ): FastifyReply | Promise<FastifyReply> {
    const route = matchRoute(routes, call.request.method, call.query)
    if (bucket !== undefined && route?.anyBucket !== true) requireBucket(context, bucket)
    if (route === undefined) throw methodNotAllowed()
    return route.handle(context, call)
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const abort = new AbortController()
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort(new Error('client went away'))
    })
    const signature = verifyRequest(request, init)
    const { bucket, key, query } = parseTarget(request.raw.url ?? '/')
    reply.header('x-amz-request-id', requestId())
    const call: ServiceCall = { request, reply, query, signature, signal: abort.signal }
    const { catalog } = context
    if (catalog !== undefined) {
      // What other gateways of the key published since (one eth_call per name, cached about a second)
      await catalog.refreshBuckets()
      if (bucket !== undefined && context.index.hasBucket(bucket)) await catalog.refreshBucket(bucket)
    }
    if (bucket === undefined) return dispatch(SERVICE_ROUTES, call)
    if (key === undefined) return dispatch(BUCKET_ROUTES, { ...call, bucket }, bucket)
    return dispatch(OBJECT_ROUTES, { ...call, bucket, key }, bucket)
  }

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
    url: '/*',
    handler: async (request, reply) => {
      try {
        return await handle(request, reply)
      } catch (err) {
        // drain what is left of the body so that the client reads our answer instead of a reset
        request.raw.resume()
        return sendError(request, reply, err)
      }
    },
  })
  app.setNotFoundHandler((request, reply) => sendError(request, reply, methodNotAllowed()))
}
