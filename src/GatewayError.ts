import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { anthropicTypeForStatus } from "./translation/ErrorTranslation.js"

/** Which API's error shape a client expects. */
export type ClientApi = "openai" | "anthropic"

/** A rendered error: status and a JSON body in the client's own error shape. */
export interface RenderedError {
  readonly status: number
  readonly body: string
}

/** Renders an error in OpenAI's `{"error":{message,type,code}}` or Anthropic's `{"type":"error",…}` shape. */
export const renderError = (
  api: ClientApi,
  status: number,
  type: string,
  code: string,
  message: string
): RenderedError => ({
  status,
  body: api === "openai"
    ? JSON.stringify({ error: { message, type, param: null, code } })
    : JSON.stringify({
      type: "error",
      error: { type: type === "invalid_request_error" ? type : anthropicTypeForStatus(status), message }
    })
})

const respond = (error: GatewayError) =>
  Effect.succeed(
    HttpServerResponse.text(renderGatewayError("openai", error).body, {
      status: httpInfo[error._tag].status,
      contentType: "application/json",
      headers: errorHeaders(error) ?? {}
    })
  )

/** The request body or a header is malformed (400). */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  reason: Schema.String,
  code: Schema.optionalWith(Schema.String, { default: () => "invalid_request" }),
  param: Schema.optional(Schema.String)
}) {
  override get message() {
    return this.reason
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The session header is not 1–256 visible ASCII characters, or the two session headers disagree (400). */
export class InvalidSessionId extends Schema.TaggedError<InvalidSessionId>()("InvalidSessionId", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The requested model is not served by any configured provider (404). */
export class NoSuchModel extends Schema.TaggedError<NoSuchModel>()("NoSuchModel", {
  model: Schema.String
}) {
  override get message() {
    return `The model '${this.model}' is not configured in model_providers (see GET /v1/models)`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The request body exceeds the listener's `max_body_bytes` (413). */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  limit: Schema.Number
}) {
  override get message() {
    return `Request body exceeds the limit of ${this.limit} bytes`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The provider that would serve the request has no API key (its variable is unset). */
export class MissingApiKey extends Schema.TaggedError<MissingApiKey>()("MissingApiKey", {
  provider: Schema.String,
  variable: Schema.String
}) {
  override get message() {
    return `Provider '${this.provider}' has no API key: set the environment variable ${this.variable} and restart the gateway`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The upstream could not be reached or broke the connection (502). */
export class UpstreamUnavailable extends Schema.TaggedError<UpstreamUnavailable>()("UpstreamUnavailable", {
  provider: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Provider '${this.provider}' is unavailable: ${this.reason}`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The upstream did not answer within the listener timeout (504). */
export class UpstreamTimeout extends Schema.TaggedError<UpstreamTimeout>()("UpstreamTimeout", {
  provider: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message() {
    return `Provider '${this.provider}' did not answer within ${this.timeoutMs} ms`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** A path or pin that does not exist (404). */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  what: Schema.String
}) {
  override get message() {
    return `${this.what} not found`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The pins API needs `Authorization: Bearer <routing.admin_key>` (401). */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {}) {
  override get message() {
    return "This endpoint needs Authorization: Bearer <routing.admin_key>"
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** `previous_response_id` names a response the gateway's state storage does not hold (409, Plano's message). */
export class ConversationNotFound extends Schema.TaggedError<ConversationNotFound>()("ConversationNotFound", {
  id: Schema.String
}) {
  override get message() {
    return `Conversation state not found for previous_response_id: ${this.id}`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The conversation state storage (`state_storage`) did not answer in time or failed (503). */
export class StateUnavailable extends Schema.TaggedError<StateUnavailable>()("StateUnavailable", {
  reason: Schema.String
}) {
  override get message() {
    return `Conversation state storage is unavailable: ${this.reason}`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** No client key, or one the gateway does not know (or that expired) (401). */
export class InvalidClientKey extends Schema.TaggedError<InvalidClientKey>()("InvalidClientKey", {
  reason: Schema.Literal("missing", "unknown", "expired")
}) {
  override get message() {
    return this.reason === "missing"
      ? "This gateway needs a client key: send Authorization: Bearer <key> or x-api-key: <key>"
      : this.reason === "expired"
      ? "The client key has expired"
      : "Invalid client key"
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The client key may not use the requested model (403). */
export class ModelNotAllowed extends Schema.TaggedError<ModelNotAllowed>()("ModelNotAllowed", {
  keyName: Schema.String,
  model: Schema.String
}) {
  override get message() {
    return `The client key '${this.keyName}' may not use the model '${this.model}'`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** A `ratelimits` entry is exhausted (429, with `Retry-After`). */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  model: Schema.String,
  limit: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  override get message() {
    return `Rate limit exceeded for model '${this.model}' (${this.limit}); retry after ${this.retryAfterSeconds} s`
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** The shared rate-limit store is unreachable and `auth.fail_open` is false (503). */
export class LimiterUnavailable extends Schema.TaggedError<LimiterUnavailable>()("LimiterUnavailable", {}) {
  override get message() {
    return "Rate limits cannot be checked (the Redis store is unreachable); try again shortly"
  }
  [HttpServerRespondable.symbol]() {
    return respond(this)
  }
}

/** Response headers an error carries besides its body (`Retry-After` on 429). */
export const errorHeaders = (error: GatewayError): Record<string, string> | undefined =>
  error._tag === "RateLimited" ? { "retry-after": String(error.retryAfterSeconds) } : undefined

/** Every error a client of the gateway can see. */
export type GatewayError =
  | InvalidRequest
  | InvalidSessionId
  | NoSuchModel
  | PayloadTooLarge
  | MissingApiKey
  | UpstreamUnavailable
  | UpstreamTimeout
  | NotFound
  | Unauthorized
  | ConversationNotFound
  | StateUnavailable
  | InvalidClientKey
  | ModelNotAllowed
  | RateLimited
  | LimiterUnavailable

/** HTTP status, OpenAI error type and code of each error (an `InvalidRequest` carries its own code). */
export const httpInfo: Readonly<
  Record<GatewayError["_tag"], { readonly status: number; readonly type: string; readonly code: string }>
> = {
  InvalidRequest: { status: 400, type: "invalid_request_error", code: "invalid_request" },
  InvalidSessionId: { status: 400, type: "invalid_request_error", code: "invalid_session_id" },
  NoSuchModel: { status: 404, type: "invalid_request_error", code: "model_not_found" },
  PayloadTooLarge: { status: 413, type: "invalid_request_error", code: "request_too_large" },
  MissingApiKey: { status: 401, type: "authentication_error", code: "missing_api_key" },
  UpstreamUnavailable: { status: 502, type: "server_error", code: "upstream_unavailable" },
  UpstreamTimeout: { status: 504, type: "server_error", code: "upstream_timeout" },
  NotFound: { status: 404, type: "invalid_request_error", code: "not_found" },
  Unauthorized: { status: 401, type: "authentication_error", code: "invalid_admin_key" },
  ConversationNotFound: { status: 409, type: "invalid_request_error", code: "conversation_not_found" },
  StateUnavailable: { status: 503, type: "server_error", code: "state_unavailable" },
  InvalidClientKey: { status: 401, type: "authentication_error", code: "invalid_api_key" },
  ModelNotAllowed: { status: 403, type: "permission_error", code: "model_not_allowed" },
  RateLimited: { status: 429, type: "rate_limit_error", code: "rate_limit_exceeded" },
  LimiterUnavailable: { status: 503, type: "server_error", code: "rate_limiter_unavailable" }
}

/** Renders any gateway error in the client's API shape. */
export const renderGatewayError = (api: ClientApi, error: GatewayError): RenderedError => {
  const info = httpInfo[error._tag]
  const code = error._tag === "InvalidRequest" ? error.code : info.code
  return renderError(api, info.status, info.type, code, error.message)
}
