import * as Data from "effect/Data"
import * as Either from "effect/Either"
import type { Turn } from "./Conversation.js"

/** Plano 5789694d `ARCH_ROUTER_V1_SYSTEM_PROMPT`, byte for byte (856 bytes; note the two spaces after "tags."). */
export const ARCH_ROUTER_TEMPLATE = "\n" +
  "You are a helpful assistant designed to find the best suited route.\n" +
  "You are provided with route description within <routes></routes> XML tags:\n" +
  "<routes>\n" +
  "{routes}\n" +
  "</routes>\n" +
  "\n" +
  "<conversation>\n" +
  "{conversation}\n" +
  "</conversation>\n" +
  "\n" +
  "Your task is to decide which route is best suit with user intent on the conversation in " +
  "<conversation></conversation> XML tags.  Follow the instruction:\n" +
  "1. If the latest intent from user is irrelevant or user intent is full filled, response with other route " +
  "{\"route\": \"other\"}.\n" +
  "2. You must analyze the route descriptions and find the best match route for user latest intent.\n" +
  "3. You only response the name of the route that best matches the user's request, use the exact name in the " +
  "<routes></routes>.\n" +
  "\n" +
  "Based on your analysis, provide your response in the following JSON formats if you decide to match any route:\n" +
  "{\"route\": \"route_name\"}\n"

/** Plano's default token budget for the router prompt (`MAX_TOKEN_LEN`). */
export const DEFAULT_MAX_TOKENS = 2048

/** Plano's token estimate: UTF-8 bytes / 4, integer division. */
export const estimateTokens = (text: string): number => Math.floor(Buffer.byteLength(text, "utf8") / 4)

const TEMPLATE_TOKENS = estimateTokens(ARCH_ROUTER_TEMPLATE)

/** A route as the router prompt shows it. */
export interface PromptRoute {
  readonly name: string
  readonly description: string
}

/** A conversation message as the router prompt shows it. */
export interface PromptMessage {
  readonly role: string
  readonly content: string
}

/** The body of the chat completion request sent to the router model. */
export interface RouterRequest {
  readonly messages: readonly [{ readonly role: "user"; readonly content: string }]
  readonly model: string
  readonly temperature: 0.01
}

// Sequential replace-all, as Rust's `str::replace` does; split/join also avoids String.replace's `$&` patterns.
const substitute = (text: string, placeholder: string, value: string): string => text.split(placeholder).join(value)

/** Fills the Arch-Router template with compact JSON of the routes and the conversation. */
export const renderPrompt = (
  routes: ReadonlyArray<PromptRoute>,
  conversation: ReadonlyArray<PromptMessage>
): string => {
  const routesJson = JSON.stringify(routes.map((r) => ({ name: r.name, description: r.description })))
  const conversationJson = JSON.stringify(conversation.map((m) => ({ role: m.role, content: m.content })))
  return substitute(substitute(ARCH_ROUTER_TEMPLATE, "{routes}", routesJson), "{conversation}", conversationJson)
}

/**
 * Picks the turns the router sees (Plano 5789694d): no system/developer/tool turns nor empty ones, newest first
 * within `maxTokens` (null = unlimited), an overflowing user turn kept whole, returned in chronological order.
 */
export const selectConversation = (
  turns: ReadonlyArray<Turn>,
  maxTokens: number | null
): ReadonlyArray<Turn> => {
  const candidates = turns.filter((t) =>
    t.role !== "system" && t.role !== "developer" && t.role !== "tool" && t.content.length > 0
  )
  const selected: Array<Turn> = []
  let tokens = TEMPLATE_TOKENS
  for (let i = candidates.length - 1; i >= 0; i--) {
    const turn = candidates[i]!
    tokens += estimateTokens(turn.content)
    if (maxTokens !== null && tokens > maxTokens) {
      if (turn.role === "user") selected.push(turn)
      break
    }
    selected.push(turn)
  }
  if (selected.length === 0 && candidates.length > 0) selected.push(candidates[candidates.length - 1]!)
  return selected.reverse()
}

/** The whole router call body: the filled prompt as a single user message, at temperature 0.01. */
export const buildRouterRequest = (
  routes: ReadonlyArray<PromptRoute>,
  turns: ReadonlyArray<Turn>,
  options: { readonly model: string; readonly maxTokens: number | null }
): RouterRequest => ({
  messages: [{ role: "user", content: renderPrompt(routes, selectConversation(turns, options.maxTokens)) }],
  model: options.model,
  temperature: 0.01
})

const RAW_LIMIT = 200

/** The router answered something that is not JSON even after Plano's fix-ups. */
export class RouterOutputError extends Data.TaggedError("RouterOutputError")<{
  /** The router's raw text, truncated to 200 characters. */
  readonly raw: string
}> {
  override get message(): string {
    return `router output is not valid JSON: ${this.raw}`
  }
}

const fixJson = (content: string): string => {
  let text = content.replaceAll("'", "\"").replaceAll("\\n", "")
  if (text.startsWith("```json")) text = text.slice("```json".length)
  if (text.endsWith("```")) text = text.slice(0, -"```".length)
  return text
}

/**
 * Reads the route from the router's reply (Plano 5789694d `parse_response`): null for empty output, a missing,
 * null or empty route, or `"other"`; an error when the text is not a JSON object with an optional string `route`.
 */
export const parseRouterOutput = (
  content: string | null | undefined
): Either.Either<string | null, RouterOutputError> => {
  if (content === null || content === undefined || content.length === 0) return Either.right(null)
  const raw = content.length > RAW_LIMIT ? `${content.slice(0, RAW_LIMIT)}…` : content
  const fail = () => Either.left(new RouterOutputError({ raw }))
  let parsed: unknown
  try {
    parsed = JSON.parse(fixJson(content))
  } catch {
    return fail()
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return fail()
  const route: unknown = "route" in parsed ? parsed.route : undefined
  if (route === undefined || route === null) return Either.right(null)
  if (typeof route !== "string") return fail()
  return Either.right(route === "" || route === "other" ? null : route)
}
