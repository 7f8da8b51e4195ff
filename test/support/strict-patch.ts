/**
 * A strict RFC 6902 applier used to check our patches the way kube-apiserver's library
 * (evanphx/json-patch) applies them: parents must exist, array indices must be 0..length or "-"
 * (no leading zeros), remove/replace targets must exist, and the document is not mutated.
 */
import type { Operation } from "fast-json-patch";

type Json = unknown;

function unescape(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

function tokens(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new Error(`path ${JSON.stringify(path)} must start with /`);
  return path.slice(1).split("/").map(unescape);
}

function isContainer(v: Json): v is Record<string, Json> | Json[] {
  return typeof v === "object" && v !== null;
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === "-") return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new Error(`invalid array index ${JSON.stringify(token)}`);
  const i = Number(token);
  if (i > length || (!forAdd && i === length)) throw new Error(`array index ${i} out of bounds (length ${length})`);
  return i;
}

function parentOf(doc: Json, path: string): { parent: Record<string, Json> | Json[]; key: string } {
  const t = tokens(path);
  const key = t.pop();
  if (key === undefined) throw new Error("operation on the document root is not supported here");
  let cur: Json = doc;
  for (const tok of t) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(tok, cur.length, false)];
    else if (isContainer(cur) && Object.hasOwn(cur, tok)) cur = (cur as Record<string, Json>)[tok];
    else throw new Error(`missing parent for ${path} (at ${JSON.stringify(tok)})`);
  }
  if (!isContainer(cur)) throw new Error(`parent of ${path} is not an object or array`);
  return { parent: cur, key };
}

export function applyStrict<T>(document: T, ops: readonly Operation[]): T {
  const doc = structuredClone(document) as Json;
  for (const op of ops) {
    const { parent, key } = parentOf(doc, op.path);
    switch (op.op) {
      case "add": {
        const value = structuredClone(op.value);
        if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, true), 0, value);
        else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
        break;
      }
      case "remove":
        if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, false), 1);
        else if (Object.hasOwn(parent, key)) delete parent[key];
        else throw new Error(`remove: ${op.path} does not exist`);
        break;
      case "replace": {
        const value = structuredClone(op.value);
        if (Array.isArray(parent)) parent[arrayIndex(key, parent.length, false)] = value;
        else if (Object.hasOwn(parent, key)) parent[key] = value;
        else throw new Error(`replace: ${op.path} does not exist`);
        break;
      }
      default:
        throw new Error(`unsupported op ${op.op}`);
    }
  }
  return doc as T;
}
