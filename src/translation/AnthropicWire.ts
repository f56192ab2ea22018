// Anthropic Messages wire types: the subset the gateway reads or writes.

/** `cache_control` of a block. */
export interface MessagesCacheControl {
  readonly type: "ephemeral"
  readonly ttl?: "5m" | "1h"
}

/** A text block. */
export interface MessagesTextBlock {
  readonly type: "text"
  readonly text: string
  readonly cache_control?: MessagesCacheControl
}

/** Where an image comes from. */
export type MessagesImageSource =
  | { readonly type: "base64"; readonly media_type: string; readonly data: string }
  | { readonly type: "url"; readonly url: string }

/** An image block. */
export interface MessagesImageBlock {
  readonly type: "image"
  readonly source: MessagesImageSource
  readonly cache_control?: MessagesCacheControl
}

/** A document (PDF or plain text) block. */
export interface MessagesDocumentBlock {
  readonly type: "document"
  readonly source:
    | { readonly type: "base64"; readonly media_type: "application/pdf"; readonly data: string }
    | { readonly type: "text"; readonly media_type: "text/plain"; readonly data: string }
    | { readonly type: "url"; readonly url: string }
  readonly title?: string
  readonly cache_control?: MessagesCacheControl
}

/** A tool call made by the assistant. */
export interface MessagesToolUseBlock {
  readonly type: "tool_use"
  readonly id: string
  readonly name: string
  readonly input: Readonly<Record<string, unknown>>
}

/** The result of a tool call, sent by the user. */
export interface MessagesToolResultBlock {
  readonly type: "tool_result"
  readonly tool_use_id: string
  readonly content?: string | ReadonlyArray<MessagesTextBlock | MessagesImageBlock>
  readonly is_error?: boolean
  readonly cache_control?: MessagesCacheControl
}

/** Extended thinking output. */
export interface MessagesThinkingBlock {
  readonly type: "thinking"
  readonly thinking: string
  readonly signature: string
}

/** Extended thinking the provider encrypted. */
export interface MessagesRedactedThinkingBlock {
  readonly type: "redacted_thinking"
  readonly data: string
}

/** Any content block the gateway reads or writes. */
export type MessagesContentBlock =
  | MessagesTextBlock
  | MessagesImageBlock
  | MessagesDocumentBlock
  | MessagesToolUseBlock
  | MessagesToolResultBlock
  | MessagesThinkingBlock
  | MessagesRedactedThinkingBlock

/** One message of a Messages request. */
export interface MessagesMessage {
  readonly role: "user" | "assistant"
  readonly content: string | ReadonlyArray<MessagesContentBlock>
}

/** A client tool. */
export interface MessagesTool {
  readonly name: string
  readonly description?: string
  readonly input_schema: Readonly<Record<string, unknown>>
}

/** `tool_choice` of a Messages request. */
export type MessagesToolChoice =
  | { readonly type: "auto" | "any"; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "tool"; readonly name: string; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "none" }

/** A `POST /v1/messages` body. */
export type MessagesRequest = {
  readonly model: string
  readonly messages: ReadonlyArray<MessagesMessage>
  readonly max_tokens: number
  readonly system?: string | ReadonlyArray<MessagesTextBlock>
  readonly stop_sequences?: ReadonlyArray<string>
  readonly temperature?: number
  readonly top_p?: number
  readonly top_k?: number
  readonly stream?: boolean
  readonly tools?: ReadonlyArray<MessagesTool>
  readonly tool_choice?: MessagesToolChoice
  readonly metadata?: { readonly user_id?: string }
  readonly thinking?: { readonly type: "enabled"; readonly budget_tokens: number } | { readonly type: "disabled" }
  readonly output_config?: {
    readonly format?: { readonly type: "json_schema"; readonly schema: Readonly<Record<string, unknown>> }
  }
}

/** Why the model stopped. */
export type MessagesStopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "pause_turn"
  | "refusal"
  | "model_context_window_exceeded"

/** Token usage of a Messages response. */
export interface MessagesUsage {
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cache_creation_input_tokens?: number | null
  readonly cache_read_input_tokens?: number | null
}

/** A non-streaming Messages response. */
export type MessagesResponse = {
  readonly id: string
  readonly type: "message"
  readonly role: "assistant"
  readonly model: string
  readonly content: ReadonlyArray<MessagesContentBlock>
  readonly stop_reason: MessagesStopReason | null
  readonly stop_sequence: string | null
  readonly usage: MessagesUsage
}
