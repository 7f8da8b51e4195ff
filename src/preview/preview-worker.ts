/**
 * The body of a preview worker thread (see preview-pool.ts): it holds its own compiled template,
 * rebuilt whenever the pool sends a new configuration, and runs one job at a time.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import type { Config } from "../config/config.js";
import { InjectorError, PreviewLimitError } from "../errors.js";
import type { InjectionContext } from "../injection/pipeline.js";
import { compileTemplate } from "../injection/template.js";
import { type WorkerReply, type WorkerRequest, decodeJob } from "./preview-messages.js";
import { runPreviewJob } from "./preview-job.js";

let context: InjectionContext | null = null;

/**
 * The nice value of a preview thread: when the cores are busy, the kernel gives the thread that
 * answers admission (nice 0) about nine times this one's share (Linux CFS weights 1024 and 110).
 */
export const PREVIEW_THREAD_NICE = 10;

/** Lower this thread's priority (Linux: a thread has its own nice value, set through its id). */
function yieldToAdmission(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, PREVIEW_THREAD_NICE);
  } catch {
    // Elsewhere the operating system schedules the threads alike; the pool's bounds still hold.
  }
}

function configure(config: Config, clusterSupportsNativeSidecars: boolean | undefined): void {
  context = { template: compileTemplate(config), clusterSupportsNativeSidecars };
}

function answer(message: Extract<WorkerRequest, { type: "job" }>): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  try {
    if (context === null) throw new Error("the worker has no configuration");
    const result = runPreviewJob(decodeJob(message), context, message.bounds);
    // The answer's bytes have a buffer of their own: moved to the main thread, not copied.
    const buffer = result.body.buffer as ArrayBuffer;
    return { reply: { type: "answer", id: message.id, status: result.status, contentType: result.contentType, body: result.body }, transfer: [buffer] };
  } catch (err) {
    if (err instanceof InjectorError) {
      const limit = err instanceof PreviewLimitError ? err.limit : undefined;
      return {
        reply: { type: "failed", id: message.id, error: { status: err.status, code: err.code, message: err.message, problems: [...err.problems], ...(limit && { limit }) } },
        transfer: [],
      };
    }
    return { reply: { type: "crashed", id: message.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, transfer: [] };
  }
}

const port = parentPort;
if (port === null) throw new Error("preview-worker.js runs only as a worker thread");
yieldToAdmission();
port.on("message", (message: WorkerRequest) => {
  if (message.type === "config") {
    configure(message.config, message.clusterSupportsNativeSidecars);
    return;
  }
  const { reply, transfer } = answer(message);
  port.postMessage(reply, transfer);
});
port.postMessage({ type: "ready" } satisfies WorkerReply);
