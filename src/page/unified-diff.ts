/**
 * The unified diff a preview answers with (src/preview/line-diff.ts: the object before and after,
 * as YAML), read back into lines to highlight: file headers, hunk headers, and the context, added
 * and removed lines of each hunk, counted by its header so a line whose text starts with `---`
 * or `+++` is never taken for a header. Pure (no DOM).
 */

export type DiffLineKind = "header" | "hunk" | "context" | "added" | "removed" | "note";

export interface DiffLine {
  readonly kind: DiffLineKind;
  /** The line as the diff writes it (with its +, - or space). */
  readonly text: string;
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;

/** The lines of a unified diff, each with its kind; `Index:` and `===` lines are dropped. */
export function readUnifiedDiff(diff: string): DiffLine[] {
  const lines = diff.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const out: DiffLine[] = [];
  let oldLeft = 0;
  let newLeft = 0;
  for (const text of lines) {
    if (oldLeft > 0 || newLeft > 0) {
      const mark = text[0];
      if (mark === "+") {
        newLeft--;
        out.push({ kind: "added", text });
      } else if (mark === "-") {
        oldLeft--;
        out.push({ kind: "removed", text });
      } else if (mark === "\\") {
        out.push({ kind: "note", text });
      } else {
        oldLeft--;
        newLeft--;
        out.push({ kind: "context", text });
      }
      continue;
    }
    const hunk = HUNK.exec(text);
    if (hunk) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      out.push({ kind: "hunk", text });
    } else if (text.startsWith("\\")) {
      out.push({ kind: "note", text });
    } else if (!text.startsWith("Index: ") && !/^=+$/.test(text)) {
      out.push({ kind: "header", text });
    }
  }
  return out;
}
