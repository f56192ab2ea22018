import { connect, createServer } from "node:net"
import type { AddressInfo, Socket } from "node:net"

/** A loopback TCP proxy in front of a real server, to cut (an outage) and restore the connection in tests. */
export interface TcpProxy {
  readonly port: number
  /** Drops every open connection and refuses new ones (accepted, then closed at once). */
  readonly cut: () => void
  /** Drops every open connection; new ones are accepted and never answered (a hung database). */
  readonly stall: () => void
  /** Forwards again. */
  readonly restore: () => void
  readonly close: () => Promise<void>
}

/** Starts a proxy on a random loopback port forwarding to `targetPort`. */
export const startTcpProxy = async (targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> => {
  const open = new Set<Socket>()
  let mode: "forward" | "refuse" | "stall" = "forward"
  const track = (socket: Socket) => {
    open.add(socket)
    socket.once("close", () => open.delete(socket))
    socket.on("error", () => socket.destroy())
  }
  const server = createServer((client) => {
    track(client)
    if (mode === "refuse") return client.destroy()
    if (mode === "stall") return
    const upstream = connect(targetPort, targetHost)
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.once("close", () => upstream.destroy())
    upstream.once("close", () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const drop = (next: "refuse" | "stall") => {
    mode = next
    for (const socket of open) socket.destroy()
  }
  const cut = () => drop("refuse")
  return {
    port: (server.address() as AddressInfo).port,
    cut,
    stall: () => drop("stall"),
    restore: () => {
      mode = "forward"
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut()
        server.close(() => resolve())
      })
  }
}
