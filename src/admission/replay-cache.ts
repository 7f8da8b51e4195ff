/**
 * Identical reviews get identical answers: the pipeline is a pure function of the review, the
 * configuration and the namespace's labels, and the pods of one ReplicaSet, Job or StatefulSet
 * rollout reach the webhook as the same review except for its uid (names are generated after
 * admission). A small LRU keyed by a digest of the review without its uid remembers, for each answer,
 * the context it was computed under and the namespace's labels; the next review with the same
 * text, under the same context and labels, is answered without parsing it. The log line and the
 * metrics are written for every review as usual (the log says `replayed: true`).
 *
 * The uid is the value of the first `"uid":"…"` in the review (the API server writes the request's
 * uid first). The key is the SHA-256 of the review's bytes without that value: a digest, not the
 * text, so a remembered answer holds 44 characters of key instead of a copy of the review (for a
 * stream of pods never seen before, those copies were most of the process's garbage). An answer is
 * stored only when that value is the parsed request's uid, so a review whose key matches a
 * stored one has the request's uid at the same place: the two share every byte but the uid's.
 */
import { createHash } from "node:crypto";
import type { PartialResponse } from "./responses.js";
import type { AdmissionApiVersion } from "./review.js";
import type { ReviewOutcome } from "../metrics.js";

export interface ReplayEntry {
  readonly response: PartialResponse;
  readonly outcome: ReviewOutcome;
  /** The decision fields of the log line. */
  readonly log: Readonly<Record<string, unknown>>;
}

/** What a stored answer was computed from, besides the text. */
export interface StoredAnswer {
  readonly contextId: number;
  readonly namespace: string;
  /** canonicalJson of the namespace's labels when answered ("-": unknown). */
  readonly labels: string;
  readonly apiVersion: AdmissionApiVersion;
  /** The review's own log fields (pod, operation, dryRun). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The answer, its response without the patch (see patchBytes). */
  readonly entry: ReplayEntry;
  /**
   * The response's base64 patch as bytes outside the JavaScript heap: every answer is kept for a
   * few hundred reviews, long enough to be promoted to the old generation, and as heap strings the
   * patches of a stream of pods never seen before were most of what was promoted.
   */
  readonly patchBytes?: Buffer;
}

/** The stored form of an answer: the patch moved out of the heap. */
export function toStored(entry: ReplayEntry): { entry: ReplayEntry; patchBytes?: Buffer } {
  const { patch, ...response } = entry.response;
  if (patch === undefined) return { entry };
  return { entry: { ...entry, response }, patchBytes: Buffer.from(patch, "latin1") };
}

/** The response of a stored answer, patch included. */
export function storedResponse(stored: StoredAnswer): ReplayEntry["response"] {
  const response = stored.entry.response;
  return stored.patchBytes === undefined ? response : { ...response, patch: stored.patchBytes.toString("latin1") };
}

/** Reviews larger than this are not replayed (large pods are rarely created in series). */
export const REPLAY_MAX_REVIEW_BYTES = 64 * 1024;
export const REPLAY_CAPACITY = 256;
const UID_MARK = Buffer.from('"uid":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export interface ReplayKey {
  /** SHA-256 (base64) of the review's bytes with its uid cut out. */
  readonly key: string;
  readonly uid: string;
}

/** The review's replay key; undefined when it must not be replayed. */
export function replayKey(review: Buffer | string): ReplayKey | undefined {
  const bytes = typeof review === "string" ? Buffer.from(review, "utf8") : review;
  if (bytes.length > REPLAY_MAX_REVIEW_BYTES) return undefined;
  const at = bytes.indexOf(UID_MARK);
  if (at < 0) return undefined;
  const start = at + UID_MARK.length;
  const end = bytes.indexOf(QUOTE, start);
  if (end <= start) return undefined;
  const uid = bytes.subarray(start, end);
  if (uid.includes(BACKSLASH)) return undefined;
  const key = createHash("sha256").update(bytes.subarray(0, start)).update(bytes.subarray(end)).digest("base64");
  return { key, uid: uid.toString("utf8") };
}

export class ReplayCache {
  private readonly entries = new Map<string, StoredAnswer>();
  private readonly contexts = new WeakMap<object, number>();
  private nextContext = 1;

  constructor(private readonly capacity = REPLAY_CAPACITY) {}

  /** A number per context object: a reloaded configuration is a new context, so old entries never match. */
  contextId(ctx: object): number {
    let id = this.contexts.get(ctx);
    if (id === undefined) {
      id = this.nextContext++;
      this.contexts.set(ctx, id);
    }
    return id;
  }

  get(key: string): StoredAnswer | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, entry: StoredAnswer): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
