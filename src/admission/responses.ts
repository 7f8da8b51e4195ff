/**
 * Response builders. Handlers never write response literals: they pick a constructor and finish
 * with complete(), which sets the uid from the request.
 */
import type { InjectorError } from "../errors.js";
import { type Operation, encodePatch } from "../injection/patch.js";
import type { AdmissionRequest, AdmissionResponse } from "./review.js";
import { withProps } from "../json-values.js";

/** A response without its uid, filled in by complete(). */
export type PartialResponse = Omit<AdmissionResponse, "uid">;

/** Admit unchanged. */
export function allowed(): PartialResponse {
  return { allowed: true };
}

/** Admit with a JSON Patch; no operations means no patch and no patchType. */
export function patched(ops: readonly Operation[]): PartialResponse {
  if (ops.length === 0) return allowed();
  return { allowed: true, patchType: "JSONPatch", patch: encodePatch(ops) };
}

/** Refuse with a Status built from a typed error (code, reason and message). */
export function errored(err: InjectorError): PartialResponse {
  return { allowed: false, status: { code: err.status, reason: err.reason, message: err.message } };
}

/** Add warnings (empty lists are dropped). */
export function withWarnings(resp: PartialResponse, warnings: readonly string[]): PartialResponse {
  return warnings.length === 0 ? resp : withProps(resp, { warnings: [...warnings] });
}

/** Add audit annotations (empty maps are dropped). */
export function withAuditAnnotations(resp: PartialResponse, annotations: Readonly<Record<string, string>>): PartialResponse {
  return Object.keys(annotations).length === 0 ? resp : withProps(resp, { auditAnnotations: withProps(annotations) });
}

/** Finish a response for a request: the uid always comes from the request. */
export function complete(resp: PartialResponse, req: Pick<AdmissionRequest, "uid">): AdmissionResponse {
  return withProps({ uid: req.uid }, resp) as AdmissionResponse;
}
