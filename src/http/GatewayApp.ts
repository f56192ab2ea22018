import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as AdminApi from "./AdminApi.js"
import { renderError } from "../GatewayError.js"
import { endpointOf, ProxyHandler } from "./ProxyHandler.js"
import { RequestObserver } from "../observability/RequestObserver.js"
import type { Endpoint } from "./ProxyHandler.js"
import { CountTokens, countTokensPath, isCountTokens } from "./CountTokens.js"
import { ResponsesHandler, responsesEndpointOf } from "./ResponsesHandler.js"
import type { ResponsesEndpoint } from "./ResponsesHandler.js"
import { EmbeddingsHandler, isEmbeddings } from "./EmbeddingsHandler.js"
import * as Readiness from "./Readiness.js"

const notFound = (method: string, url: string) =>
  HttpServerResponse.text(
    renderError("openai", 404, "invalid_request_error", "not_found", `No route for ${method} ${url.split("?")[0]}`).body,
    { status: 404, contentType: "application/json" }
  )

/** The whole gateway as an `@effect/platform` HttpApp and as a Node request listener. */
export class GatewayApp extends Effect.Service<GatewayApp>()("switchyard/GatewayApp", {
  scoped: Effect.gen(function*() {
    const proxy = yield* ProxyHandler
    const responses = yield* ResponsesHandler
    const countTokens = yield* CountTokens
    const embeddings = yield* EmbeddingsHandler
    const observer = yield* RequestObserver

    // Mounted in a platform server, the proxy writes straight to the Node response; the platform then sees the
    // response ended and writes nothing more.
    const mount = (endpoint: Endpoint) => (request: HttpServerRequest.HttpServerRequest) =>
      proxy.program(
        endpoint,
        NodeHttpServerRequest.toIncomingMessage(request),
        NodeHttpServerRequest.toServerResponse(request)
      ).pipe(Effect.as(HttpServerResponse.empty()))

    const mountResponses = (endpoint: ResponsesEndpoint) => (request: HttpServerRequest.HttpServerRequest) =>
      responses.program(
        endpoint,
        NodeHttpServerRequest.toIncomingMessage(request),
        NodeHttpServerRequest.toServerResponse(request)
      ).pipe(Effect.as(HttpServerResponse.empty()))

    const proxyRoutes = HttpLayerRouter.addAll([
      HttpLayerRouter.route("POST", "/v1/chat/completions", mount("chat")),
      HttpLayerRouter.route("POST", "/v1/messages", mount("messages")),
      HttpLayerRouter.route("POST", "/routing/v1/chat/completions", mount("route-chat")),
      HttpLayerRouter.route("POST", "/routing/v1/messages", mount("route-messages")),
      HttpLayerRouter.route("POST", "/v1/embeddings", (request) =>
        embeddings.program(
          NodeHttpServerRequest.toIncomingMessage(request),
          NodeHttpServerRequest.toServerResponse(request)
        ).pipe(Effect.as(HttpServerResponse.empty()))),
      HttpLayerRouter.route("POST", "/v1/responses", mountResponses("responses")),
      HttpLayerRouter.route("POST", "/routing/v1/responses", mountResponses("route-responses")),
      HttpLayerRouter.route("POST", countTokensPath, (request: HttpServerRequest.HttpServerRequest) =>
        countTokens.program(
          NodeHttpServerRequest.toIncomingMessage(request),
          NodeHttpServerRequest.toServerResponse(request)
        ).pipe(Effect.as(HttpServerResponse.empty())))
    ])

    const routed = yield* HttpLayerRouter.toHttpEffect(Layer.mergeAll(AdminApi.layer, Readiness.layer, proxyRoutes))
    const httpApp = routed.pipe(
      // Preflight is answered for any path, so it is the not-found fallback rather than a route of its own.
      Effect.catchTag("RouteNotFound", (e) =>
        Effect.succeed(
          e.request.method === "OPTIONS"
            ? HttpServerResponse.empty({ status: 204, headers: AdminApi.corsHeaders })
            : notFound(e.request.method, e.request.url)
        ))
    )
    const platformListener = yield* NodeHttpServer.makeHandler(httpApp)

    /** Node request listener: the lean path for proxy and decision endpoints, the platform app for the rest. */
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      const endpoint = endpointOf(req.method, req.url)
      if (endpoint !== undefined) return proxy.handle(endpoint, req, res)
      observer.begin(req, res, undefined)
      const responsesEndpoint = responsesEndpointOf(req.method, req.url)
      if (responsesEndpoint !== undefined) responses.handle(responsesEndpoint, req, res)
      else if (isCountTokens(req.method, req.url)) countTokens.handle(req, res)
      else if (isEmbeddings(req.method, req.url)) embeddings.handle(req, res)
      else platformListener(req, res)
    }

    return { httpApp, listener } as const
  })
}) {}
