/**
 * The preview page's behaviour: read the manifests (pasted, chosen or dropped), send them to
 * POST /preview with the namespace and its labels, and show per object the decision, every
 * reason, the warnings, the highlighted diff and the injected manifest (copy, download); show a
 * refusal as a sentence with the document, line and column it names. Every request goes to the
 * injector that served the page. Text is only ever set as text, never as markup.
 */
import { type Failure, type PageObject, type PageSummary, denialOf, downloadName, failureOf, inputFormatOf, summaryRows, tally } from "./answers.js";
import { toYaml } from "./to-yaml.js";
import { readUnifiedDiff } from "./unified-diff.js";

type Child = Node | string;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string; attrs?: Record<string, string> } = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className !== undefined) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node as T;
}

const form = byId<HTMLFormElement>("form");
const manifests = byId<HTMLTextAreaElement>("manifests");
const fileInput = byId<HTMLInputElement>("file");
const namespaceInput = byId<HTMLInputElement>("namespace");
const labelsInput = byId<HTMLInputElement>("labels");
const runButton = byId<HTMLButtonElement>("run");
const status = byId<HTMLDivElement>("status");
const results = byId<HTMLElement>("results");
const configBox = byId<HTMLElement>("config");

function setStatus(text: string, busy = false): void {
  status.textContent = text;
  status.classList.toggle("busy", busy);
}

/** The answer's body as JSON, or its text as a message when it is not JSON. */
async function bodyOf(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { message: text.trim().slice(0, 500) };
  }
}

// ---- the configuration corner ----------------------------------------------------------------

async function showSummary(): Promise<void> {
  try {
    const res = await fetch("/config/summary", { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const summary = (await res.json()) as PageSummary;
    const rows = summaryRows(summary).flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: value })]);
    configBox.replaceChildren(
      el("h2", { text: "This injector" }),
      el("dl", {}, ...rows),
      el("p", { className: "muted small", text: "Previews here render with this configuration, as admission does." }),
    );
  } catch (err) {
    configBox.replaceChildren(el("p", { className: "muted", text: `This injector's configuration could not be read: ${(err as Error).message}.` }));
  }
}

// ---- reading the manifests -------------------------------------------------------------------

async function readFiles(files: readonly File[]): Promise<void> {
  if (files.length === 0) return;
  const texts = await Promise.all(files.map((f) => f.text()));
  // Several files become one YAML stream, each document headed by its file's name.
  manifests.value =
    texts.length === 1 ? (texts[0] ?? "") : texts.map((t, i) => `--- # ${files[i]?.name ?? "file"}\n${t.replace(/\n*$/, "\n")}`).join("");
  const bytes = texts.reduce((n, t) => n + new Blob([t]).size, 0);
  setStatus(`Read ${files.map((f) => f.name).join(", ")} (${bytes} bytes). Preview to see what the injector would do.`);
  manifests.focus();
}

fileInput.addEventListener("change", () => {
  void readFiles([...(fileInput.files ?? [])]);
  fileInput.value = "";
});

manifests.addEventListener("dragover", (e) => {
  if (!e.dataTransfer?.types.includes("Files")) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = "copy";
  manifests.classList.add("dragging");
});
manifests.addEventListener("dragleave", () => manifests.classList.remove("dragging"));
manifests.addEventListener("drop", (e) => {
  manifests.classList.remove("dragging");
  const files = [...(e.dataTransfer?.files ?? [])];
  if (files.length === 0) return;
  e.preventDefault();
  void readFiles(files);
});

/** Select line `line` of the text area and scroll it into view. */
function showLine(line: number): void {
  const lines = manifests.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  const end = start + (lines[line - 1]?.length ?? 0);
  manifests.focus();
  manifests.setSelectionRange(start, end);
  const lineHeight = Number.parseFloat(getComputedStyle(manifests).lineHeight) || 18;
  manifests.scrollTop = Math.max(0, (line - 3) * lineHeight);
}

// ---- showing the answers ---------------------------------------------------------------------

function problemList(failure: Failure, sentText: string): HTMLUListElement {
  return el(
    "ul",
    { className: "problems" },
    ...failure.problems.map((p) => {
      const item = el("li");
      if (p.where !== undefined) item.append(el("span", { className: "where", text: p.where }), " ");
      if (p.line !== undefined) item.append(el("span", { className: "at", text: `line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ""}` }), " ");
      item.append(p.text);
      // The line is of the text sent; offer it while the text area still holds that text.
      if (p.line !== undefined && manifests.value === sentText) {
        const line = p.line;
        const show = el("button", { className: "button secondary small", text: `Show line ${line}`, attrs: { type: "button" } });
        show.addEventListener("click", () => showLine(line));
        item.append(" ", show);
      }
      return item;
    }),
  );
}

function failureBox(failure: Failure, sentText: string, level: "h2" | "h3" = "h2"): HTMLDivElement {
  const box = el("div", { className: "failure", attrs: { role: "alert" } }, el(level, { text: failure.sentence }));
  if (failure.code !== undefined) box.append(el("p", { className: "small muted" }, "code ", el("code", { text: failure.code })));
  if (failure.problems.length > 0) box.append(problemList(failure, sentText));
  return box;
}

function diffView(diff: string): HTMLPreElement {
  const lines = readUnifiedDiff(diff).map((l) => el("span", { className: l.kind, text: l.text }));
  return el("pre", { className: "diff", attrs: { "aria-label": "diff of the pod template", tabindex: "0" } }, ...lines);
}

async function copyText(text: string, source: HTMLElement, button: HTMLButtonElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    // No clipboard for this page (an old browser, or it was refused): select the text instead.
    getSelection()?.selectAllChildren(source);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => (button.textContent = "Copy"), 2_000);
}

function download(text: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
  const link = el("a", { attrs: { href: url, download: name } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function objectCard(o: PageObject, sentText: string): HTMLElement {
  const card = el(
    "article",
    { className: "object", attrs: { "data-decision": o.decision } },
    el(
      "header",
      {},
      el("h2", { text: `${o.kind}/${o.name}` }),
      el("span", { className: `decision decision-${o.decision}`, text: o.decision }),
      el("span", { className: "muted small", text: `namespace ${o.namespace} · ${o.where}` }),
    ),
  );
  if (o.reasons.length > 0) {
    card.append(
      el("h3", { text: o.reasons.length === 1 ? "Reason" : "Reasons" }),
      // As `explain` shows them: the code, then the sentence.
      el("ul", { className: "reasons" }, ...o.reasons.map((r) => el("li", {}, el("code", { text: r.code }), `: ${r.message}`))),
    );
  }
  const denial = denialOf(o);
  if (denial !== null) card.append(failureBox(denial, sentText, "h3"));
  if (o.warnings.length > 0) {
    card.append(el("h3", { text: "Warnings" }), el("ul", { className: "warnings" }, ...o.warnings.map((w) => el("li", { text: w }))));
  }
  if (o.diff !== "") {
    card.append(el("h3", { text: "Pod template: given → injected" }), diffView(o.diff));
  } else if (denial === null) {
    card.append(el("p", { className: "muted small", text: "Nothing would change: the object stays as given." }));
  }
  if (o.patch.length > 0) {
    const yaml = toYaml(o.object);
    const manifest = el("pre", { className: "manifest", text: yaml, attrs: { "aria-label": "injected manifest", tabindex: "0" } });
    const copy = el("button", { className: "button secondary small", text: "Copy", attrs: { type: "button" } });
    copy.addEventListener("click", () => void copyText(yaml, manifest, copy));
    const save = el("button", { className: "button secondary small", text: "Download", attrs: { type: "button" } });
    save.addEventListener("click", () => download(yaml, downloadName(o)));
    card.append(el("div", { className: "actions" }, el("h3", { text: "Injected manifest" }), copy, save), manifest);
  }
  return card;
}

function isReport(body: unknown): body is { results: PageObject[] } {
  return typeof body === "object" && body !== null && Array.isArray((body as { results?: unknown }).results);
}

// ---- running a preview -----------------------------------------------------------------------

let running = false;

async function run(): Promise<void> {
  if (running) return;
  const text = manifests.value;
  if (text.trim() === "") {
    results.replaceChildren();
    setStatus("Paste, choose or drop one or more manifests first.");
    manifests.focus();
    return;
  }
  const format = inputFormatOf(text);
  const query = new URLSearchParams({ output: "json" });
  if (namespaceInput.value.trim() !== "") query.set("namespace", namespaceInput.value.trim());
  if (labelsInput.value.trim() !== "") query.set("namespaceLabels", labelsInput.value.trim());
  running = true;
  runButton.disabled = true;
  setStatus("Previewing…", true);
  try {
    const res = await fetch(`/preview?${query.toString()}`, {
      method: "POST",
      headers: { "Content-Type": format === "json" ? "application/json" : "application/yaml", Accept: "application/json" },
      body: text,
    });
    const body = await bodyOf(res);
    if (res.ok && isReport(body)) {
      setStatus(body.results.length === 0 ? "The manifests hold no objects." : `${tally(body.results)} (read as ${format.toUpperCase()}).`);
      results.replaceChildren(...body.results.map((o) => objectCard(o, text)));
    } else {
      setStatus(`The preview was refused (HTTP ${res.status}).`);
      results.replaceChildren(failureBox(failureOf(res.status, body, res.headers.get("Retry-After"), text), text));
    }
  } catch (err) {
    setStatus("The preview failed.");
    results.replaceChildren(failureBox({ sentence: `The injector did not answer: ${(err as Error).message}.`, problems: [] }, text));
  } finally {
    running = false;
    runButton.disabled = false;
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  void run();
});

document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    void run();
  }
});

void showSummary();
