/* thinktrim report: maths in chain texts, questions and responses, typeset by the inlined KaTeX.
   \(…\), \[…\], $…$ and $$…$$ become formulas; a formula KaTeX cannot parse stays as its text (marked, with the
   parser's message as tooltip). Each formula keeps its source beside it, so the "LaTeX source" toggle switches
   the whole page back to the raw text without typesetting again. */
"use strict";
const MathText = (() => {
  // $…$ follows pandoc's rule, so prices ("$2 and $3") stay text: no space after the opening $, none before the
  // closing one, and no digit right after it.
  const MATH = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$(?![\s$])((?:\\\$|[^$\n])+?)(?<![\s\\])\$(?!\d)/g;
  const cache = new Map();  // "d|tex" → KaTeX HTML, or an Error
  const RAW = "tex-raw";

  function typeset(tex, display) {
    const key = (display ? "d|" : "i|") + tex;
    if (!cache.has(key)) {
      try {
        cache.set(key, katex.renderToString(tex, { displayMode: display, throwOnError: true, strict: "ignore",
                                                   trust: false, maxExpand: 500, output: "html" }));
      } catch (e) {
        cache.set(key, e instanceof Error ? e : new Error(String(e)));
      }
      if (cache.size > 4000) cache.delete(cache.keys().next().value);
    }
    return cache.get(key);
  }

  /** The text as a list of strings and formula nodes, ready for Node.append (plain strings where no maths). */
  function nodes(text) {
    if (typeof katex === "undefined" || !text || !/[$\\]/.test(text)) return [text];
    const out = [];
    let last = 0;
    for (const m of text.matchAll(MATH)) {
      const tex = m[1] ?? m[2] ?? m[3] ?? m[4];
      const display = m[1] !== undefined || m[2] !== undefined;
      if (m.index > last) out.push(text.slice(last, m.index));
      last = m.index + m[0].length;
      const html = typeset(tex.trim(), display);
      if (html instanceof Error) {
        out.push(UI.h("span", { class: "math bad", title: `not typeset: ${html.message}` }, m[0]));
        continue;
      }
      const rendered = UI.h("span", { class: "m-out" });
      rendered.innerHTML = html;  // KaTeX's own markup (trust: false: no links, no raw HTML from the text)
      out.push(UI.h("span", { class: "math" + (display ? " display" : "") }, rendered, UI.h("span", { class: "m-src" }, m[0])));
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  /** A checkbox that shows every formula of the page as its LaTeX source; all copies stay in step. */
  function toggle() {
    const box = UI.h("input", { type: "checkbox", class: "tex-toggle", checked: document.body.classList.contains(RAW),
      onchange: (e) => {
        document.body.classList.toggle(RAW, e.target.checked);
        for (const other of document.querySelectorAll("input.tex-toggle")) other.checked = e.target.checked;
      } });
    return UI.h("label", { class: "tex-switch", title: "show formulas as the LaTeX source they were written in" },
      box, " LaTeX source");
  }

  return { nodes, toggle };
})();
