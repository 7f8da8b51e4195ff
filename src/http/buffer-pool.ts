/**
 * Reusable buffers for large request bodies. A review's bytes are needed only until they are
 * decoded to text; a fresh 500 KB buffer per review is native memory that lives until V8's next
 * collection notices it, so under a stream of large reviews the process holds tens of megabytes
 * of dead bodies. Buffers from this pool go back to it as soon as the text is decoded.
 *
 * Sizes are rounded up to a power of two from MIN_BYTES; smaller bodies are not pooled (Node's
 * own small-buffer pool serves them). Idle buffers are capped in total and dropped after a quiet
 * period, so a burst of large reviews does not pin memory for good.
 */
export const MIN_POOLED_BYTES = 64 * 1024;

export interface BufferPool {
  /** A buffer of at least `size` bytes: from the pool when one is idle, else new. */
  take(size: number): Buffer;
  /** Give a buffer from take() back; it must not be used afterwards. */
  release(buffer: Buffer): void;
  /** Bytes held idle. */
  idleBytes(): number;
}

function sizeClass(size: number): number {
  let c = MIN_POOLED_BYTES;
  while (c < size) c *= 2;
  return c;
}

export function createBufferPool(opts: { maxIdleBytes: number; idleMs: number; now?: () => number }): BufferPool {
  const now = opts.now ?? Date.now;
  const idle = new Map<number, Buffer[]>();
  // Only what take() allocated may come back, once: anything else may still be in use elsewhere.
  const ours = new WeakSet<ArrayBufferLike>();
  const idleNow = new WeakSet<ArrayBufferLike>();
  let held = 0;
  let lastUse = now();
  let timer: NodeJS.Timeout | undefined;

  const drop = (): void => {
    timer = undefined;
    if (held === 0) return;
    if (now() - lastUse >= opts.idleMs) {
      idle.clear();
      held = 0;
      return;
    }
    schedule();
  };
  const schedule = (): void => {
    if (timer !== undefined) return;
    timer = setTimeout(drop, opts.idleMs);
    timer.unref();
  };

  return {
    take(size) {
      lastUse = now();
      if (size < MIN_POOLED_BYTES) return Buffer.allocUnsafe(size);
      const c = sizeClass(size);
      const pooled = idle.get(c)?.pop();
      if (pooled !== undefined) {
        held -= c;
        idleNow.delete(pooled.buffer);
        return pooled.subarray(0, size);
      }
      const fresh = Buffer.allocUnsafeSlow(c);
      ours.add(fresh.buffer);
      return fresh.subarray(0, size);
    },
    release(buffer) {
      const backing = buffer.buffer;
      if (!ours.has(backing) || idleNow.has(backing)) return;
      const c = backing.byteLength;
      if (held + c > opts.maxIdleBytes) return;
      const whole = Buffer.from(backing, 0, c);
      idleNow.add(backing);
      let list = idle.get(c);
      if (list === undefined) idle.set(c, (list = []));
      list.push(whole);
      held += c;
      lastUse = now();
      schedule();
    },
    idleBytes: () => held,
  };
}
