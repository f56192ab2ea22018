// A round-robin TCP balancer for the demo (no session stickiness on purpose: pins in Redis are what keep a session on
// one model). Usage: node balancer.mjs LISTEN_PORT BACKEND_PORT...
import { connect, createServer } from "node:net"

const [listen, ...backends] = process.argv.slice(2).map(Number)
let next = 0
const server = createServer((client) => {
  const port = backends[next++ % backends.length]
  const upstream = connect(port, "127.0.0.1")
  client.pipe(upstream).pipe(client)
  const close = () => {
    client.destroy()
    upstream.destroy()
  }
  client.on("error", close)
  upstream.on("error", close)
})
server.listen(listen, "127.0.0.1", () => {
  process.stdout.write(`balancer on 127.0.0.1:${listen} -> ${backends.join(", ")}\n`)
})
