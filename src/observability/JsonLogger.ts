import * as Cause from "effect/Cause"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { writeSync } from "node:fs"

/** Where JSON lines go: stdout, one line per record. */
export type LineSink = (line: string) => void

let pending: Array<string> = []

let pendingBytes = 0

// Lines wait up to this long, or until this much is pending: a write per request (or per event-loop turn, which
// under load is a few requests) is a syscall each time, and measured as a quarter of a proxied request's CPU.
const flushDelayMs = 25
const flushBytes = 64 * 1024

const flush = () => {
  if (pending.length === 0) return
  const text = pending.join("\n") + "\n"
  pending = []
  pendingBytes = 0
  process.stdout.write(text)
}

// Lines still pending when the process exits are written synchronously.
process.once("exit", () => {
  if (pending.length > 0) writeSync(1, pending.join("\n") + "\n")
  pending = []
})

/** Writes lines to stdout (the access log and the JSON logger share it) in batches: at most 25 ms or 64 KiB apart. */
export const stdoutSink: LineSink = (line) => {
  pendingBytes += line.length + 1
  if (pending.push(line) === 1) setTimeout(flush, flushDelayMs).unref()
  else if (pendingBytes >= flushBytes) flush()
}

/** Warnings and errors: written at once to stderr, so a process supervisor sees them apart from the access log. */
export const stderrSink: LineSink = (line) => {
  process.stderr.write(line + "\n")
}

const textOf = (message: unknown): string => {
  if (typeof message === "string") return message
  if (Array.isArray(message)) return message.map(textOf).join(" ")
  if (message instanceof Error) return message.message
  return JSON.stringify(message) ?? String(message)
}

/**
 * An Effect `Logger` writing one JSON object per line: `time`, `level`, `msg`, annotations, and `cause` if any.
 * Warnings and errors go to `errorSink` (stderr unless a sink is given).
 */
export const make = (
  sink: LineSink = stdoutSink,
  errorSink: LineSink = sink === stdoutSink ? stderrSink : sink
): Logger.Logger<unknown, void> =>
  Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const record: Record<string, unknown> = {
      time: date.toISOString(),
      level: logLevel.label.toLowerCase(),
      msg: textOf(message)
    }
    for (const [key, value] of HashMap.toEntries(annotations)) {
      if (!(key in record)) record[key] = value
    }
    if (!Cause.isEmpty(cause)) record.cause = Cause.pretty(cause, { renderErrorCause: true })
    const line = JSON.stringify(record)
    if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) errorSink(line)
    else sink(line)
  })

/** Replaces the default (and the runtime's pretty) logger with the JSON logger (what `switchyard up` runs with). */
export const layer = (sink: LineSink = stdoutSink): Layer.Layer<never> =>
  Layer.merge(Logger.remove(Logger.prettyLoggerDefault), Logger.replace(Logger.defaultLogger, make(sink)))
