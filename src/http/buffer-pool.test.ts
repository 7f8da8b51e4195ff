import { describe, expect, it } from "@jest/globals";
import { MIN_POOLED_BYTES, createBufferPool } from "./buffer-pool.js";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("createBufferPool", () => {
  it("reuses a released buffer for the next body of the same size class", () => {
    const pool = createBufferPool({ maxIdleBytes: 8 * MiB, idleMs: 60_000 });
    const a = pool.take(500_000);
    expect(a.length).toBe(500_000);
    pool.release(a);
    expect(pool.idleBytes()).toBe(512 * 1024);
    const b = pool.take(300_000); // same class (512 KiB)
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(300_000);
    expect(pool.idleBytes()).toBe(0);
    const c = pool.take(600_000); // next class: a new buffer
    expect(c.buffer).not.toBe(a.buffer);
  });

  it.each<[string, (pool: ReturnType<typeof createBufferPool>) => Buffer]>([
    ["a small body (Node's own pool serves it)", (pool) => pool.take(MIN_POOLED_BYTES - 1)],
    ["a buffer the pool did not make, even of a pooled size", () => Buffer.allocUnsafeSlow(MIN_POOLED_BYTES)],
  ])("does not keep %s", (_name, make) => {
    const pool = createBufferPool({ maxIdleBytes: 8 * MiB, idleMs: 60_000 });
    pool.release(make(pool));
    expect(pool.idleBytes()).toBe(0);
  });

  it("takes a buffer back once, whatever view of it is released", () => {
    const pool = createBufferPool({ maxIdleBytes: 8 * MiB, idleMs: 60_000 });
    const a = pool.take(100_000);
    pool.release(a);
    pool.release(a);
    pool.release(a.subarray(10));
    expect(pool.idleBytes()).toBe(128 * 1024);
    const b = pool.take(100_000);
    const c = pool.take(100_000);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer);
  });

  it("keeps no more than maxIdleBytes idle", () => {
    const pool = createBufferPool({ maxIdleBytes: MiB, idleMs: 60_000 });
    const taken = Array.from({ length: 5 }, () => pool.take(400_000));
    for (const b of taken) pool.release(b);
    expect(pool.idleBytes()).toBe(MiB); // two 512 KiB buffers; the other three are left to the GC
  });

  it("drops idle buffers after a quiet period", async () => {
    const pool = createBufferPool({ maxIdleBytes: 8 * MiB, idleMs: 30 });
    pool.release(pool.take(200_000));
    expect(pool.idleBytes()).toBe(256 * 1024);
    await sleep(100);
    expect(pool.idleBytes()).toBe(0);
  });
});
