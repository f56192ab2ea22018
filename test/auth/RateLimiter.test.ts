import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Schema, Scope, TestClock } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import * as RateLimiter from "../../src/auth/RateLimiter.js"

const bucket = (capacity: number, windowMs = 60_000): RateLimiter.Bucket => ({
  key: `test-${randomBytes(6).toString("hex")}`,
  capacity,
  windowMs
})

const takeN = (b: RateLimiter.Bucket, n: number, cost = 1) =>
  Effect.flatMap(RateLimiter.RateLimiter, (limiter) =>
    Effect.forEach(Array.from({ length: n }), () => limiter.take(b, cost), { concurrency: "unbounded" }))

describe("RateLimiter", () => {
  it.scoped("memory: a bucket of N passes N takes, rejects the next with the time until one unit refills", () =>
    Effect.gen(function*() {
      const b = bucket(3)
      const first = yield* takeN(b, 3)
      assert.isTrue(first.every((o) => o.allowed))
      const [fourth] = yield* takeN(b, 1)
      assert.isFalse(fourth!.allowed)
      assert.strictEqual(fourth!.retryAfterMs, 20_000)
      yield* TestClock.adjust("19 seconds")
      assert.isFalse((yield* takeN(b, 1))[0]!.allowed)
      yield* TestClock.adjust("1 second")
      assert.isTrue((yield* takeN(b, 1))[0]!.allowed)
      assert.isFalse((yield* takeN(b, 1))[0]!.allowed)
    }).pipe(Effect.provide(RateLimiter.layerMemory)))

  it.scoped("memory: a take larger than what is left takes nothing", () =>
    Effect.gen(function*() {
      const b = bucket(100)
      assert.isTrue((yield* takeN(b, 1, 60))[0]!.allowed)
      const big = (yield* takeN(b, 1, 60))[0]!
      assert.isFalse(big.allowed)
      assert.strictEqual(big.retryAfterMs, 12_000)
      assert.isTrue((yield* takeN(b, 1, 40))[0]!.allowed)
    }).pipe(Effect.provide(RateLimiter.layerMemory)))

  it.prop(
    "step never lets more than capacity + refill through over any sequence of takes",
    {
      capacity: Schema.Int.pipe(Schema.between(1, 50)),
      gaps: Schema.Array(Schema.Int.pipe(Schema.between(0, 5000)))
    },
    ({ capacity, gaps }) => {
      const b: RateLimiter.Bucket = { key: "p", capacity, windowMs: 60_000 }
      let state: Parameters<typeof RateLimiter.step>[0] = undefined
      let now = 0
      let allowed = 0
      for (const gap of gaps) {
        now += gap
        const [outcome, next] = RateLimiter.step(state, b, 1, now)
        state = next
        if (outcome.allowed) allowed++
        else assert.isTrue(outcome.retryAfterMs > 0)
      }
      return allowed <= capacity + Math.floor((now * capacity) / 60_000) + 1
    }
  )

  const redisUrl = "redis://127.0.0.1:6379"
  const prefix = `switchyard-test:ratelimit:${randomBytes(6).toString("hex")}:`

  it.scopedLive("redis: two clients on one Redis share a bucket; concurrent takes never over-admit", () =>
    Effect.gen(function*() {
      const b = bucket(10)
      const a = yield* Layer.build(RateLimiter.layerRedis({ url: redisUrl, keyPrefix: prefix }))
      const c = yield* Layer.build(RateLimiter.layerRedis({ url: redisUrl, keyPrefix: prefix }))
      const results = yield* Effect.all(
        [Effect.provide(takeN(b, 20), a), Effect.provide(takeN(b, 20), c)],
        { concurrency: 2 }
      )
      const outcomes = results.flat()
      assert.strictEqual(outcomes.filter((o) => o.allowed).length, 10)
      const rejected = outcomes.filter((o) => !o.allowed)
      assert.strictEqual(rejected.length, 30)
      assert.isTrue(rejected.every((o) => o.retryAfterMs > 0 && o.retryAfterMs <= 6000))
      const limiter = Context.get(a, RateLimiter.RateLimiter)
      assert.isTrue(yield* limiter.ping)
      assert.strictEqual(limiter.store, "redis")
    }))

  it.scopedLive("redis: an unreachable store fails the take (the caller decides) and ping says so", () =>
    Effect.gen(function*() {
      const limiter = yield* Effect.provide(
        RateLimiter.RateLimiter,
        RateLimiter.layerRedis({ url: "redis://127.0.0.1:1", keyPrefix: prefix })
      )
      const error = yield* Effect.flip(limiter.take(bucket(5), 1))
      assert.strictEqual(error._tag, "RateLimiterError")
      assert.isFalse(yield* limiter.ping)
    }))

  it.scopedLive("redis: takes fail while Redis is down and work again once it is back", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const probe = net.createServer()
          probe.listen(0, "127.0.0.1", () => {
            const free = (probe.address() as net.AddressInfo).port
            probe.close(() => resolve(free))
          })
        })
      )
      const startRedis = Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<ChildProcess>((resolve, reject) => {
            const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            const child = spawn("redis-server", args)
            child.once("error", reject)
            child.stdout!.on("data", (chunk: Buffer) => {
              if (chunk.toString().includes("Ready to accept connections")) resolve(child)
            })
          })
        ),
        (child) =>
          Effect.promise(() =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve()
              child.once("exit", () => resolve())
              child.kill("SIGKILL")
            })
          )
      )
      const first = yield* Scope.make()
      // Closed by the test on purpose; this also stops that Redis when the test fails before then.
      yield* Effect.addFinalizer(() => Scope.close(first, Exit.void))
      yield* Scope.extend(startRedis, first)
      const context = yield* Layer.build(
        RateLimiter.layerRedis({ url: `redis://127.0.0.1:${port}`, keyPrefix: prefix })
      )
      const limiter = Context.get(context, RateLimiter.RateLimiter)
      const b = bucket(5)
      assert.isTrue((yield* limiter.take(b, 1)).allowed)
      yield* Scope.close(first, Exit.void)
      const down = yield* Effect.flip(limiter.take(b, 1))
      assert.strictEqual(down._tag, "RateLimiterError")
      yield* startRedis
      let back = false
      for (let i = 0; i < 100 && !back; i++) {
        back = yield* limiter.take(b, 1).pipe(Effect.map((o) => o.allowed), Effect.orElseSucceed(() => false))
        if (!back) yield* Effect.sleep("100 millis")
      }
      assert.isTrue(back)
      assert.isTrue(yield* limiter.ping)
    }), 30_000)
})
