import * as Either from "effect/Either"
import type { ClientApi } from "../GatewayError.js"
import type { Wire } from "../providers/Providers.js"
import type { MessagesRequest } from "../translation/AnthropicWire.js"
import { toMessagesRequest } from "../translation/ChatToMessages.js"
import type { TranslationError } from "../translation/ErrorTranslation.js"
import { toChatRequest } from "../translation/MessagesToChat.js"
import type { ChatRequest } from "../translation/OpenAiWire.js"
import type { JsonObject } from "./RequestBody.js"

/**
 * The upstream body for one target: same API, the client's body with the target's model id, every unknown field kept;
 * cross API, the request translated. Called once per attempted target, since the model id (and maybe the API) differs.
 */
export const upstreamBody = (
  api: ClientApi,
  wire: Wire,
  body: JsonObject,
  modelId: string
): Either.Either<string, TranslationError> => {
  if ((api === "openai") === (wire === "chat")) {
    body.model = modelId
    return Either.right(JSON.stringify(body))
  }
  return api === "openai"
    ? Either.map(toMessagesRequest(body as ChatRequest, { model: modelId }), (b) => JSON.stringify(b))
    : Either.map(
      toChatRequest(body as MessagesRequest, { model: modelId, stream: body.stream === true }),
      (b) => JSON.stringify(b)
    )
}
