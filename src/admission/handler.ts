/**
 * handleAdmission: run the injection pipeline for one parsed review and build its response.
 * This is the only place that catches errors on the admission path: a typed InjectorError becomes
 * `allowed: false` with its Status; anything else becomes 500 InternalError, logged with its stack.
 * Either way the caller gets a complete response carrying the request's uid.
 */
import type { Logger } from "pino";
import type { WorkloadValidationMode } from "../config/config.js";
import { InvalidAnnotationError, toInjectorError } from "../errors.js";
import { type InjectionContext, namespaceOf, runInjection, toWarning } from "../injection/pipeline.js";
import { podDisplayName } from "../injection/pod.js";
import { logInfoLine } from "../log.js";
import type { Metrics } from "../metrics.js";
import { checkWorkload, isWorkloadRequest } from "../injection/workload-check.js";
import { allowed, complete, errored, patched, withAuditAnnotations, withWarnings } from "./responses.js";
import type { AdmissionApiVersion, AdmissionRequest, AdmissionResponse, ParsedReview } from "./review.js";
import type { DecisionLog, ReplayCache, ReplayEntry, ReplayKey, ReviewLog } from "./replay-cache.js";
import { canonicalJson, withProps } from "../json-values.js";
import type { ReviewOutcome } from "../metrics.js";

export interface AdmissionDeps {
  /** The current injection context (config can be reloaded between requests). */
  readonly context: () => InjectionContext;
  readonly logger: Logger;
  /** Monotonic milliseconds, for the duration field. */
  readonly now: () => number;
  /** Counters and the timing histogram, when the server exposes metrics. */
  readonly metrics?: Metrics;
  /** Answers to recent identical reviews (see replay-cache.ts); absent: every review is computed. */
  readonly replay?: ReplayCache;
}

/** Milliseconds with microsecond precision, for the log line. */
function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * A workload on CREATE/UPDATE: warnings about its pod template's sidecar annotations, never a
 * patch; a denial only when `workloadValidation: deny` and something would make its pods fail.
 */
function handleWorkload(
  req: AdmissionRequest,
  mode: WorkloadValidationMode,
  knownTemplates: ReadonlySet<string>,
): { response: AdmissionResponse; result: string; problems: number } {
  if (mode === "off") return { response: complete(allowed(), req), result: "not_applicable", problems: 0 };
  const findings = checkWorkload(req.kind.kind, req.object, knownTemplates);
  if (mode === "deny" && findings.problems.length > 0) throw new InvalidAnnotationError(findings.problems);
  const warnings = [...findings.problems, ...findings.notes].map(toWarning);
  const audit = { decision: "workload_checked", problems: String(findings.problems.length) };
  return {
    response: complete(withAuditAnnotations(withWarnings(allowed(), warnings), audit), req),
    result: "workload_checked",
    problems: findings.problems.length,
  };
}

/**
 * The reusable part of an answer: response without uid, metric outcome, decision log fields. Kept
 * by the replay cache and shared with every replay of it; nothing writes to it after this (its
 * types are readonly). It is not frozen: Object.freeze on its seven objects showed as about 6 µs a
 * review in a CPU profile of the server.
 */
function answer(result: ReturnType<typeof runInjection>): ReplayEntry {
  let resp = result.reportOnly ? allowed() : patched(result.patch);
  resp = withWarnings(resp, result.warnings);
  resp = withAuditAnnotations(resp, result.auditAnnotations);
  const verdict = result.decision.verdict;
  const outcome: ReviewOutcome = result.reportOnly
    ? { result: "skip", reason: "report_only" }
    : verdict === "inject"
      ? { result: "inject" }
      : { result: "skip", reason: result.decision.reasons.find((r) => r.effect === "skip" || r.effect === "noop" || r.effect === "ignore")?.code ?? verdict };
  return {
    response: resp,
    outcome,
    log: {
      decision: result.reportOnly ? "report_only" : verdict,
      reasons: result.decision.reasons.map((r) => r.code),
      decidedBy: result.decision.decidedBy,
      patchOps: result.patch.length,
    },
  };
}

/**
 * The fields of a review's log line, in the line's order (uid and namespace first): built up from
 * one literal, not copied from the stored parts.
 */
function reviewLine(uid: string, namespace: string, own: ReviewLog, log: DecisionLog, elapsedMs: number, replayed: boolean): Record<string, unknown> {
  const line: Record<string, unknown> = {
    uid,
    namespace,
    pod: own.pod,
    operation: own.operation,
    dryRun: own.dryRun,
    decision: log.decision,
    reasons: log.reasons,
    decidedBy: log.decidedBy,
    patchOps: log.patchOps,
  };
  if (replayed) line.replayed = true;
  line.durationMs = roundMs(elapsedMs);
  return line;
}

function labelsKey(labels: Readonly<Record<string, string>> | undefined): string {
  return labels === undefined ? "-" : canonicalJson(labels);
}

/**
 * Answer a review from the replay cache without parsing it, when an identical one (but for its
 * uid) was answered under the same configuration and namespace labels; else undefined.
 */
export function replayAdmission(k: ReplayKey | undefined, deps: AdmissionDeps): { apiVersion: AdmissionApiVersion; response: AdmissionResponse } | undefined {
  if (deps.replay === undefined || k === undefined) return undefined;
  const started = deps.now();
  const stored = deps.replay.get(k.key);
  if (stored === undefined) return undefined;
  const ctx = deps.context();
  if (stored.contextId !== deps.replay.contextId(ctx) || stored.labels !== labelsKey(ctx.namespaceLabels?.(stored.namespace))) return undefined;
  const elapsed = deps.now() - started;
  deps.metrics?.observeReview(stored.entry.outcome, elapsed / 1000);
  deps.metrics?.replayed();
  logInfoLine(deps.logger, reviewLine(k.uid, stored.namespace, stored.fields, stored.entry.log, elapsed, true), "admission review");
  return { apiVersion: stored.apiVersion, response: complete(stored.entry.response, { uid: k.uid }) };
}

/**
 * Answer one parsed review. With its replay key (replayKey of its bytes) and deps.replay, the
 * answer is remembered for the next identical review (see replayAdmission).
 */
export function handleAdmission(review: ParsedReview, deps: AdmissionDeps, k?: ReplayKey): AdmissionResponse {
  const started = deps.now();
  const elapsedMs = () => deps.now() - started;
  const req = review.request;
  const namespace = namespaceOf(req.namespace, req.object);
  // The review's own log fields (kept with a replayed answer), then the line's: uid and namespace first.
  const own: ReviewLog = { pod: req.name ?? podDisplayName(req.object as { metadata?: never }), operation: req.operation, dryRun: req.dryRun === true };
  const fields = { uid: req.uid, namespace, pod: own.pod, operation: own.operation, dryRun: own.dryRun };
  try {
    const ctx = deps.context();
    if (isWorkloadRequest(req.kind, req.operation, req.subResource)) {
      const outcome = handleWorkload(req, ctx.template.config.workloadValidation, ctx.template.templateNames);
      const elapsed = elapsedMs();
      deps.metrics?.observeReview({ result: "skip", reason: outcome.result }, elapsed / 1000);
      deps.logger.info(withProps(fields, { decision: outcome.result, problems: outcome.problems, durationMs: roundMs(elapsed) }), "admission review");
      return outcome.response;
    }
    const namespaceLabels = ctx.namespaceLabels?.(namespace);
    const entry = answer(runInjection({ request: req, namespace, object: req.object, namespaceLabels }, ctx));
    // Stored only when the key's uid is this request's (see replay-cache.ts).
    if (k !== undefined && deps.replay !== undefined && k.uid === req.uid) {
      deps.replay.set(k.key, {
        contextId: deps.replay.contextId(ctx),
        namespace,
        labels: labelsKey(namespaceLabels),
        apiVersion: review.apiVersion,
        fields: own,
        entry,
      });
    }
    deps.metrics?.observeReview(entry.outcome, elapsedMs() / 1000);
    logInfoLine(deps.logger, reviewLine(req.uid, namespace, own, entry.log, elapsedMs(), false), "admission review");
    return complete(entry.response, req);
  } catch (caught) {
    const err = toInjectorError(caught);
    const internal = err.status >= 500;
    const logFields = {
      ...fields,
      decision: "error",
      code: err.code,
      status: err.status,
      message: err.message,
      durationMs: roundMs(elapsedMs()),
      ...(internal && { stack: caught instanceof Error ? caught.stack : String(caught) }),
    };
    deps.metrics?.observeReview({ result: "error", reason: err.code.toLowerCase() }, elapsedMs() / 1000);
    if (internal) deps.logger.error(logFields, "admission review failed");
    else deps.logger.info(logFields, "admission review denied");
    return complete(errored(err), req);
  }
}

