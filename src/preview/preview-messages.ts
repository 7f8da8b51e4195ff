/**
 * What the preview pool and its workers say to each other. Request and answer bodies travel as
 * bytes whose buffers are transferred (moved, not copied), so the main thread never copies or
 * decodes a large manifest or answer.
 */
import type { Config } from "../config/config.js";
import type { PreviewLimit } from "../errors.js";
import type { InputFormat } from "./documents.js";
import type { PreviewAnswer, PreviewBounds, PreviewJob, PreviewOutput } from "./preview-job.js";
import type { PreviewParams } from "./preview.js";

export type WorkerRequest =
  | {
      readonly type: "config";
      readonly config: Config;
      readonly clusterSupportsNativeSidecars: boolean | undefined;
    }
  | {
      readonly type: "job";
      readonly id: number;
      readonly bytes: Uint8Array;
      readonly format: InputFormat;
      readonly output: PreviewOutput;
      readonly params: PreviewParams;
      readonly bounds: PreviewBounds;
    };

export interface WorkerError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly problems: readonly string[];
  readonly limit?: PreviewLimit;
}

export type WorkerReply =
  | { readonly type: "ready" }
  | { readonly type: "answer"; readonly id: number; readonly status: number; readonly contentType: PreviewAnswer["contentType"]; readonly body: Uint8Array }
  /** An InjectorError: the caller's to fix (400, 413, 422). */
  | { readonly type: "failed"; readonly id: number; readonly error: WorkerError }
  /** Anything else: a bug, answered 500 and logged. */
  | { readonly type: "crashed"; readonly id: number; readonly message: string };

/** The job a worker runs, from its message. */
export function decodeJob(message: Extract<WorkerRequest, { type: "job" }>): PreviewJob {
  return { body: message.bytes, format: message.format, output: message.output, params: message.params };
}
