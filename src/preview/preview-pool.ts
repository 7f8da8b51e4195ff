/**
 * Previews run off the admission event loop: a fixed set of worker threads, each rendering one
 * preview at a time, and a bounded queue in front of them. When every worker is busy and the queue
 * is full, run() refuses at once (PreviewBusyError: 429 with Retry-After), so a flood of previews
 * costs the main thread only reading bodies and sending answers, never parsing or rendering them.
 *
 * Each worker holds its own compiled template: before a job, the pool sends a worker the live
 * configuration whenever it changed since that worker's last job (a hot reload), and the worker
 * compiles it there. A job that keeps its worker busy past preview.maxCpuMs is answered 422 and
 * its worker is replaced (a synchronous render cannot be interrupted any other way).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { type ErrorCode, InjectorError, PreviewLimit, PreviewLimitError } from "../errors.js";
import type { InjectionContext } from "../injection/pipeline.js";
import type { PreviewAnswer, PreviewBounds, PreviewJob } from "./preview-job.js";
import { runPreviewJob } from "./preview-job.js";
import type { WorkerReply, WorkerRequest } from "./preview-messages.js";

/** An answer whose body is bytes (from a worker) or text (inline). */
export interface PreviewResult {
  readonly status: number;
  readonly contentType: PreviewAnswer["contentType"];
  readonly body: Uint8Array | string;
}

/** Runs previews; the HTTP route's only way to render one. */
export interface PreviewRunner {
  /** Whether run() would accept a job now (checked before reading a body). */
  hasRoom(): boolean;
  /** Rejects with PreviewBusyError when full, InjectorError for the caller's problems, Error for bugs. */
  run(job: PreviewJob): Promise<PreviewResult>;
  /** How long a refused caller should wait before trying again. */
  retryAfterSeconds(): number;
  close(): Promise<void>;
}

/** Every worker is busy and the queue is full (or the pool is closing). */
export class PreviewBusyError extends Error {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = "PreviewBusyError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The bounds a job checks itself, from the live configuration. */
function boundsOf(ctx: InjectionContext): PreviewBounds {
  const p = ctx.template.config.preview;
  return { maxDocuments: p.maxDocuments, maxObjectsPerDocument: p.maxObjectsPerDocument, maxRenderedBytes: p.maxRenderedBytes };
}

function retryAfterOf(ctx: InjectionContext): number {
  return Math.max(1, Math.ceil(ctx.template.config.preview.maxCpuMs / 1000));
}

/**
 * Previews on the calling thread: for tests of the HTTP surface and for the CLI, where nothing
 * else waits on the event loop. No worker-time bound (a synchronous render cannot be stopped).
 */
export function createInlinePreviewRunner(context: () => InjectionContext): PreviewRunner {
  return {
    hasRoom: () => true,
    run: async (job) => {
      const ctx = context();
      return runPreviewJob(job, ctx, boundsOf(ctx));
    },
    retryAfterSeconds: () => retryAfterOf(context()),
    close: async () => undefined,
  };
}

/**
 * The worker script: preview-worker.js beside this module (the build). Under the TypeScript test
 * runner this module is a .ts source with no .js beside it, and the worker runs the build in
 * dist/ instead (`npm test` builds first).
 */
export function previewWorkerUrl(): URL {
  const beside = new URL("./preview-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL(beside.href.replace(/\/src\/preview\/preview-worker\.js$/, "/dist/preview/preview-worker.js"));
  if (!existsSync(fileURLToPath(built))) throw new Error(`${fileURLToPath(built)} is missing: run "npm run build"`);
  return built;
}

/** The pause before restarting a worker that failed before it was ready. */
export const RESTART_DELAY_MS = 1_000;

/** Old-generation heap of one worker: past it the worker is stopped, not the process. */
export const WORKER_HEAP_MB = 512;

export interface PreviewPoolOptions {
  readonly context: () => InjectionContext;
  /** Worker threads (preview.workers, read once). */
  readonly workers: number;
  /** Jobs that may wait for a worker (preview.queue, read once). */
  readonly queue: number;
  /** A worker stopped for a reason other than a job's time or memory (logged by the caller). */
  readonly onWorkerError?: (err: Error) => void;
  readonly workerUrl?: URL;
}

interface Pending {
  readonly job: PreviewJob;
  readonly resolve: (r: PreviewResult) => void;
  readonly reject: (e: unknown) => void;
}

interface Running extends Pending {
  readonly id: number;
  readonly budgetMs: number;
  timer: NodeJS.Timeout | undefined;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** The configuration generation this worker has compiled (-1: none yet). */
  configGeneration: number;
  running: Running | null;
}

export function createPreviewPool(options: PreviewPoolOptions): PreviewRunner {
  const url = options.workerUrl ?? previewWorkerUrl();
  const slots: Slot[] = [];
  const waiting: Pending[] = [];
  let closed = false;
  let nextId = 1;
  let lastContext: InjectionContext | null = null;
  let generation = 0;

  const settle = (slot: Slot): Running | null => {
    const running = slot.running;
    slot.running = null;
    if (running?.timer !== undefined) clearTimeout(running.timer);
    return running;
  };

  /**
   * Stop a worker and put a fresh one in its place (the job it ran, if any, is the caller's to
   * answer). A worker that failed before it was ready is replaced only after a pause, so a script
   * that cannot start is not restarted in a loop.
   */
  const replace = (slot: Slot): void => {
    const old = slot.worker;
    const failedToStart = !slot.ready;
    old.removeAllListeners();
    old.on("error", () => undefined);
    void old.terminate();
    slot.ready = false;
    slot.configGeneration = -1;
    if (closed) return;
    if (!failedToStart) {
      slot.worker = spawn(slot);
      return;
    }
    setTimeout(() => {
      if (!closed) slot.worker = spawn(slot);
    }, RESTART_DELAY_MS).unref();
  };

  const spawn = (slot: Slot): Worker => {
    const worker = new Worker(url, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    worker.unref();
    worker.on("message", (reply: WorkerReply) => onReply(slot, reply));
    worker.on("error", (err: Error) => {
      const running = settle(slot);
      const outOfMemory = (err as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
      if (running) {
        running.reject(
          outOfMemory
            ? new PreviewLimitError(PreviewLimit.RenderedBytes, `the preview needed more than ${WORKER_HEAP_MB} MiB of memory: preview fewer objects (${PreviewLimit.RenderedBytes})`)
            : err,
        );
      }
      if (!outOfMemory) options.onWorkerError?.(err);
      // No worker can start: the waiting jobs would wait for ever.
      if (!slot.ready && slots.every((x) => !x.ready)) for (const p of waiting.splice(0)) p.reject(err);
      replace(slot);
      pump();
    });
    worker.on("exit", () => {
      // An exit without an error event (terminate() from elsewhere): treat as a crash.
      if (slot.worker !== worker || closed) return;
      const running = settle(slot);
      running?.reject(new Error("the preview worker exited"));
      replace(slot);
      pump();
    });
    return worker;
  };

  const onReply = (slot: Slot, reply: WorkerReply): void => {
    if (reply.type === "ready") {
      slot.ready = true;
      pump();
      return;
    }
    const running = slot.running;
    if (running === null || running.id !== reply.id) return;
    settle(slot);
    if (reply.type === "answer") running.resolve({ status: reply.status, contentType: reply.contentType, body: reply.body });
    else if (reply.type === "failed") {
      const e = reply.error;
      running.reject(
        e.limit !== undefined
          ? new PreviewLimitError(e.limit, e.message)
          : new InjectorError(e.code as ErrorCode, e.status, e.status === 413 ? "RequestEntityTooLarge" : e.status === 422 ? "Invalid" : "BadRequest", e.message, { problems: e.problems }),
      );
    } else running.reject(new Error(`preview worker: ${reply.message}`));
    pump();
  };

  /** Watch a job's worker time: past the budget, answer 422 and replace the worker. */
  const watch = (slot: Slot, running: Running): void => {
    const start = slot.worker.performance.eventLoopUtilization();
    const check = (): void => {
      if (slot.running !== running) return;
      const busyMs = slot.worker.performance.eventLoopUtilization(start).active;
      if (busyMs < running.budgetMs) {
        running.timer = setTimeout(check, Math.max(5, running.budgetMs - busyMs)).unref();
        return;
      }
      settle(slot);
      running.reject(new PreviewLimitError(PreviewLimit.CpuMs, `the preview kept its worker busy for more than ${running.budgetMs} ms (${PreviewLimit.CpuMs}): preview fewer objects`));
      replace(slot);
      pump();
    };
    running.timer = setTimeout(check, running.budgetMs).unref();
  };

  const dispatch = (slot: Slot, pending: Pending): void => {
    const ctx = options.context();
    if (ctx !== lastContext) {
      lastContext = ctx;
      generation += 1;
    }
    if (slot.configGeneration !== generation) {
      const config: WorkerRequest = { type: "config", config: ctx.template.config, clusterSupportsNativeSidecars: ctx.clusterSupportsNativeSidecars };
      slot.worker.postMessage(config);
      slot.configGeneration = generation;
    }
    const running: Running = { ...pending, id: nextId++, budgetMs: ctx.template.config.preview.maxCpuMs, timer: undefined };
    slot.running = running;
    // A copy with a buffer of its own (the body may share one), moved to the worker.
    const bytes = new Uint8Array(pending.job.body.byteLength);
    bytes.set(pending.job.body);
    const message: WorkerRequest = { type: "job", id: running.id, bytes, format: pending.job.format, output: pending.job.output, params: pending.job.params, bounds: boundsOf(ctx) };
    slot.worker.postMessage(message, [bytes.buffer]);
    watch(slot, running);
  };

  const idleSlot = (): Slot | undefined => slots.find((s) => s.ready && s.running === null);

  const pump = (): void => {
    for (let slot = idleSlot(); slot !== undefined && waiting.length > 0; slot = idleSlot()) {
      dispatch(slot, waiting.shift() as Pending);
    }
  };

  for (let i = 0; i < options.workers; i++) {
    const slot = { ready: false, configGeneration: -1, running: null } as unknown as Slot;
    slot.worker = spawn(slot);
    slots.push(slot);
  }

  const retryAfterSeconds = (): number => retryAfterOf(options.context());
  return {
    hasRoom: () => !closed && waiting.length < options.queue + slots.filter((s) => s.running === null).length,
    retryAfterSeconds,
    run(job) {
      if (closed) return Promise.reject(new PreviewBusyError("the server is shutting down", retryAfterSeconds()));
      // Waiting jobs beyond the queue: one per worker that is starting or idle may wait too.
      const free = slots.filter((s) => s.running === null).length;
      if (waiting.length >= options.queue + free) {
        return Promise.reject(new PreviewBusyError(`every preview worker is busy and ${options.queue} previews are waiting: try again later`, retryAfterSeconds()));
      }
      return new Promise<PreviewResult>((resolve, reject) => {
        waiting.push({ job, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const p of waiting.splice(0)) p.reject(new PreviewBusyError("the server is shutting down", retryAfterSeconds()));
      await Promise.all(
        slots.map((slot) => {
          settle(slot)?.reject(new PreviewBusyError("the server is shutting down", retryAfterSeconds()));
          slot.worker.removeAllListeners();
          return slot.worker.terminate();
        }),
      );
    },
  };
}
