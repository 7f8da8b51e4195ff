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
  const position = new Map<string | undefined, number>();
  secrets.forEach((s, i) => {
    if (!position.has(s.name)) position.set(s.name, i);
  });
  const wanted = new Set(names);
  const ours: Array<T | { name: string }> = [...wanted].map((name) => {
    const at = position.get(name);
    return at === undefined ? { name } : (secrets[at] as T);
  });
  const theirs = secrets.filter((s) => s.name === undefined || !wanted.has(s.name));
  const out: Array<T | { name: string }> = [];
  let i = 0;
  let j = 0;
  while (i < ours.length || j < theirs.length) {
    const mine = ours[i];
    const other = theirs[j];
    const mineAt = mine === undefined ? undefined : position.get(mine.name);
    const otherAt = other === undefined ? undefined : position.get(other.name);
    // Theirs first only when both stand in the pod and theirs stands first (or ours are done).
    if (other !== undefined && (mine === undefined || (mineAt !== undefined && otherAt !== undefined && otherAt < mineAt))) {
      out.push(other);
      j++;
    } else if (mine !== undefined) {
      out.push(mine);
      i++;
    }
  }
  return out;
}
