import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { load } from "./ConfigFile.js"

/** The last check of the config file: still loadable, or why not. */
export type ConfigStatus =
  | { readonly ok: true; readonly changed: boolean }
  | { readonly ok: false; readonly error: string }

/**
 * Whether the config file on disk still loads. The running gateway keeps the config it started with (a change needs
 * a restart); a file that no longer loads makes `/readyz` unready, so a rollout stops before it restarts into it.
 */
export class ConfigWatch extends Context.Tag("switchyard/ConfigWatch")<ConfigWatch, {
  readonly status: Effect.Effect<ConfigStatus>
}>() {}

/** No file to watch (config given in code): always fine. */
export const layerStatic: Layer.Layer<ConfigWatch> = Layer.succeed(ConfigWatch, {
  status: Effect.succeed<ConfigStatus>({ ok: true, changed: false })
})

/** Re-reads `path` every `every` in the layer's scope. */
export const layerFile = (
  path: string,
  every: Duration.DurationInput = "5 seconds"
): Layer.Layer<ConfigWatch, never, FileSystem.FileSystem> =>
  Layer.scoped(
    ConfigWatch,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const first = yield* fs.readFileString(path).pipe(Effect.orElseSucceed(() => ""))
      const status = yield* Ref.make<ConfigStatus>({ ok: true, changed: false })
      const check = Effect.gen(function*() {
        const text = yield* fs.readFileString(path).pipe(Effect.orElseSucceed(() => undefined))
        if (text === first) return yield* Ref.set(status, { ok: true, changed: false })
        const next = yield* load(path).pipe(
          Effect.as<ConfigStatus>({ ok: true, changed: true }),
          Effect.catchAll((error) => Effect.succeed<ConfigStatus>({ ok: false, error: error.message }))
        )
        const previous = yield* Ref.getAndSet(status, next)
        if (!next.ok && (previous.ok || previous.error !== next.error)) {
          yield* Effect.logWarning(`config file ${path} no longer loads; /readyz reports unready:\n${next.error}`)
        } else if (next.ok && (!previous.ok || !previous.changed)) {
          yield* Effect.logWarning(`config file ${path} changed; restart the gateway to apply it`)
        }
      })
      yield* check.pipe(
        Effect.catchAllCause(Effect.logWarning),
        Effect.repeat(Schedule.spaced(every)),
        Effect.annotateLogs({ service: "ConfigWatch" }),
        Effect.forkScoped
      )
      return { status: Ref.get(status) }
    })
  )
