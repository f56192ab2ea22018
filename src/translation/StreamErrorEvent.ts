import { anthropicTypeForStatus, openAITypeForStatus } from "./ErrorTranslation.js"
import { formatFrame } from "./SseParser.js"

/**
 * The SSE frame that tells a client its stream failed: `event: error` with Anthropic's error object, or a `data:`
 * chunk carrying OpenAI's `{"error":{…}}` (what OpenAI itself sends mid-stream).
 */
export const streamErrorEvent = (client: "openai" | "anthropic", status: number, message: string): string =>
  client === "anthropic"
    ? formatFrame(
      JSON.stringify({ type: "error", error: { type: anthropicTypeForStatus(status), message } }),
      "error"
    )
    : formatFrame(
      JSON.stringify({ error: { message, type: openAITypeForStatus(status), param: null, code: null } })
    )
