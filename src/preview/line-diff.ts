/**
 * A unified diff of two texts, byte for byte what the diff package's
 * `createTwoFilesPatch(name, name, before, after, oldHeader, newHeader)` writes (4 lines of
 * context), at a fraction of its cost. It is the same algorithm, step for step: Myers' diff as that
 * package runs it (its order of diagonals, its choice between an insertion and a removal, its
 * pruning of diagonals past an edge), then its hunks. Only the bookkeeping differs: the package
 * allocates an object per step of the edit graph, which for an injected pod (a few hundred
 * inserted lines) made the diff the largest part of a preview; here the steps live in typed
 * arrays reused from one diff to the next.
 */

const CONTEXT = 4;

/** Lines with their line breaks, as the package splits a text (`\n` or `\r\n`). */
function tokenize(value: string): string[] {
  if (!value.includes("\r")) {
    // Only \n breaks (as YAML text has): the same lines, without the regular expression.
    const parts = value.split("\n");
    const last = parts.pop() as string;
    const lines = parts.map((part) => `${part}\n`);
    if (last !== "") lines.push(last);
    return lines;
  }
  const lines: string[] = [];
  const parts = value.split(/(\n|\r\n)/);
  if (!parts[parts.length - 1]) parts.pop();
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i % 2) lines[lines.length - 1] += part;
    else lines.push(part);
  }
  return lines.filter((line) => line !== "");
}

const COMMON = 0;
const ADDED = 1;
const REMOVED = 2;

/** The components of the edit script (runs of common, added or removed lines), as a linked list in typed arrays. */
class Components {
  count = new Int32Array(1024);
  kind = new Uint8Array(1024);
  previous = new Int32Array(1024);
  size = 0;

  reset(): void {
    this.size = 0;
  }

  add(count: number, kind: number, previous: number): number {
    if (this.size === this.count.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.count = grow(this.count);
      this.kind = grow(this.kind);
      this.previous = grow(this.previous);
    }
    const id = this.size++;
    this.count[id] = count;
    this.kind[id] = kind;
    this.previous[id] = previous;
    return id;
  }
}

const components = new Components();

interface Change {
  readonly count: number;
  readonly kind: number;
  readonly lines: readonly string[];
}

/** The package's Myers diff of two line lists (its `diffLines`), as runs of lines. */
function diffLines(oldTokens: readonly string[], newTokens: readonly string[]): Change[] {
  components.reset();
  const oldLen = oldTokens.length;
  const newLen = newTokens.length;
  const maxEditLength = newLen + oldLen;
  // The best path on each diagonal k (k + offset): how far it got in the old text and its last component.
  const offset = maxEditLength + 2;
  const size = 2 * offset + 1;
  const pathOld = new Int32Array(size);
  const pathLast = new Int32Array(size);
  const pathSet = new Uint8Array(size);

  /** Follow common lines from (oldPos, diagonal); returns [oldPos, newPos, last component]. */
  let commonOld = 0;
  let commonLast = -1;
  const extractCommon = (oldStart: number, last: number, diagonal: number): number => {
    let oldPos = oldStart;
    let newPos = oldPos - diagonal;
    let count = 0;
    while (newPos + 1 < newLen && oldPos + 1 < oldLen && oldTokens[oldPos + 1] === newTokens[newPos + 1]) {
      newPos++;
      oldPos++;
      count++;
    }
    commonLast = count ? components.add(count, COMMON, last) : last;
    commonOld = oldPos;
    return newPos;
  };
  /** A step: a new component, or the last one grown by a line. */
  const step = (last: number, kind: number): number =>
    last !== -1 && components.kind[last] === kind ? components.add((components.count[last] as number) + 1, kind, components.previous[last] as number) : components.add(1, kind, last);

  let newPos = extractCommon(-1, -1, 0);
  if (commonOld + 1 >= oldLen && newPos + 1 >= newLen) return changesOf(commonLast, oldTokens, newTokens);
  pathSet[offset] = 1;
  pathOld[offset] = commonOld;
  pathLast[offset] = commonLast;

  let minDiagonal = -Infinity;
  let maxDiagonal = Infinity;
  for (let editLength = 1; editLength <= maxEditLength; editLength++) {
    for (let diagonal = Math.max(minDiagonal, -editLength); diagonal <= Math.min(maxDiagonal, editLength); diagonal += 2) {
      const removeAt = diagonal - 1 + offset;
      const addAt = diagonal + 1 + offset;
      const hasRemove = pathSet[removeAt] === 1;
      const removeOld = pathOld[removeAt] as number;
      const removeLast = pathLast[removeAt] as number;
      if (hasRemove) pathSet[removeAt] = 0;
      const hasAdd = pathSet[addAt] === 1;
      const addOld = pathOld[addAt] as number;
      let canAdd = false;
      if (hasAdd) {
        const addNewPos = addOld - diagonal;
        canAdd = 0 <= addNewPos && addNewPos < newLen;
      }
      const canRemove = hasRemove && removeOld + 1 < oldLen;
      const at = diagonal + offset;
      if (!canAdd && !canRemove) {
        pathSet[at] = 0;
        continue;
      }
      let baseOld: number;
      let baseLast: number;
      if (!canRemove || (canAdd && removeOld < addOld)) {
        baseOld = addOld;
        baseLast = step(pathLast[addAt] as number, ADDED);
      } else {
        baseOld = removeOld + 1;
        baseLast = step(removeLast, REMOVED);
      }
      newPos = extractCommon(baseOld, baseLast, diagonal);
      if (commonOld + 1 >= oldLen && newPos + 1 >= newLen) return changesOf(commonLast, oldTokens, newTokens);
      pathSet[at] = 1;
      pathOld[at] = commonOld;
      pathLast[at] = commonLast;
      if (commonOld + 1 >= oldLen) maxDiagonal = Math.min(maxDiagonal, diagonal - 1);
      if (newPos + 1 >= newLen) minDiagonal = Math.max(minDiagonal, diagonal + 1);
    }
  }
  throw new Error("line diff: no edit script found");
}

/** The components in order, each with its lines (the package's buildValues). */
function changesOf(last: number, oldTokens: readonly string[], newTokens: readonly string[]): Change[] {
  const ids: number[] = [];
  for (let id = last; id !== -1; id = components.previous[id] as number) ids.push(id);
  ids.reverse();
  let newPos = 0;
  let oldPos = 0;
  return ids.map((id) => {
    const count = components.count[id] as number;
    const kind = components.kind[id] as number;
    let lines: readonly string[];
    if (kind !== REMOVED) {
      lines = newTokens.slice(newPos, newPos + count);
      newPos += count;
      if (kind === COMMON) oldPos += count;
    } else {
      lines = oldTokens.slice(oldPos, oldPos + count);
      oldPos += count;
    }
    return { count, kind, lines };
  });
}

interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

/** The package's hunks: changes with up to 4 lines of context, hunks closer than 8 lines joined. */
function hunksOf(changes: readonly Change[]): Hunk[] {
  const diff = [...changes, { count: 0, kind: COMMON, lines: [] as readonly string[] }];
  const contextLines = (lines: readonly string[]) => lines.map((line) => ` ${line}`);
  const hunks: Hunk[] = [];
  let oldRangeStart = 0;
  let newRangeStart = 0;
  let curRange: string[] = [];
  let oldLine = 1;
  let newLine = 1;
  for (let i = 0; i < diff.length; i++) {
    const current = diff[i] as Change;
    const lines = current.lines;
    if (current.kind !== COMMON) {
      if (!oldRangeStart) {
        const prev = diff[i - 1];
        oldRangeStart = oldLine;
        newRangeStart = newLine;
        if (prev) {
          curRange = contextLines(prev.lines.slice(-CONTEXT));
          oldRangeStart -= curRange.length;
          newRangeStart -= curRange.length;
        }
      }
      for (const line of lines) curRange.push((current.kind === ADDED ? "+" : "-") + line);
      if (current.kind === ADDED) newLine += lines.length;
      else oldLine += lines.length;
    } else {
      if (oldRangeStart) {
        if (lines.length <= CONTEXT * 2 && i < diff.length - 2) {
          for (const line of contextLines(lines)) curRange.push(line);
        } else {
          const contextSize = Math.min(lines.length, CONTEXT);
          for (const line of contextLines(lines.slice(0, contextSize))) curRange.push(line);
          hunks.push({ oldStart: oldRangeStart, oldLines: oldLine - oldRangeStart + contextSize, newStart: newRangeStart, newLines: newLine - newRangeStart + contextSize, lines: curRange });
          oldRangeStart = 0;
          newRangeStart = 0;
          curRange = [];
        }
      }
      oldLine += lines.length;
      newLine += lines.length;
    }
  }
  for (const hunk of hunks) {
    for (let i = 0; i < hunk.lines.length; i++) {
      const line = hunk.lines[i] as string;
      if (line.endsWith("\n")) hunk.lines[i] = line.slice(0, -1);
      else {
        hunk.lines.splice(i + 1, 0, "\\ No newline at end of file");
        i++;
      }
    }
  }
  return hunks;
}

/** `createTwoFilesPatch(name, name, before, after, oldHeader, newHeader)` of the diff package. */
export function unifiedDiff(name: string, before: string, after: string, oldHeader: string, newHeader: string): string {
  const hunks = hunksOf(diffLines(tokenize(before), tokenize(after)));
  const out = [`Index: ${name}`, "===================================================================", `--- ${name}\t${oldHeader}`, `+++ ${name}\t${newHeader}`];
  for (const hunk of hunks) {
    const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
    const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
    out.push(`@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`);
    for (const line of hunk.lines) out.push(line);
  }
  return `${out.join("\n")}\n`;
}
