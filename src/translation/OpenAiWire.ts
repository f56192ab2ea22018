// OpenAI Chat Completions wire types: the subset the gateway reads or writes.

/** A text part. */
export interface ChatTextPart {
  readonly type: "text"
  readonly text: string
}

/** An image part: an http(s) URL or a `data:` URL. */
export interface ChatImagePart {
  readonly type: "image_url"
  readonly image_url: { readonly url: string; readonly detail?: "auto" | "low" | "high" }
}

/** A file part (a PDF as a `data:` URL in `file_data`, or an uploaded `file_id`). */
export interface ChatFilePart {
  readonly type: "file"
  readonly file: { readonly file_data?: string; readonly file_id?: string; readonly filename?: string }
}

/** A refusal part of an assistant message. */
export interface ChatRefusalPart {
  readonly type: "refusal"
  readonly refusal: string
}

/** Any content part the gateway reads or writes. */
export type ChatContentPart = ChatTextPart | ChatImagePart | ChatFilePart | ChatRefusalPart

/** A tool call of an assistant message. */
export interface ChatToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

/** One message of a Chat Completions request. */
export type ChatMessage =
  | {
    readonly role: "system" | "developer"
    readonly content: string | ReadonlyArray<ChatTextPart>
    readonly name?: string
  }
  | { readonly role: "user"; readonly content: string | ReadonlyArray<ChatContentPart>; readonly name?: string }
  | {
    readonly role: "assistant"
    readonly content?: string | ReadonlyArray<ChatTextPart | ChatRefusalPart> | null
    readonly refusal?: string | null
    readonly tool_calls?: ReadonlyArray<ChatToolCall>
    readonly function_call?: { readonly name: string; readonly arguments: string } | null
    readonly reasoning_content?: string | null
  }
  | { readonly role: "tool"; readonly content: string | ReadonlyArray<ChatTextPart>; readonly tool_call_id: string }
  | { readonly role: "function"; readonly name: string; readonly content: string | null }

/** A function tool. */
export interface ChatTool {
  readonly type: "function"
  readonly function: {
    readonly name: string
    readonly description?: string
    readonly parameters?: Readonly<Record<string, unknown>>
    readonly strict?: boolean | null
  }
}

/** `tool_choice` of a Chat Completions request. */
export type ChatToolChoice =
  | "none"
  | "auto"
  | "required"
  | { readonly type: "function"; readonly function: { readonly name: string } }

/** `response_format` of a Chat Completions request. */
export type ChatResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | {
    readonly type: "json_schema"
    readonly json_schema: {
      readonly name: string
      readonly description?: string
      readonly schema?: Readonly<Record<string, unknown>>
      readonly strict?: boolean | null
    }
  }

/** A `POST /v1/chat/completions` body. */
export type ChatRequest = {
  readonly model?: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly max_tokens?: number | null
  readonly max_completion_tokens?: number | null
  readonly temperature?: number | null
  readonly top_p?: number | null
  readonly n?: number | null
  readonly stop?: string | ReadonlyArray<string> | null
  readonly stream?: boolean | null
  readonly stream_options?: { readonly include_usage?: boolean } | null
  readonly tools?: ReadonlyArray<ChatTool>
  readonly tool_choice?: ChatToolChoice
  readonly parallel_tool_calls?: boolean
  readonly response_format?: ChatResponseFormat
  readonly user?: string
  readonly safety_identifier?: string
  readonly reasoning_effort?: "minimal" | "low" | "medium" | "high" | null
}

/** Why the model stopped. */
export type ChatFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call"

/** Token usage of a chat completion. */
export interface ChatUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
  readonly prompt_tokens_details?: { readonly cached_tokens: number }
}

/** The assistant message of a chat completion. */
export interface ChatResponseMessage {
  readonly role: "assistant"
  readonly content: string | null
  readonly refusal: string | null
  readonly tool_calls?: ReadonlyArray<ChatToolCall>
  /** DeepSeek/vLLM-style reasoning text. */
  readonly reasoning_content?: string
}

/** A non-streaming chat completion. */
export type ChatResponse = {
  readonly id: string
  readonly object: "chat.completion"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly message: ChatResponseMessage
    readonly logprobs: null
    readonly finish_reason: ChatFinishReason | null
  }>
  readonly usage?: ChatUsage
}

/** A tool-call fragment of a streamed delta. */
export interface ChatToolCallDelta {
  readonly index: number
  readonly id?: string
  readonly type?: "function"
  readonly function?: { readonly name?: string; readonly arguments?: string }
}

/** A chat.completion.chunk. */
export interface ChatCompletionChunk {
  readonly id: string
  readonly object: "chat.completion.chunk"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly delta: {
      readonly role?: "assistant"
      readonly content?: string | null
      readonly refusal?: string | null
      readonly tool_calls?: ReadonlyArray<ChatToolCallDelta>
      readonly reasoning_content?: string
    }
    readonly logprobs?: null
    readonly finish_reason: ChatFinishReason | null
  }>
  readonly usage?: ChatUsage | null
}
