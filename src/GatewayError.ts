import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Schema } from "effect"

/** Which API's error shape a client expects. */
export type ClientApi = "openai" | "anthropic"

/** A rendered error: status and a JSON body in the client's own error shape. */
export interface RenderedError {
  readonly status: number
  readonly body: string
}

const anthropicType = (status: number, type: string): string => {
  if (type === "invalid_request_error" || type === "authentication_error" || type === "permission_error") return type
  if (type === "not_found_error" || type === "rate_limit_error" || type === "overloaded_error") return type
  switch (status) {
    case 400:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 529:
      return "overloaded_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}

/** Renders a gateway error in OpenAI's `{"error":{message,type,code}}` or Anthropic's `{"type":"error",…}` shape. */
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
    : JSON.stringify({ type: "error", error: { type: anthropicType(status, type), message } })
})

interface ErrorInfo {
  readonly status: number
  readonly type: string
  readonly code: string
  readonly message: string
}

const respond = (info: ErrorInfo) =>
  Effect.succeed(
    HttpServerResponse.text(renderError("openai", info.status, info.type, info.code, info.message).body, {
      status: info.status,
      contentType: "application/json"
    })
  )

/** The request body or a header is malformed (400). */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  reason: Schema.String,
  code: Schema.optionalWith(Schema.String, { default: () => "invalid_request" }),
  param: Schema.optional(Schema.String)
}) {
  get status() {
    return 400
  }
  get errorType() {
    return "invalid_request_error"
  }
  override get message() {
    return this.reason
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 400, type: this.errorType, code: this.code, message: this.message })
  }
}

/** The session header is not 1–256 visible ASCII characters, or the two session headers disagree (400). */
export class InvalidSessionId extends Schema.TaggedError<InvalidSessionId>()("InvalidSessionId", {
  reason: Schema.String
}) {
  get status() {
    return 400
  }
  get errorType() {
    return "invalid_request_error"
  }
  get code() {
    return "invalid_session_id"
  }
  override get message() {
    return this.reason
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 400, type: this.errorType, code: this.code, message: this.message })
  }
}

/** The requested model is not served by any configured provider (404). */
export class NoSuchModel extends Schema.TaggedError<NoSuchModel>()("NoSuchModel", {
  model: Schema.String
}) {
  get status() {
    return 404
  }
  get errorType() {
    return "invalid_request_error"
  }
  get code() {
    return "model_not_found"
  }
  override get message() {
    return `The model '${this.model}' is not configured in model_providers (see GET /v1/models)`
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 404, type: this.errorType, code: this.code, message: this.message })
  }
}

/** The request body exceeds the listener's `max_body_bytes` (413). */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  limit: Schema.Number
}) {
  get status() {
    return 413
  }
  get errorType() {
    return "invalid_request_error"
  }
  get code() {
    return "request_too_large"
  }
  override get message() {
    return `Request body exceeds the limit of ${this.limit} bytes`
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 413, type: this.errorType, code: this.code, message: this.message })
  }
}

/** The provider that would serve the request has no API key (its variable is unset). */
export class MissingApiKey extends Schema.TaggedError<MissingApiKey>()("MissingApiKey", {
  provider: Schema.String,
  variable: Schema.String
}) {
  get status() {
    return 401
  }
  get errorType() {
    return "authentication_error"
  }
  get code() {
    return "missing_api_key"
  }
  override get message() {
    return `Provider '${this.provider}' has no API key: set the environment variable ${this.variable} and restart the gateway`
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 401, type: this.errorType, code: this.code, message: this.message })
  }
}

/** The upstream could not be reached or broke the connection (502). */
export class UpstreamUnavailable extends Schema.TaggedError<UpstreamUnavailable>()("UpstreamUnavailable", {
  provider: Schema.String,
  reason: Schema.String
}) {
  get status() {
    return 502
  }
  get errorType() {
    return "server_error"
  }
  get code() {
    return "upstream_unavailable"
  }
  override get message() {
    return `Provider '${this.provider}' is unavailable: ${this.reason}`
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 502, type: this.errorType, code: this.code, message: this.message })
  }
}

/** The upstream did not answer within the listener timeout (504). */
export class UpstreamTimeout extends Schema.TaggedError<UpstreamTimeout>()("UpstreamTimeout", {
  provider: Schema.String,
  timeoutMs: Schema.Number
}) {
  get status() {
    return 504
  }
  get errorType() {
    return "server_error"
  }
  get code() {
    return "upstream_timeout"
  }
  override get message() {
    return `Provider '${this.provider}' did not answer within ${this.timeoutMs} ms`
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 504, type: this.errorType, code: this.code, message: this.message })
  }
}

/** A path or pin that does not exist (404). */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  what: Schema.String
}) {
  get status() {
    return 404
  }
  get errorType() {
    return "invalid_request_error"
  }
  get code() {
    return "not_found"
  }
  override get message() {
    return `${this.what} not found`
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 404, type: this.errorType, code: this.code, message: this.message })
  }
}

/** The pins API needs `Authorization: Bearer <routing.admin_key>` (401). */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {}) {
  get status() {
    return 401
  }
  get errorType() {
    return "authentication_error"
  }
  get code() {
    return "invalid_admin_key"
  }
  override get message() {
    return "This endpoint needs Authorization: Bearer <routing.admin_key>"
  }
  [HttpServerRespondable.symbol]() {
    return respond({ status: 401, type: this.errorType, code: this.code, message: this.message })
  }
}

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

/** Renders any gateway error in the client's API shape. */
export const renderGatewayError = (api: ClientApi, error: GatewayError): RenderedError =>
  renderError(api, error.status, error.errorType, error.code, error.message)
