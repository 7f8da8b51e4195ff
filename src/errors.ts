/**
 * The error catalogue. Pure modules throw these; only the admission handler (and, for transport
 * problems, the HTTP layer) turns them into responses. Each error carries a stable code, the
 * Kubernetes Status code and reason it maps to, and the problems it found (all of them, not the first).
 */

export const ErrorCode = {
  Config: "CONFIG_INVALID",
  BadRequest: "BAD_REQUEST",
  InvalidPod: "INVALID_POD",
  InvalidAnnotation: "INVALID_ANNOTATION",
  InvalidInput: "INVALID_INPUT",
  Certificate: "CERTIFICATE_INVALID",
  KubeApi: "KUBE_API_ERROR",
  NotFound: "NOT_FOUND",
  PreviewLimit: "PREVIEW_LIMIT",
  Internal: "INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Kubernetes `Status.reason` values we use. */
export type StatusReason = "BadRequest" | "Invalid" | "Forbidden" | "NotFound" | "InternalError" | "RequestEntityTooLarge";

/** The per-request bounds of POST /preview, named as their settings (see PreviewConfig). */
export const PreviewLimit = {
  Documents: "preview.maxDocuments",
  ObjectsPerDocument: "preview.maxObjectsPerDocument",
  RenderedBytes: "preview.maxRenderedBytes",
  CpuMs: "preview.maxCpuMs",
} as const;
export type PreviewLimit = (typeof PreviewLimit)[keyof typeof PreviewLimit];

export class InjectorError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: StatusReason;
  /** Every problem found, each a complete sentence naming where it is. */
  readonly problems: readonly string[];

  constructor(
    code: ErrorCode,
    status: number,
    reason: StatusReason,
    message: string,
    options?: { cause?: unknown; problems?: readonly string[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.reason = reason;
    this.problems = options?.problems ?? [message];
  }
}

function joinProblems(prefix: string, problems: readonly string[]): string {
  return problems.length === 1 ? `${prefix}: ${problems[0]}` : `${prefix}: ${problems.join("; ")}`;
}

/** Startup-only: the configuration (file, env or flags) is invalid. */
export class ConfigError extends InjectorError {
  constructor(problems: readonly string[], source = "configuration") {
    super(ErrorCode.Config, 500, "InternalError", joinProblems(`invalid ${source}`, problems), { problems });
  }
}

/** The request body is not a usable AdmissionReview (transport level: HTTP 400). */
export class BadRequestError extends InjectorError {
  constructor(message: string) {
    super(ErrorCode.BadRequest, 400, "BadRequest", message);
  }
}

/** A field of the Pod that we read has the wrong shape. */
export class InvalidPodError extends InjectorError {
  constructor(problems: readonly string[]) {
    super(ErrorCode.InvalidPod, 400, "BadRequest", joinProblems("invalid pod", problems), { problems });
  }
}

/** One or more per-pod override annotations failed validation. */
export class InvalidAnnotationError extends InjectorError {
  constructor(problems: readonly string[]) {
    super(ErrorCode.InvalidAnnotation, 422, "Invalid", joinProblems("invalid sidecar annotations", problems), {
      problems,
    });
  }
}

/** Manifests given to the preview endpoint or the CLI are unusable (names the document and path). */
export class InvalidInputError extends InjectorError {
  constructor(problems: readonly string[]) {
    super(ErrorCode.InvalidInput, 400, "BadRequest", joinProblems("invalid input", problems), { problems });
  }
}

/**
 * A preview went past one of its bounds: 413 for what the request holds (documents, objects per
 * document), 422 for what rendering it would take (answer size, worker time). Names the setting.
 */
export class PreviewLimitError extends InjectorError {
  readonly limit: PreviewLimit;
  constructor(limit: PreviewLimit, message: string) {
    const tooLarge = limit === PreviewLimit.Documents || limit === PreviewLimit.ObjectsPerDocument;
    super(ErrorCode.PreviewLimit, tooLarge ? 413 : 422, tooLarge ? "RequestEntityTooLarge" : "Invalid", message);
    this.limit = limit;
  }
}

/** An object the caller named (explain deployment/web -n shop) is not in the cluster. */
export class NotFoundError extends InjectorError {
  constructor(message: string) {
    super(ErrorCode.NotFound, 404, "NotFound", message);
  }
}

/** A certificate or key could not be loaded, generated or used. */
export class CertificateError extends InjectorError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Certificate, 500, "InternalError", message, { cause });
  }
}

/** A Kubernetes API call failed (other than a 404, which callers see as null). */
export class KubeApiError extends InjectorError {
  readonly httpStatus: number | undefined;
  constructor(message: string, httpStatus?: number, cause?: unknown) {
    super(ErrorCode.KubeApi, 500, "InternalError", message, { cause });
    this.httpStatus = httpStatus;
  }
}

/** Wrap anything thrown into an InjectorError (unknown errors become 500 InternalError). */
export function toInjectorError(err: unknown): InjectorError {
  if (err instanceof InjectorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InjectorError(ErrorCode.Internal, 500, "InternalError", `internal error: ${message}`, { cause: err });
}
