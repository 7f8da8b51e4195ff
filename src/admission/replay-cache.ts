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
import { hash } from "node:crypto";
import type { PartialResponse } from "./responses.js";
import type { AdmissionApiVersion } from "./review.js";
import type { ReviewOutcome } from "../metrics.js";
import { withProps, withoutKey } from "../json-values.js";

/** The decision fields of a review's log line. */
export interface DecisionLog {
  readonly decision: string;
  readonly reasons: readonly string[];
  readonly decidedBy: string;
  readonly patchOps: number;
}

/** The review's own fields of its log line (kept with a replayed answer). */
export interface ReviewLog {
  readonly pod: string;
  readonly operation: string;
  readonly dryRun: boolean;
}

export interface ReplayEntry {
  readonly response: PartialResponse;
  readonly outcome: ReviewOutcome;
  readonly log: DecisionLog;
}

/** What a stored answer was computed from, besides the text. */
export interface StoredAnswer {
  readonly contextId: number;
  readonly namespace: string;
  /** canonicalJson of the namespace's labels when answered ("-": unknown). */
  readonly labels: string;
  readonly apiVersion: AdmissionApiVersion;
  /** The review's own log fields. */
  readonly fields: ReviewLog;
  /** The answer; its response's patch is kept apart (see PatchRing) and put back by get(). */
  readonly entry: ReplayEntry;
}

/** Bytes of base64 patch text the cache keeps at most, in one ring (about 100 typical patches). */
export const REPLAY_PATCH_BYTES = 1024 * 1024;

/**
 * The stored patches, as bytes in one buffer allocated once and written round. An answer outlives
 * the young-generation collection that follows it: as heap strings, the patches of a stream of
 * pods never seen before were most of what those collections copied (and, when 256 answers were
 * kept, of what they promoted to the old generation); as a Buffer each, they were external memory
 * that only full collections free, and they set off one every thousand reviews. A patch is
 * addressed by its position in the stream of bytes written; once the ring has come round over it,
 * it is gone and its answer is a miss.
 */
class PatchRing {
  #bytes: Buffer | undefined;
  #head = 0;

  constructor(private readonly size: number) {}

  /** Keep base64 text; its position, or -1 when it is too large to keep (over a quarter of the ring). */
  put(text: string): number {
    const n = text.length;
    if (n > this.size / 4) return -1;
    this.#bytes ??= Buffer.allocUnsafeSlow(this.size);
    let at = this.#head;
    const offset = at % this.size;
    if (offset + n > this.size) at += this.size - offset; // no patch wraps round the end
    this.#bytes.write(text, at % this.size, n, "latin1");
    this.#head = at + n;
    return at;
  }

  /** The text kept at `at`, or undefined once written over. */
  get(at: number, length: number): string | undefined {
    if (this.#bytes === undefined || this.#head > at + this.size) return undefined;
    const offset = at % this.size;
    return this.#bytes.toString("latin1", offset, offset + length);
  }
}

interface Slot {
  readonly answer: StoredAnswer;
  /** Where the patch is in the ring (-1: the response has none), and its length. */
  readonly patchAt: number;
  readonly patchLength: number;
}

/** Reviews larger than this are not replayed (large pods are rarely created in series). */
export const REPLAY_MAX_REVIEW_BYTES = 64 * 1024;
/**
 * Answers kept. A rollout's replicas reach the webhook in bursts (the ReplicaSet controller
 * creates them in batches of 1, 2, 4, … at once). The window is kept shorter than the reviews between two young-generation
 * collections (about 80 typical reviews in the server's 8 MiB nursery), so a pod never seen before
 * leaves an answer that dies young instead of one promoted to the old generation: with 256 answers
 * kept, a typical new pod cost 1.07–1.09 times the CPU it costs with 64 (BENCHMARKS.md, "Seventh
 * round").
 */
export const REPLAY_CAPACITY = 64;
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
  // The bytes without the uid, copied together and hashed in one call: a Hash object per review
  // (create, two updates, digest) cost more than the copy.
  const n = bytes.length - (end - start);
  if (keyScratch.length < n) keyScratch = Buffer.allocUnsafeSlow(REPLAY_MAX_REVIEW_BYTES);
  bytes.copy(keyScratch, 0, 0, start);
  bytes.copy(keyScratch, start, end);
  const key = hash("sha256", keyScratch.subarray(0, n), "base64");
  return { key, uid: uid.toString("utf8") };
}

/** Where replayKey puts a review's bytes without its uid (reused: the call is synchronous). */
let keyScratch = Buffer.alloc(0);

export class ReplayCache {
  private readonly entries = new Map<string, Slot>();
  private readonly contexts = new WeakMap<object, number>();
  private readonly patches: PatchRing;
  private nextContext = 1;

  constructor(
    private readonly capacity = REPLAY_CAPACITY,
    patchBytes = REPLAY_PATCH_BYTES,
  ) {
    this.patches = new PatchRing(patchBytes);
  }

  /** A number per context object: a reloaded configuration is a new context, so old entries never match. */
  contextId(ctx: object): number {
    let id = this.contexts.get(ctx);
    if (id === undefined) {
      id = this.nextContext++;
      this.contexts.set(ctx, id);
    }
    return id;
  }

  /** The stored answer for a key, its response's patch put back; undefined when none is kept. */
  get(key: string): StoredAnswer | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    let answer = hit.answer;
    if (hit.patchAt >= 0) {
      const patch = this.patches.get(hit.patchAt, hit.patchLength);
      if (patch === undefined) {
        this.entries.delete(key);
        return undefined;
      }
      answer = withProps(answer, { entry: withProps(answer.entry, { response: withProps(answer.entry.response, { patch }) }) });
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return answer;
  }

  /** Keep an answer; a patch too large for the ring is not kept, and neither is its answer. */
  set(key: string, answer: StoredAnswer): void {
    const patch = answer.entry.response.patch;
    let slot: Slot = { answer, patchAt: -1, patchLength: 0 };
    if (patch !== undefined) {
      const at = this.patches.put(patch);
      if (at < 0) return;
      const entry = { response: withoutKey(answer.entry.response, "patch"), outcome: answer.entry.outcome, log: answer.entry.log };
      slot = { answer: withProps(answer, { entry }), patchAt: at, patchLength: patch.length };
    }
    this.entries.delete(key);
    this.entries.set(key, slot);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
