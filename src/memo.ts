/**
 * Bounded memos. The admission path keeps small results between reviews (escaped pointers, patch
 * operations, valid keys, rendered pieces); their keys come from pods, so no memo may grow
 * without bound. Each is emptied when it reaches its limit and fills again with what recurs.
 */

/** Keep `value` under `key`, emptying the memo first when it holds `limit` entries; returns `value`. */
export function remember<K, V>(memo: Map<K, V>, key: K, value: V, limit: number): V {
  if (memo.size >= limit) memo.clear();
  memo.set(key, value);
  return value;
}
