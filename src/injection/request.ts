/**
 * The facts of a request that the core reads: what kind of object, which operation, which
 * subresource. The admission layer maps an AdmissionReview onto them; the preview, the CLI and
 * the audit state them directly. Nothing here knows about reviews.
 */

/** The operations a Kubernetes admission request can carry. */
export const REQUEST_OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;
export type RequestOperation = (typeof REQUEST_OPERATIONS)[number];

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface RequestFacts {
  readonly operation: RequestOperation;
  readonly kind: GroupVersionKind;
  readonly subResource?: string | undefined;
}
