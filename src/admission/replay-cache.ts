/**
 * Identical reviews get identical answers: the pipeline is a pure function of the review, the
 * configuration and the namespace's labels, and the pods of one ReplicaSet, Job or StatefulSet
 * rollout reach the webhook as the same review except for its uid (names are generated after
 * admission). A small LRU keyed by the review's text without its uid remembers, for each answer,
 * the context it was computed under and the namespace's labels; the next review with the same
 * text, under the same context and labels, is answered without parsing it. The log line and the
 * metrics are written for every review as usual (the log says `replayed: true`).
 *
 * The uid is the value of the first `"uid":"…"` in the text (the API server writes the request's
 * uid first). An answer is stored only when that value is the parsed request's uid, so a text that
 * matches a stored key has the request's uid at the same place: two texts with equal keys share
 * everything before the first `"uid":"` and everything after the value.
 */
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
  readonly entry: ReplayEntry;
}

/** Reviews larger than this are not replayed (their text is the key). */
export const REPLAY_MAX_KEY_CHARS = 64 * 1024;
export const REPLAY_CAPACITY = 256;
const UID_MARK = '"uid":"';

export interface ReplayKey {
  /** The review's text with its uid cut out. */
  readonly key: string;
  readonly uid: string;
}

/** The review's replay key; undefined when it must not be replayed. */
export function replayKey(text: string): ReplayKey | undefined {
  if (text.length > REPLAY_MAX_KEY_CHARS) return undefined;
  const at = text.indexOf(UID_MARK);
  if (at < 0) return undefined;
  const start = at + UID_MARK.length;
  const end = text.indexOf('"', start);
  if (end < 0) return undefined;
  const uid = text.slice(start, end);
  if (uid === "" || uid.includes("\\")) return undefined;
  return { key: text.slice(0, start) + text.slice(end), uid };
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
