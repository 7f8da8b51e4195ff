/**
 * The pod's image pull secrets after injection: the configured ones (`sidecar.imagePullSecrets`)
 * added to the pod's own, each once. Pure.
 */

/**
 * The pod's image pull secrets with ours added where missing, in the order istiod's strategic
 * merge of its template gives: ours in the configured order, then the pod's others, except that
 * where one of the pod's stands before one of ours in the pod, it stays before it. The pod's own
 * entries are kept as they are (the same objects).
 */
export function pullSecretsWith<T extends { name?: string }>(secrets: readonly T[], names: readonly string[]): Array<T | { name: string }> {
  const firstAt = new Map<string, number>();
  secrets.forEach((s, i) => {
    if (typeof s.name === "string" && !firstAt.has(s.name)) firstAt.set(s.name, i);
  });
  // Each entry with its index in the pod (undefined: one of ours the pod lacks).
  const ours = [...new Set(names)].map((name) => {
    const at = firstAt.get(name);
    return { item: at === undefined ? { name } : (secrets[at] as T), at };
  });
  const taken = new Set(ours.map((o) => o.at));
  // The pod's others, every one kept (a name it lists twice too).
  const theirs = secrets.map((item, at) => ({ item, at })).filter((o) => !taken.has(o.at));
  const out: Array<T | { name: string }> = [];
  let i = 0;
  let j = 0;
  while (i < ours.length || j < theirs.length) {
    const mine = ours[i];
    const other = theirs[j];
    // Theirs first only when ours are done, or when both stand in the pod and theirs stands first.
    if (other !== undefined && (mine === undefined || (mine.at !== undefined && other.at < mine.at))) {
      out.push(other.item);
      j++;
    } else if (mine !== undefined) {
      out.push(mine.item);
      i++;
    }
  }
  return out;
}
