/**
 * The serving process's garbage-collector setting. A review is short-lived garbage; with V8's
 * default heap growth the old generation grows to four or five times what is live before a full
 * collection (live 20 MB, heap 100 MB and more under a stream of distinct pods). Growing by at
 * most 100 % of the live size keeps the process near twice its live data. It is a growth target,
 * not a limit: a process whose live data is large (audit caches of a big cluster) grows with it,
 * and never fails for it. An explicit --heap-growing-percent in the node flags wins.
 *
 * The young generation's size, V8 fixes when the process starts: its cap
 * (--max-semi-space-size) is in the start command instead (Dockerfile ENTRYPOINT, npm start).
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 100;

/** Apply the setting unless the node flags set one; returns the flag applied, or null. */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv): string | null {
  if (execArgv.some((a) => a.startsWith("--heap-growing-percent") || a.startsWith("--heap_growing_percent"))) return null;
  const flag = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
  setFlagsFromString(flag);
  return flag;
}
