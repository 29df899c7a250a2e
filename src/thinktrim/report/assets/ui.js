/* thinktrim report: what every part of the page shares: element building, tables, chart cards, number formats,
   and decoding the page's gzip+base64 blobs (DecompressionStream), kept once decoded. */
"use strict";
const UI = (() => {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const pct = (v, d = 1) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(d)} %`);
  const num = (v, d = 0) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US",
    { minimumFractionDigits: d, maximumFractionDigits: d }));
  const sci = (v) => (v === null || v === undefined ? "–" : v === 0 ? "0" : Number(v).toExponential(2));
  const signed = (v, d = 3) => (v === null || v === undefined ? "–" : (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(d));

  function h(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "style" && typeof v === "object")
        for (const [name, value] of Object.entries(v)) node.style.setProperty(name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), value);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false)
      node.append(kid instanceof Node ? kid : String(kid));
    return node;
  }

  function table(columns, rows, opts = {}) {
    const t = h("table", { class: "data" + (opts.cls ? " " + opts.cls : "") });
    t.append(h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.left ? "l" : null, title: c.title }, c.label)))));
    const body = h("tbody");
    for (const r of rows) {
      const tr = h("tr", { class: r._cls || null }, columns.map((c) => h("td", { class: c.left ? "l" : null }, c.get(r))));
      if (opts.onRow) { tr.classList.add("click"); tr.addEventListener("click", () => opts.onRow(r, tr)); }
      body.append(tr);
    }
    t.append(body);
    return h("div", { class: "tbl-wrap" }, t);
  }

  function chart(title, what, draw) {
    const box = h("div", { class: "card chart" }, h("h3", {}, title), what ? h("p", { class: "what" }, what) : null);
    draw(box);
    return box;
  }

  const blobs = new Map();
  async function unpack(id) {
    if (blobs.has(id)) return blobs.get(id);
    const text = document.getElementById(id).textContent;
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const value = JSON.parse(await new Response(stream).text());
    if (blobs.size > 16) blobs.delete(blobs.keys().next().value);
    blobs.set(id, value);
    return value;
  }

  return { $, pct, num, sci, signed, h, table, chart, unpack };
})();
