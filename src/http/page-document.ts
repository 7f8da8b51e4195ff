/**
 * The preview page's document and style sheet, served from memory by page-route.ts. The page's
 * behaviour is the browser code of src/page/ (compiled apart, into dist/page/). Nothing here or
 * there names another origin: the page loads its script, its style sheet and its data from the
 * injector that serves it, and the Content-Security-Policy holds it to that.
 */

/** Where the browser code and the style sheet are served (the compiled files of src/page/ keep their names). */
export const PAGE_ASSET_PREFIX = "/page/";
export const PAGE_SCRIPT = "main.js";
export const PAGE_STYLE = "page.css";

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sidecar-injector: preview</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${PAGE_ASSET_PREFIX}${PAGE_STYLE}">
<script type="module" src="${PAGE_ASSET_PREFIX}${PAGE_SCRIPT}"></script>
</head>
<body>
<div class="page">
<header class="title">
  <h1>sidecar-injector <span class="sub">preview</span></h1>
  <p class="lead">What this injector would do to your manifests, as the webhook would do it. Nothing is applied.</p>
</header>
<aside id="config" class="config" aria-label="This injector's configuration"><p class="muted">Reading this injector's configuration…</p></aside>
<main>
  <form id="form" class="form" novalidate>
    <label for="manifests" class="label">Manifests: Pods, workloads, Lists or AdmissionReviews, in YAML (documents separated by <code>---</code>) or JSON</label>
    <textarea id="manifests" name="manifests" rows="14" wrap="off" spellcheck="false" autocapitalize="off" autocomplete="off" placeholder="apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template: …"></textarea>
    <div class="row">
      <label class="button secondary file">Choose files…<input id="file" type="file" multiple accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml"></label>
      <span class="muted">or drop them on the text area</span>
    </div>
    <div class="fields">
      <label>Namespace <input id="namespace" name="namespace" autocomplete="off" spellcheck="false" placeholder="as the manifests say, else default"></label>
      <label>Namespace labels <input id="labels" name="labels" autocomplete="off" spellcheck="false" value="istio-injection=enabled"></label>
    </div>
    <p class="muted small">Labels as <code>key=value,key2=value2</code>: the namespace's labels decide whether the API server would call the injector at all. Leave them empty to judge the pods alone.</p>
    <div class="row">
      <button id="run" class="button" type="submit">Preview</button>
      <span class="muted small">or <kbd>Ctrl</kbd>+<kbd>Enter</kbd> (<kbd>⌘</kbd>+<kbd>Enter</kbd>)</span>
    </div>
  </form>
  <div id="status" class="status" role="status" aria-live="polite"></div>
  <section id="results" class="results" aria-label="Results"></section>
</main>
</div>
</body>
</html>
`;

export const PAGE_CSS = `:root {
  color-scheme: light dark;
  --bg: #f7f7f5; --fg: #1d1f21; --muted: #5c6370; --card: #ffffff; --line: #d9dcdf;
  --accent: #2455c3; --accent-fg: #ffffff;
  --add-bg: #e3f6e5; --add-fg: #13541f; --del-bg: #fde8e8; --del-fg: #8a1c1c; --hunk: #5a4fcf;
  --inject: #1f7a35; --skip: #6b6f76; --deny: #b42318; --info: #2455c3;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16181b; --fg: #e6e6e6; --muted: #9aa0a8; --card: #1f2226; --line: #363a40;
    --accent: #6d9bff; --accent-fg: #0d1020;
    --add-bg: #143d1f; --add-fg: #a6e9b4; --del-bg: #4a1c1c; --del-fg: #ffb4b4; --hunk: #b7a8ff;
    --inject: #57c777; --skip: #a0a4aa; --deny: #ff7b72; --info: #8ab0ff;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
code, kbd, pre, textarea, input { font-family: var(--mono); }
code { font-size: 0.92em; overflow-wrap: anywhere; }
kbd { border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; font-size: 0.85em; }
.page { display: grid; grid-template-columns: minmax(0, 1fr); grid-template-areas: "title" "config" "main"; gap: 12px 20px; max-width: 1440px; margin: 0 auto; padding: 16px 20px 32px; }
@media (min-width: 960px) {
  .page { grid-template-columns: minmax(0, 1fr) 320px; grid-template-areas: "title config" "main config"; }
  .config { position: sticky; top: 12px; }
}
.title { grid-area: title; min-width: 0; }
h1 { margin: 0; font-size: 1.45rem; }
h1 .sub { color: var(--muted); font-weight: 400; }
.lead { margin: 4px 0 0; color: var(--muted); }
.config { grid-area: config; align-self: start; min-width: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; font-size: 0.82rem; }
.config h2 { margin: 0 0 4px; font-size: 0.82rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.config dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 10px; margin: 0; }
.config dt { color: var(--muted); }
.config dd { margin: 0; font-family: var(--mono); overflow-wrap: anywhere; }
.config .small { margin-top: 6px; }
main { grid-area: main; min-width: 0; }
.form { display: grid; gap: 8px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.label { font-weight: 600; }
textarea { white-space: pre; overflow-wrap: normal; overflow-x: auto; width: 100%; min-height: 12rem; resize: vertical; padding: 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); font-size: 13px; line-height: 1.4; tab-size: 2; }
textarea.dragging { outline: 3px dashed var(--accent); outline-offset: 2px; }
.row { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; }
.fields { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 240px), 1fr)); gap: 8px 16px; }
.fields label { display: grid; gap: 4px; font-weight: 600; }
.fields input { width: 100%; min-width: 0; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); font-size: 13px; }
.button { display: inline-block; cursor: pointer; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); border-radius: 6px; padding: 6px 14px; font: inherit; font-weight: 600; }
.button.secondary { background: transparent; color: var(--accent); }
.button.small { padding: 2px 10px; font-size: 0.85rem; font-weight: 500; }
.button:disabled { opacity: 0.6; cursor: progress; }
.button:focus-visible, textarea:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
.file { position: relative; }
.file input { position: absolute; left: 0; top: 0; width: 1px; height: 1px; opacity: 0; }
.file:focus-within { outline: 2px solid var(--accent); }
.muted { color: var(--muted); }
.small { font-size: 0.85rem; margin: 0; }
.status { margin: 14px 0 8px; overflow-wrap: anywhere; min-height: 1.4em; }
.status.busy::before { content: "… "; }
.failure { border: 1px solid var(--deny); border-left-width: 6px; border-radius: 8px; background: var(--card); padding: 10px 14px; }
.failure h2 { margin: 0 0 6px; font-size: 1.05rem; color: var(--deny); }
.problems { margin: 6px 0 0; padding-left: 1.2em; }
.problems li { margin: 4px 0; overflow-wrap: anywhere; }
.where { font-family: var(--mono); font-weight: 600; }
.at { font-family: var(--mono); color: var(--deny); font-weight: 600; }
.results { display: grid; gap: 14px; }
.object { min-width: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.object > header { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline; }
.object h2 { margin: 0; font-size: 1.05rem; overflow-wrap: anywhere; }
.object h3 { margin: 12px 0 4px; font-size: 0.9rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.decision { font-family: var(--mono); font-weight: 700; padding: 1px 8px; border-radius: 999px; border: 1px solid currentColor; }
.decision-inject { color: var(--inject); }
.decision-skip, .decision-not_applicable { color: var(--skip); }
.decision-deny { color: var(--deny); }
.decision-already_injected { color: var(--info); }
.reasons, .warnings { margin: 0; padding-left: 1.2em; }
.reasons li, .warnings li { margin: 3px 0; overflow-wrap: anywhere; }
.reasons code { font-weight: 600; }
.warnings li { color: var(--deny); }
pre { margin: 0; max-width: 100%; overflow: auto; max-height: 32rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); font-size: 12.5px; line-height: 1.45; }
.diff { padding: 4px 0; }
.diff span { display: block; padding: 0 8px; white-space: pre; min-width: max-content; }
.diff .added { background: var(--add-bg); color: var(--add-fg); }
.diff .removed { background: var(--del-bg); color: var(--del-fg); }
.diff .hunk { color: var(--hunk); }
.diff .header { color: var(--muted); }
.manifest { padding: 6px 8px; white-space: pre; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 12px 0 4px; }
.actions h3 { margin: 0; flex: 1 1 auto; }
@media (max-width: 600px) {
  body { font-size: 14px; }
  .page { padding: 12px 12px 24px; }
  .form, .object { padding: 10px; }
}
`;
