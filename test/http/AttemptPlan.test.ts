import { assert, describe, it } from "@effect/vitest"
import { backoffMs, isRetryableStatus, retryAfterMs } from "../../src/http/AttemptPlan.js"

describe("AttemptPlan", () => {
  it("retries rate limits, server errors and 529, never a client 4xx", () => {
    assert.deepStrictEqual([429, 500, 502, 503, 504, 529].map(isRetryableStatus), [true, true, true, true, true, true])
    assert.deepStrictEqual([200, 400, 401, 403, 404, 408, 413, 422, 501].map(isRetryableStatus), Array(9).fill(false))
  })

  it("backs off exponentially with jitter between half and all of the step, capped at 5 s", () => {
    assert.deepStrictEqual([0, 1, 2, 3].map((n) => backoffMs(n, 0)), [125, 250, 500, 1000])
    assert.deepStrictEqual([0, 1, 2, 3].map((n) => backoffMs(n, 1)), [250, 500, 1000, 2000])
    assert.strictEqual(backoffMs(10, 1), 5000)
    assert.strictEqual(backoffMs(10, 0), 2500)
  })

  it("reads retry-after-ms, retry-after in seconds and as an HTTP date", () => {
    const now = Date.parse("2026-12-02T10:00:00Z")
    assert.strictEqual(retryAfterMs({ "retry-after-ms": "1500.2" }, now), 1501)
    assert.strictEqual(retryAfterMs({ "retry-after": "2" }, now), 2000)
    assert.strictEqual(retryAfterMs({ "retry-after": "Wed, 02 Dec 2026 10:00:03 GMT" }, now), 3000)
    assert.strictEqual(retryAfterMs({ "retry-after": "Wed, 02 Dec 2026 09:00:00 GMT" }, now), 0)
    assert.strictEqual(retryAfterMs({ "retry-after-ms": "soon", "retry-after": "1" }, now), 1000)
    assert.isUndefined(retryAfterMs({ "retry-after": "later" }, now))
    assert.isUndefined(retryAfterMs({}, now))
  })
})
