import type { ServerResponse } from "node:http"
import type { MockHandler, Received } from "./MockUpstream.js"

// One loopback provider speaking three APIs by path: OpenAI Responses (/v1/responses), Chat Completions
// (/v1/chat/completions) and Anthropic Messages (/v1/messages). Each answers the same way: after a tool result
// "It is sunny in Oslo."; when tools are offered "Checking the weather." plus a get_weather({"city":"Oslo"}) call;
// otherwise "served by <model> turn <n>" where n counts the user messages it was sent.

export const SUNNY = "It is sunny in Oslo."
export const CHECKING = "Checking the weather."
export const ARGS = "{\"city\":\"Oslo\"}"

const json = (res: ServerResponse, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const sse = (res: ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream" })

type Plan = { readonly text: string; readonly call: boolean }

const planOf = (toolResult: boolean, tools: boolean, model: string, users: number): Plan =>
  toolResult
    ? { text: SUNNY, call: false }
    : tools
    ? { text: CHECKING, call: true }
    : { text: `served by ${model} turn ${users}`, call: false }

const list = (value: unknown): Array<Record<string, unknown>> =>
  Array.isArray(value) ? value as Array<Record<string, unknown>> : []

const chat = (req: Received, res: ServerResponse) => {
  const model = String(req.body.model)
  const messages = list(req.body.messages)
  const last = messages[messages.length - 1]
  const plan = planOf(
    last?.role === "tool",
    list(req.body.tools).length > 0,
    model,
    messages.filter((m) => m.role === "user").length
  )
  const call = { id: "call_1", type: "function", function: { name: "get_weather", arguments: ARGS } }
  if (req.body.stream !== true) {
    return json(res, {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model,
      choices: [{
        index: 0,
        message: { role: "assistant", content: plan.text, ...(plan.call ? { tool_calls: [call] } : {}) },
        finish_reason: plan.call ? "tool_calls" : "stop"
      }],
      usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 }
    })
  }
  sse(res)
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    res.write(`data: ${
      JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, delta, finish_reason: finish }]
      })
    }\n\n`)
  chunk({ role: "assistant", content: "" })
  const half = Math.floor(plan.text.length / 2)
  chunk({ content: plan.text.slice(0, half) })
  chunk({ content: plan.text.slice(half) })
  if (plan.call) {
    chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }] })
    chunk({ tool_calls: [{ index: 0, function: { arguments: ARGS.slice(0, 8) } }] })
    chunk({ tool_calls: [{ index: 0, function: { arguments: ARGS.slice(8) } }] })
  }
  chunk({}, plan.call ? "tool_calls" : "stop")
  res.write(`data: ${
    JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model,
      choices: [],
      usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 }
    })
  }\n\n`)
  res.end("data: [DONE]\n\n")
}

const messages = (req: Received, res: ServerResponse) => {
  const model = String(req.body.model)
  const turns = list(req.body.messages)
  const last = turns[turns.length - 1]
  const toolResult = last?.role === "user" && list(last.content).some((b) => b.type === "tool_result")
  const users = turns.filter((m) => m.role === "user" && !list(m.content).some((b) => b.type === "tool_result"))
  const plan = planOf(toolResult, list(req.body.tools).length > 0, model, users.length)
  const usage = { input_tokens: 20, output_tokens: 9 }
  if (req.body.stream !== true) {
    return json(res, {
      id: "msg_1",
      type: "message",
      role: "assistant",
      model,
      content: [
        { type: "text", text: plan.text },
        ...(plan.call ? [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }] : [])
      ],
      stop_reason: plan.call ? "tool_use" : "end_turn",
      stop_sequence: null,
      usage
    })
  }
  sse(res)
  const send = (event: string, data: Record<string, unknown>) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`)
  send("message_start", {
    message: { id: "msg_1", type: "message", role: "assistant", model, content: [], usage: { input_tokens: 20, output_tokens: 1 } }
  })
  send("content_block_start", { index: 0, content_block: { type: "text", text: "" } })
  const half = Math.floor(plan.text.length / 2)
  send("content_block_delta", { index: 0, delta: { type: "text_delta", text: plan.text.slice(0, half) } })
  send("content_block_delta", { index: 0, delta: { type: "text_delta", text: plan.text.slice(half) } })
  send("content_block_stop", { index: 0 })
  if (plan.call) {
    send("content_block_start", { index: 1, content_block: { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} } })
    send("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: ARGS.slice(0, 8) } })
    send("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: ARGS.slice(8) } })
    send("content_block_stop", { index: 1 })
  }
  send("message_delta", { delta: { stop_reason: plan.call ? "tool_use" : "end_turn" }, usage: { output_tokens: 9 } })
  send("message_stop", {})
  res.end()
}

const responses = (req: Received, res: ServerResponse) => {
  const model = String(req.body.model)
  const input = typeof req.body.input === "string"
    ? [{ role: "user", content: req.body.input }]
    : list(req.body.input)
  const last = input[input.length - 1]
  const plan = planOf(
    last?.type === "function_call_output",
    list(req.body.tools).length > 0,
    model,
    input.filter((i) => i.role === "user").length
  )
  const message = {
    type: "message",
    id: "msg_native",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: plan.text, annotations: [] }]
  }
  const call = {
    type: "function_call",
    id: "fc_native",
    call_id: "call_native",
    name: "get_weather",
    arguments: ARGS,
    status: "completed"
  }
  const response = (status: string, output: Array<unknown>) => ({
    id: `resp_native_${input.length}`,
    object: "response",
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: null,
    model,
    output,
    previous_response_id: req.body.previous_response_id ?? null,
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    usage: status === "completed"
      ? {
        input_tokens: 20,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 9,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 29
      }
      : null
  })
  const output = plan.call ? [message, call] : [message]
  if (req.body.stream !== true) return json(res, response("completed", output))
  sse(res)
  let seq = 0
  const send = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`)
  send("response.created", { response: response("in_progress", []) })
  send("response.output_item.added", { output_index: 0, item: { ...message, status: "in_progress", content: [] } })
  const at = { item_id: "msg_native", output_index: 0, content_index: 0 }
  send("response.content_part.added", { ...at, part: { type: "output_text", text: "", annotations: [] } })
  send("response.output_text.delta", { ...at, delta: plan.text, logprobs: [] })
  send("response.output_text.done", { ...at, text: plan.text, logprobs: [] })
  send("response.content_part.done", { ...at, part: message.content[0] })
  send("response.output_item.done", { output_index: 0, item: message })
  if (plan.call) {
    send("response.output_item.added", { output_index: 1, item: { ...call, arguments: "", status: "in_progress" } })
    send("response.function_call_arguments.delta", { item_id: "fc_native", output_index: 1, delta: ARGS })
    send("response.function_call_arguments.done", { item_id: "fc_native", output_index: 1, arguments: ARGS })
    send("response.output_item.done", { output_index: 1, item: call })
  }
  send("response.completed", { response: response("completed", output) })
  res.end()
}

/** The three-API mock handler. */
export const multiApi = (): MockHandler => (req, res) => {
  if (req.path.endsWith("/messages/count_tokens")) return json(res, { input_tokens: 42 })
  if (req.path.endsWith("/responses")) return responses(req, res)
  if (req.path.endsWith("/messages")) return messages(req, res)
  return chat(req, res)
}
