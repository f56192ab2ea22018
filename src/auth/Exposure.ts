import type { ResolvedConfig } from "../config/GatewayConfig.js"

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
  /^::ffff:127\./i.test(host)

/** Why the gateway must not listen on `host` with this config (no `auth` block off loopback), else undefined. */
export const bindRefusal = (config: ResolvedConfig, host: string): string | undefined =>
  config.auth === undefined && !isLoopback(host)
    ? `refusing to listen on ${host} without an \`auth\` block: anyone who reaches the port could spend the ` +
      "provider keys. Add `auth: {keys: [...]}` (client keys), or `auth: none` to run open on purpose, or listen on " +
      "127.0.0.1"
    : undefined

/** Start-up lines about who can use the gateway and which providers cannot answer yet (no secrets). */
export const startupNotes = (config: ResolvedConfig, host: string): ReadonlyArray<string> => {
  const notes: Array<string> = []
  if (config.auth === undefined) {
    notes.push(
      `no auth block: the gateway is open to every client on this machine (listening on loopback ${host} only)`
    )
  } else if (config.auth.type === "none") {
    notes.push(`auth: none — the gateway is open to every client that can reach ${host}`)
  } else {
    notes.push(`client keys required (${config.auth.keys.length} configured)`)
  }
  if (!isLoopback(host) && config.routing.adminKey === undefined) {
    notes.push("routing.admin_key is not set: the pins API answers 401 on this non-loopback listener")
  }
  const unset = config.providers.filter((p) => !p.passthroughAuth && p.accessKey === undefined && p.missingKeyVar)
  if (unset.length > 0) {
    notes.push(
      `providers whose key variable is unset (their requests get 401 missing_api_key): ${
        unset.map((p) => `${p.name} ($${p.missingKeyVar})`).join(", ")
      }`
    )
  }
  return notes
}
