/** OpenAI Responses API wire types: the parts of `POST /v1/responses` and its answers the gateway reads or writes. */

/** An output message part. */
export interface ResponsesOutputText {
  readonly type: "output_text"
  readonly text: string
  readonly annotations: ReadonlyArray<unknown>
}

/** An assistant message item of `output`. */
export interface ResponsesMessageItem {
  readonly type: "message"
  readonly id: string
  readonly status: "in_progress" | "completed" | "incomplete"
  readonly role: "assistant"
  readonly content: ReadonlyArray<ResponsesOutputText>
}

/** A function call item of `output` (and of a later request's `input`). */
export interface ResponsesFunctionCallItem {
  readonly type: "function_call"
  readonly id: string
  readonly call_id: string
  readonly name: string
  readonly arguments: string
  readonly status: "in_progress" | "completed" | "incomplete"
}

/** A reasoning item of `output`: a summary, and Anthropic's signature as `encrypted_content` when it has one. */
export interface ResponsesReasoningItem {
  readonly type: "reasoning"
  readonly id: string
  readonly summary: ReadonlyArray<{ readonly type: "summary_text"; readonly text: string }>
  readonly encrypted_content?: string
}

/** One item of a response's `output`. */
export type ResponsesOutputItem = ResponsesMessageItem | ResponsesFunctionCallItem | ResponsesReasoningItem

/** Token usage of a response. */
export interface ResponsesUsage {
  readonly input_tokens: number
  readonly input_tokens_details: { readonly cached_tokens: number }
  readonly output_tokens: number
  readonly output_tokens_details: { readonly reasoning_tokens: number }
  readonly total_tokens: number
}

/** A response object (`object: "response"`). */
export interface ResponsesResponse {
  readonly id: string
  readonly object: "response"
  readonly created_at: number
  readonly status: "in_progress" | "completed" | "incomplete" | "failed"
  readonly error: { readonly code: string; readonly message: string } | null
  readonly incomplete_details: { readonly reason: string } | null
  readonly instructions: unknown
  readonly max_output_tokens: number | null
  readonly model: string
  readonly output: ReadonlyArray<ResponsesOutputItem>
  readonly parallel_tool_calls: boolean
  readonly previous_response_id: string | null
  readonly reasoning: { readonly effort: string | null; readonly summary: string | null }
  readonly store: boolean
  readonly temperature: number | null
  readonly text: { readonly format: unknown }
  readonly tool_choice: unknown
  readonly tools: ReadonlyArray<unknown>
  readonly top_p: number | null
  readonly truncation: "disabled"
  readonly usage: ResponsesUsage | null
  readonly user: string | null
  readonly metadata: Readonly<Record<string, string>>
}

/** The request fields echoed in a response object. */
export interface ResponsesEcho {
  readonly instructions: unknown
  readonly max_output_tokens: number | null
  readonly parallel_tool_calls: boolean
  readonly previous_response_id: string | null
  readonly reasoning: { readonly effort: string | null; readonly summary: string | null }
  readonly store: boolean
  readonly temperature: number | null
  readonly text: { readonly format: unknown }
  readonly tool_choice: unknown
  readonly tools: ReadonlyArray<unknown>
  readonly top_p: number | null
  readonly user: string | null
  readonly metadata: Readonly<Record<string, string>>
}
