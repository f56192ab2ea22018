import type { ProviderConfig, ProviderInterface } from "./GatewayConfig.js"

/** What Switchyard knows about a provider prefix (`openai` in `openai/gpt-4o`). */
export interface CatalogEntry {
  readonly interface: ProviderInterface
  /** Default base URL (origin + API path prefix); undefined when the provider needs a `base_url`. */
  readonly baseUrl: string | undefined
  /** API path prefix used when a `base_url` has no path of its own (Plano's `base_url_path_prefix` rule). */
  readonly pathPrefix: string
  /** `owned_by` in `/v1/models`. */
  readonly ownedBy: string
}

const entry = (
  iface: ProviderInterface,
  origin: string | undefined,
  pathPrefix: string,
  ownedBy: string
): CatalogEntry => ({
  interface: iface,
  baseUrl: origin === undefined ? undefined : origin + pathPrefix,
  pathPrefix,
  ownedBy
})

/** Provider prefixes with built-in defaults. Any other prefix needs `base_url` and `provider_interface`. */
export const catalog: Readonly<Record<string, CatalogEntry>> = {
  openai: entry("openai", "https://api.openai.com", "/v1", "OpenAI"),
  anthropic: entry("anthropic", "https://api.anthropic.com", "/v1", "Anthropic"),
  groq: entry("groq", "https://api.groq.com", "/openai/v1", "Groq"),
  mistral: entry("openai", "https://api.mistral.ai", "/v1", "Mistral"),
  deepseek: entry("openai", "https://api.deepseek.com", "/v1", "Deepseek"),
  together_ai: entry("openai", "https://api.together.xyz", "/v1", "together_ai"),
  xai: entry("openai", "https://api.x.ai", "/v1", "xai"),
  gemini: entry("gemini", "https://generativelanguage.googleapis.com", "/v1beta/openai", "Gemini"),
  ollama: entry("openai", "http://127.0.0.1:11434", "/v1", "ollama"),
  openrouter: entry("openai", "https://openrouter.ai", "/api/v1", "openrouter"),
  moonshotai: entry("openai", "https://api.moonshot.ai", "/v1", "moonshotai"),
  zhipu: entry("openai", "https://open.bigmodel.cn", "/api/paas/v4", "zhipu"),
  azure_openai: entry("azure_openai", undefined, "/openai/deployments", "azure_openai"),
  qwen: entry("openai", undefined, "/compatible-mode/v1", "qwen"),
  plano: entry("plano", undefined, "/v1", "Plano")
}

/** Default API path prefix per wire interface, for custom provider prefixes. */
export const interfacePathPrefix: Readonly<Record<ProviderInterface, string>> = {
  openai: "/v1",
  anthropic: "/v1",
  azure_openai: "/openai/deployments",
  gemini: "/v1beta/openai",
  groq: "/openai/v1",
  plano: "/v1"
}

/** `provider_interface` values accepted for custom prefixes (with `base_url`). */
export const customInterfaces: ReadonlyArray<ProviderInterface> = ["openai", "anthropic", "azure_openai", "gemini", "groq", "plano"]

/** Plano prefixes that Switchyard does not speak (their wire API is not Chat Completions or Messages). */
export const unsupportedProviders: ReadonlyArray<string> = ["amazon_bedrock"]

/** Self-hosted endpoints (a `base_url`, Ollama, an Arch-Router) commonly run without auth: no key is not an error. */
export const keyOptional = (provider: ProviderConfig): boolean =>
  provider.baseUrl !== undefined || provider.provider === "ollama" || provider.provider === "plano"
