/**
 * AdmissionReview wire types (admission.k8s.io/v1 and v1beta1 share the shape) and the parser that
 * turns an HTTP body into a request, or throws BadRequestError naming what is wrong.
 */
import { BadRequestError } from "../errors.js";
import { type GroupVersionKind, REQUEST_OPERATIONS, type RequestOperation } from "../injection/request.js";
import { isObject } from "../json-values.js";

export const AdmissionApiVersions = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;
export type AdmissionApiVersion = (typeof AdmissionApiVersions)[number];

const OPERATIONS: readonly string[] = REQUEST_OPERATIONS;

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

/** The fields of `AdmissionReview.request` we use; the rest is ignored. */
export interface AdmissionRequest {
  /** Identifies this call; echoed in the response. */
  readonly uid: string;
  /** Kind of the object (e.g. core/v1 Pod). */
  readonly kind: GroupVersionKind;
  /** Resource being operated on (e.g. core/v1 pods). */
  readonly resource: GroupVersionResource;
  /** Set for subresource requests (pods/status, pods/exec, …). */
  readonly subResource?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly operation: RequestOperation;
  /** The object as admitted so far (after earlier mutating webhooks); absent for DELETE. */
  readonly object?: unknown;
  /** True when the request will not be persisted. We have no side effects, so it changes nothing. */
  readonly dryRun?: boolean;
}

export interface AdmissionStatus {
  /** HTTP-style status code, e.g. 400, 422, 500. */
  readonly code: number;
  /** Machine-readable reason, e.g. "Invalid". */
  readonly reason?: string;
  /** Human-readable message shown to the user by kubectl. */
  readonly message: string;
}

/** `AdmissionReview.response`. */
export interface AdmissionResponse {
  /** Must equal the request's uid. */
  readonly uid: string;
  /** Whether the request is admitted. */
  readonly allowed: boolean;
  /** Why the request was refused (only when allowed is false). */
  readonly status?: AdmissionStatus;
  /** base64 of the RFC 6902 JSON Patch; absent when there is nothing to change. */
  readonly patch?: string;
  /** "JSONPatch" whenever patch is set; absent otherwise. */
  readonly patchType?: "JSONPatch";
  /** Shown to the client as HTTP Warning headers (≤ 120 characters each is recommended). */
  readonly warnings?: readonly string[];
  /** Recorded in the audit log, each key prefixed by the API server with the webhook's name. */
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

export interface AdmissionReviewOut {
  readonly apiVersion: AdmissionApiVersion;
  readonly kind: "AdmissionReview";
  readonly response: AdmissionResponse;
}

/** A parsed review: the version to answer in and the request. */
export interface ParsedReview {
  readonly apiVersion: AdmissionApiVersion;
  readonly request: AdmissionRequest;
}


function optionalString(obj: Record<string, unknown>, key: string, problems: string[]): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") {
    problems.push(`request.${key} must be a string`);
    return undefined;
  }
  return v;
}

function gvk(v: unknown, path: string, fields: readonly string[], problems: string[]): Record<string, string> {
  if (!isObject(v)) {
    problems.push(`${path} must be an object`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const f of fields) {
    const x = v[f] ?? "";
    if (typeof x !== "string") problems.push(`${path}.${f} must be a string`);
    else out[f] = x;
  }
  return out;
}

/**
 * Check that a JSON body is an AdmissionReview we can answer. Throws BadRequestError listing every
 * problem (these are transport-level: there is no usable uid to answer to).
 */
export function parseAdmissionReview(body: unknown): ParsedReview {
  if (!isObject(body)) throw new BadRequestError("body must be a JSON object (an AdmissionReview)");
  const problems: string[] = [];
  const apiVersion = body.apiVersion;
  if (typeof apiVersion !== "string" || !(AdmissionApiVersions as readonly string[]).includes(apiVersion)) {
    problems.push(`apiVersion must be one of ${AdmissionApiVersions.join(", ")} (got ${JSON.stringify(apiVersion)})`);
  }
  if (body.kind !== "AdmissionReview") {
    problems.push(`kind must be AdmissionReview (got ${JSON.stringify(body.kind)})`);
  }
  const req = body.request;
  if (!isObject(req)) {
    problems.push("request must be an object");
    throw new BadRequestError(problems.join("; "));
  }
  if (typeof req.uid !== "string" || req.uid === "") problems.push("request.uid must be a non-empty string");
  if (typeof req.operation !== "string" || !OPERATIONS.includes(req.operation)) {
    problems.push(`request.operation must be one of ${OPERATIONS.join(", ")}`);
  }
  const kind = gvk(req.kind, "request.kind", ["group", "version", "kind"], problems);
  const resource = gvk(req.resource, "request.resource", ["group", "version", "resource"], problems);
  const subResource = optionalString(req, "subResource", problems);
  const name = optionalString(req, "name", problems);
  const namespace = optionalString(req, "namespace", problems);
  if (req.operation !== "DELETE" && !isObject(req.object)) problems.push("request.object must be an object");
  if (req.dryRun !== undefined && req.dryRun !== null && typeof req.dryRun !== "boolean") {
    problems.push("request.dryRun must be a boolean");
  }
  if (problems.length > 0) throw new BadRequestError(problems.join("; "));

  const request: { -readonly [K in keyof AdmissionRequest]: AdmissionRequest[K] } = {
    uid: req.uid as string,
    kind: kind as unknown as GroupVersionKind,
    resource: resource as unknown as GroupVersionResource,
    operation: req.operation as RequestOperation,
    object: req.object,
    dryRun: req.dryRun === true,
  };
  if (subResource !== undefined) request.subResource = subResource;
  if (name !== undefined) request.name = name;
  if (namespace !== undefined) request.namespace = namespace;
  return { apiVersion: apiVersion as AdmissionApiVersion, request };
}

/** Wrap a response in an AdmissionReview of the version the request came in. */
export function toReview(apiVersion: AdmissionApiVersion, response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion, kind: "AdmissionReview", response };
}
