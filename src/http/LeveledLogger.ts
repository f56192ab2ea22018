import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

const atLeastWarning = (level: LogLevel.LogLevel) => LogLevel.greaterThanEqual(level, LogLevel.Warning)

const split = <A>(toStdout: Logger.Logger<unknown, A>, toStderr: Logger.Logger<unknown, A>) =>
  Logger.zip(
    Logger.filterLogLevel(toStdout, (level) => !atLeastWarning(level)),
    Logger.filterLogLevel(toStderr, atLeastWarning)
  )

const leveledDefault = Logger.withLeveledConsole(Logger.stringLogger)
const leveledPretty = split(Logger.prettyLogger(), Logger.prettyLogger({ stderr: true }))

/**
 * Effect's default and pretty loggers write every level to stdout; this layer keeps their format and sends warnings
 * and errors to stderr. Other loggers an embedder installed are left alone.
 */
export const layer: Layer.Layer<never> = Layer.scopedDiscard(
  Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
    HashSet.map(loggers, (logger): Logger.Logger<unknown, unknown> =>
      logger === Logger.defaultLogger ? leveledDefault : logger === Logger.prettyLoggerDefault ? leveledPretty : logger
    ))
)
