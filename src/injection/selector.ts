/**
 * Kubernetes label selector matching (matchLabels AND every matchExpression), for the
 * neverInjectSelector / alwaysInjectSelector settings. Own-property lookups only.
 */
import type { LabelSelector } from "../config/config.js";
import { type StringMap, lookup } from "./pod.js";

type Expression = NonNullable<LabelSelector["matchExpressions"]>[number];

function expressionMatches(e: Expression, labels: StringMap | undefined): boolean {
  const value = lookup(labels, e.key);
  const values = e.values ?? [];
  switch (e.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    default:
      return true;
  }
}

export function matchesSelector(selector: LabelSelector, labels: StringMap | undefined): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (lookup(labels, key) !== value) return false;
  }
  for (const e of selector.matchExpressions ?? []) if (!expressionMatches(e, labels)) return false;
  return true;
}

/**
 * The first term of `selector` that `labels` do not satisfy, described with what the labels hold
 * (e.g. `istio-injection=enabled (istio-injection is absent)`); null when the selector matches.
 */
export function unmatchedTerm(selector: LabelSelector, labels: StringMap | undefined): string | null {
  const has = (key: string) => {
    const v = lookup(labels, key);
    return v === undefined ? `${key} is absent` : `${key}=${v}`;
  };
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (lookup(labels, key) !== value) return `${key}=${value} (${has(key)})`;
  }
  for (const e of selector.matchExpressions ?? []) {
    if (!expressionMatches(e, labels)) return `${describeSelector({ matchExpressions: [e] })} (${has(e.key)})`;
  }
  return null;
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
