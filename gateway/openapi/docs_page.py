"""The docs UI at `/schema/docs`: one self-contained HTML page whose inline script reads
`/schema/openapi.json` and lists every operation with its parameters, body and responses.

Written here rather than vendored: it works offline (no CDN, no external URL, a strict
Content-Security-Policy says so to the browser) and needs no third-party asset or license.
"""

from __future__ import annotations

# the page may talk only to this server, and run only its own inline script and style
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>crosswalk API</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 64rem; padding: 1rem;
       color: #1d232b; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccd; }
details { border: 1px solid #dde; border-radius: 6px; margin: .4rem 0; padding: .3rem .6rem; }
summary { cursor: pointer; } code, pre { font: 13px ui-monospace, monospace; }
pre { background: #f5f6f8; padding: .5rem; overflow: auto; max-height: 24rem; }
.m { display: inline-block; width: 4.2rem; font-weight: 600; text-transform: uppercase; }
.get { color: #176f2c; } .post { color: #1f4fa8; } .put { color: #8a5a00; }
.delete { color: #a8231f; } table { border-collapse: collapse; }
td, th { border: 1px solid #dde; padding: .2rem .5rem; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<h1>crosswalk API</h1>
<p id="about">Loading <a href="/schema/openapi.json">openapi.json</a>&hellip;</p>
<main id="ops"></main>
<script>
"use strict";
const el = (tag, text, cls) => {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
};
const refName = (schema) => schema && schema.$ref ? schema.$ref.split("/").pop() : null;
function schemaBlock(doc, schema) {
  const name = refName(schema);
  const shown = name ? doc.components.schemas[name] : schema;
  const box = el("details");
  box.append(el("summary", name || "schema"), el("pre", JSON.stringify(shown, null, 2)));
  return box;
}
function table(rows, head) {
  const t = el("table");
  const tr = el("tr");
  head.forEach((h) => tr.append(el("th", h)));
  t.append(tr);
  rows.forEach((cells) => {
    const row = el("tr");
    cells.forEach((c) => { const td = el("td"); td.append(c); row.append(td); });
    t.append(row);
  });
  return t;
}
function operation(doc, method, path, op) {
  const box = el("details");
  const head = el("summary");
  head.append(el("span", method, "m " + method), el("code", path), " " + op.summary);
  box.append(head);
  const auth = (op.security || []).map((s) => Object.keys(s).join("+")).join(" or ");
  box.append(el("p", "Auth: " + (auth || "none") + ". Operation id: " + op.operationId));
  if (op.parameters) {
    box.append(table(op.parameters.map((p) => [p.name, p.in + (p.required ? ", required" : ""),
      JSON.stringify(p.schema), p.description || ""]), ["parameter", "in", "schema", ""]));
  }
  if (op.requestBody) {
    for (const [type, media] of Object.entries(op.requestBody.content)) {
      box.append(el("p", "Body (" + type + "):"), schemaBlock(doc, media.schema));
    }
  }
  const rows = Object.entries(op.responses).map(([status, r]) => {
    const cell = el("div");
    for (const [type, media] of Object.entries(r.content || {})) {
      cell.append(el("code", type), schemaBlock(doc, media.schema));
    }
    return [status, r.description, cell];
  });
  box.append(table(rows, ["status", "meaning", "body"]));
  return box;
}
async function main() {
  const doc = await (await fetch("/schema/openapi.json")).json();
  document.getElementById("about").textContent = doc.info.description;
  const ops = document.getElementById("ops");
  for (const tag of doc.tags) {
    ops.append(el("h2", tag.name), el("p", tag.description));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (op.tags.includes(tag.name)) ops.append(operation(doc, method, path, op));
      }
    }
  }
}
main().catch((e) => {
  document.getElementById("about").textContent = "Could not load the document: " + e;
});
</script>
</body>
</html>
"""
