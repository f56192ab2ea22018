import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { watch as watchFs } from "node:fs"
import { basename, dirname } from "node:path"

/** Quiet time after the last change before a reload (editors write a file in several steps). */
export const defaultDebounceMs = 250

/**
 * Runs `onChange` after the file at `path` changes and then stays unchanged for `debounceMs`, until the scope closes.
 * Watches the directory, so a file replaced by a rename (as editors and `kubectl` config maps do) is still seen.
 */
export const watch = <E>(path: string, onChange: Effect.Effect<unknown, E>, debounceMs = defaultDebounceMs) =>
  Effect.gen(function*() {
    const changes = yield* Queue.sliding<void>(1)
    const name = basename(path)
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const watcher = watchFs(dirname(path), (_event, file) => {
          if (file === null || file === name) Queue.unsafeOffer(changes, undefined)
        })
        // A directory that goes away ends the watch; the reload endpoint and SIGHUP still work.
        watcher.on("error", () => {})
        return watcher
      }),
      (watcher) => Effect.sync(() => watcher.close())
    )
    const quiet: Effect.Effect<void> = Effect.sleep(debounceMs).pipe(
      Effect.zipRight(Queue.takeAll(changes)),
      Effect.flatMap((more) => more.length > 0 ? quiet : Effect.void)
    )
    yield* Queue.take(changes).pipe(
      Effect.zipRight(quiet),
      Effect.zipRight(Effect.ignore(onChange)),
      Effect.catchAllCause(Effect.logWarning),
      Effect.forever,
      Effect.annotateLogs({ service: "ConfigWatch", path }),
      Effect.forkScoped
    )
  })
