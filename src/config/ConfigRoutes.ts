import type { ProviderDraft } from "./ConfigProviders.js"
import { type Collector, decodeAt, formatPath, type Path } from "./ConfigIssue.js"
import { RoutePreferenceInput, show } from "./ConfigSchema.js"
import type { RoutePreference, SelectionPreference } from "./GatewayConfig.js"

/** Top-level routing preferences, plus inline ones migrated from providers for files older than v0.4.0. */
export const resolveRoutes = (
  value: unknown,
  present: boolean,
  drafts: ReadonlyArray<ProviderDraft>,
  modern: boolean,
  version: string,
  complete: boolean,
  isDeclaredModel: (model: string) => boolean,
  metricSources: ReadonlySet<string>,
  collector: Collector,
  warnings: Array<string>
): Array<RoutePreference> => {
  const issue = collector.add
  const topLevel: Array<RoutePreference> = []
  if (present) {
    if (!Array.isArray(value)) {
      issue(["routing_preferences"], `expected a list of routing preferences, got ${show(value)}`)
    } else {
      const seen = new Map<string, number>()
      value.forEach((item, i) => {
        const at: Path = ["routing_preferences", i]
        const decoded = decodeAt(RoutePreferenceInput, item, at, collector)
        if (decoded === undefined) return
        const previous = seen.get(decoded.name)
        if (previous !== undefined) {
          issue(
            [...at, "name"],
            `Duplicate routing preference name "${decoded.name}", please provide unique name for each routing ` +
            `preference (also used by routing_preferences[${previous}])`
          )
          return
        }
        seen.set(decoded.name, i)
        decoded.models.forEach((model, j) => {
          if (complete && !isDeclaredModel(model)) {
            const example = model.includes("/") ? model : `<provider>/${model}`
            issue(
              [...at, "models", j],
              `routing_preferences route '${decoded.name}' references model '${model}' which is not declared in ` +
                `model_providers; add a provider with \`model: ${example}\` or use a declared provider name or model`
            )
          }
        })
        const raw = decoded.selection_policy?.prefer
        const prefer: SelectionPreference = raw === "cheapest" || raw === "fastest" ? raw : "none"
        if (prefer !== "none") {
          const source = prefer === "cheapest" ? "cost" : "latency"
          if (!metricSources.has(source)) {
            issue(
              [...at, "selection_policy", "prefer"],
              `routing_preferences route '${decoded.name}' uses prefer: ${prefer} but no ${source} metrics source ` +
              `is configured — add a ${source} metrics source to model_metrics_sources`
            )
          } else {
            warnings.push(
              `routing_preferences route '${decoded.name}' uses prefer: ${prefer}; Switchyard ranks its models in ` +
              `declared order (metrics-based ranking is not supported)`
            )
          }
        }
        topLevel.push({
          name: decoded.name,
          description: decoded.description,
          models: decoded.models,
          examples: decoded.examples ?? [],
          prefer
        })
      })
    }
  }

  const withInline = drafts.filter((draft) => draft.inline.length > 0)
  if (modern) {
    for (const draft of withInline) {
      warnings.push(
        `${formatPath([...draft.path, "routing_preferences"])} is ignored: version ${version} reads top-level ` +
          `routing_preferences; move it there with \`models: [${draft.config.model}]\``
      )
    }
    return topLevel
  }

  if (withInline.length === 0) {
    if (present && Array.isArray(value) && value.length > 0) {
      issue(
        ["routing_preferences"],
        "top-level routing_preferences requires version v0.4.0 or above. Update the version field or remove " +
        "routing_preferences."
      )
    }
    return topLevel
  }

  // HEAD's migration: merge same-named inline preferences in declaration order; top-level entries win.
  type Migrated = { description: string; models: Array<string>; examples: Array<string> }
  const migrated = new Map<string, Migrated>()
  for (const draft of withInline) {
    for (const pref of draft.inline) {
      const entry = migrated.get(pref.name)
      if (entry === undefined) {
        migrated.set(pref.name, {
          description: pref.description,
          models: [draft.config.model],
          examples: [...(pref.examples ?? [])]
        })
        continue
      }
      if (pref.description !== "" && pref.description !== entry.description) {
        warnings.push(
          `routing preference '${pref.name}' has conflicting descriptions across providers; keeping the first one.`
        )
      }
      if (!entry.models.includes(draft.config.model)) entry.models.push(draft.config.model)
      for (const example of pref.examples ?? []) {
        if (!entry.examples.includes(example)) entry.examples.push(example)
      }
    }
  }
  const result = [...topLevel]
  for (const [name, entry] of migrated) {
    if (topLevel.some((route) => route.name === name)) {
      warnings.push(
        `routing preference '${name}' is declared both at the top level and inline under model_providers; the ` +
        `top-level entry wins`
      )
      continue
    }
    const { description, examples, models } = entry
    result.push({ name, description, models, examples, prefer: "none" })
  }
  warnings.push(
    `inline routing_preferences under model_providers is deprecated (version ${version}) and has been migrated to ` +
    `top-level routing_preferences; update your config to the v0.4.0 top-level form`
  )
  return result
}
