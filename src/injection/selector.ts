/**
 * Kubernetes label selector matching (matchLabels AND every matchExpression), for the
 * neverInjectSelector / alwaysInjectSelector settings. Own-property lookups only.
 */
import type { LabelSelector } from "../config/config.js";
import { type StringMap, lookup } from "./pod.js";

export function matchesSelector(selector: LabelSelector, labels: StringMap | undefined): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (lookup(labels, key) !== value) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const value = lookup(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (value === undefined) return false;
        break;
      case "DoesNotExist":
        if (value !== undefined) return false;
        break;
    }
  }
  return true;
}

/** A short description of a selector for messages, e.g. `app=db,tier in (cache,queue)`. */
export function describeSelector(selector: LabelSelector): string {
  const parts = [
    ...Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector.matchExpressions ?? []).map((e) =>
      e.operator === "Exists" ? e.key : e.operator === "DoesNotExist" ? `!${e.key}` : `${e.key} ${e.operator === "In" ? "in" : "notin"} (${(e.values ?? []).join(",")})`,
    ),
  ];
  return parts.join(",") || "(everything)";
}
