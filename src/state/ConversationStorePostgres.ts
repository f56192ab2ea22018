import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { Pool } from "pg"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { StateUnavailable } from "../GatewayError.js"
import { ConversationStore, layerMemory, layerNone } from "./ConversationStore.js"
import type { StoredResponse } from "./ConversationStore.js"

/** Options of the PostgreSQL store. */
export interface PostgresOptions {
  readonly connectionString: Redacted.Redacted<string>
  /** Table holding one row per response (a plain or schema-qualified identifier). */
  readonly table?: string
  /** Every connect and query gives up after this long (a stopped database is a 503, never a hang). */
  readonly timeoutMs?: number
}

const identifier = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/

const reasonOf = (cause: unknown): string => {
  if (cause instanceof Error && cause.message.length > 0) return cause.message
  return "the database did not answer"
}

/**
 * The PostgreSQL store: one row per response (`id`, the conversation as `jsonb`, `created_at`), table created on
 * start (and again on first use if the database was down then). A row is written before the response is answered.
 */
export const make = (options: PostgresOptions) =>
  Effect.gen(function*() {
    const table = options.table ?? "switchyard_responses"
    if (!identifier.test(table)) return yield* Effect.dieMessage(`invalid state table name: ${table}`)
    const timeoutMs = options.timeoutMs ?? 5000
    // Loaded only when configured, so the CLI and memory-only gateways do not pay for the driver at start.
    const pg = yield* Effect.promise(() => import("pg"))
    const pool: Pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const created = new pg.default.Pool({
          connectionString: Redacted.value(options.connectionString),
          max: 10,
          connectionTimeoutMillis: timeoutMs,
          query_timeout: timeoutMs,
          idleTimeoutMillis: 30_000
        })
        // An idle connection that breaks (database stopped) must not crash the process; the next query reconnects.
        created.on("error", () => undefined)
        return created
      }),
      (p) => Effect.promise(() => p.end().catch(() => undefined))
    )

    const query = (text: string, values: ReadonlyArray<unknown> = []) =>
      Effect.tryPromise({
        try: () => pool.query(text, [...values]),
        catch: (cause) => new StateUnavailable({ reason: reasonOf(cause) })
      }).pipe(
        // The driver's own timeouts cover connect and query; this also covers a stall between the two.
        Effect.timeoutFail({
          duration: Duration.millis(timeoutMs + 500),
          onTimeout: () => new StateUnavailable({ reason: `no answer within ${timeoutMs} ms` })
        })
      )

    const createSchema = query(
      `CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, items jsonb NOT NULL, ` +
        `created_at timestamptz NOT NULL DEFAULT now())`
    )
    let ready = yield* createSchema.pipe(
      Effect.as(true),
      Effect.catchAll((error) =>
        Effect.as(Effect.logWarning(`state_storage: ${error.message}; retrying on first use`), false)
      ),
      Effect.annotateLogs({ service: "ConversationStore" })
    )
    const ensureSchema = Effect.suspend(() =>
      ready ? Effect.void : Effect.tap(createSchema, () => {
        ready = true
      })
    )

    const get = Effect.fn("ConversationStore.get")(function*(id: string) {
      yield* ensureSchema
      const result = yield* query(`SELECT items FROM ${table} WHERE id = $1`, [id])
      const row: unknown = result.rows[0]
      if (typeof row !== "object" || row === null || !("items" in row) || !Array.isArray(row.items)) {
        return Option.none<StoredResponse>()
      }
      return Option.some<StoredResponse>({ id, items: row.items })
    })

    const put = Effect.fn("ConversationStore.put")(function*(response: StoredResponse) {
      yield* ensureSchema
      yield* query(
        `INSERT INTO ${table} (id, items) VALUES ($1, $2::jsonb) ON CONFLICT (id) DO UPDATE SET items = EXCLUDED.items`,
        [response.id, JSON.stringify(response.items)]
      )
    })

    return { kind: "postgres" as const, get, put }
  })

/** The PostgreSQL store. */
export const layer = (options: PostgresOptions) => Layer.scoped(ConversationStore, make(options))

/** The store `state_storage` asks for: none, memory, or PostgreSQL at `connection_string`. */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(GatewayConfig, (config) => {
    const state = config.stateStorage
    if (state === undefined) return layerNone
    if (state.type === "memory") return layerMemory()
    return layer({ connectionString: state.connectionString, timeoutMs: Math.min(config.listener.timeoutMs, 5000) })
  })
)
