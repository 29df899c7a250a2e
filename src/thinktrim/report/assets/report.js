/* thinktrim report: reads the page's data and lays out its parts: the refine summary, the chain viewer (chain
   texts decoded from their blob only when shown), the eval part (eval.js), train and curate summaries. */
"use strict";
(() => {
  const D = JSON.parse(document.getElementById("tt-data").textContent);
  const S = D.style;
  const { $, pct, num, signed, h, table, chart, unpack } = UI;

  /* ---------------------------------------------------------------- refine summary */
  const kindLegend = (kinds) => kinds.map((k) => ({ label: S.kindLabels[k], colour: S.kindColours[k] }));
  const functional = S.kinds.slice(1);

  function refineSummary(run) {
    const root = h("div", { id: "refine-summary" });
    const st = run.status;
    const count = (label, v, warn) => h("div", { class: "count" + (warn && v ? " warn" : "") }, h("b", {}, num(v)), h("span", {}, label));
    root.append(h("div", { class: "counts" },
      count("chains", run.chains), count("scored", st.scored), count("no functional units", st.no_units),
      count("over-long (skipped)", st.overlong, true), count("no answer (skipped)", st.no_answer, true),
      count("unclosed thinking", st.unclosed, true), count("rejected records", run.rejected, true)));
    if (run.notes.length) root.append(h("ul", { class: "notes" }, run.notes.map((n) => h("li", {}, n))));
    if (run.not_scored.length) {
      const more = run.not_scored_total - run.not_scored.length;
      root.append(h("details", { class: "card", style: { marginTop: "10px" } },
        h("summary", {}, `${run.not_scored_total} chain(s) or record(s) not scored, with reasons`),
        table([{ label: "chain", left: true, get: (r) => r.id }, { label: "status", left: true, get: (r) => r.status },
               { label: "reason", left: true, get: (r) => r.reason }], run.not_scored),
        more > 0 ? h("p", { class: "note" }, `… and ${more} more (annotations.jsonl has them all)`) : null));
    }
    const grid = h("div", { class: "grid2" });
    root.append(grid);
    if (run.token_share) grid.append(chart("Token share by step kind",
      "Thinking tokens of every annotated closed chain, next to the shares LIMOPro reports for LIMO, LIMO-V2 and S1K.",
      (box) => {
        Charts.legend(box, kindLegend(S.kinds));
        const rows = [{ label: run.name, values: run.token_share, strong: true }].concat(
          Object.entries(S.paperShares).map(([name, v]) => ({ label: `${name} (paper)`, values: v })));
        Charts.stacked(box, rows, S.kinds, S.kindColours, S.kindLabels, { label: "token share by step kind" });
      }));
    if (run.per_ratio.length) {
      grid.append(chart("Token reduction by pruning ratio",
        "Share of the scored chains' thinking tokens removed at each ratio; LIMOPro's figures for LIMO dashed.",
        (box) => {
          Charts.legend(box, [{ label: run.name, colour: "#D55E00" }, { label: "LIMO (paper)", colour: "#5d6677", dashed: true }]);
          Charts.lines(box, [
            { label: "LIMO (paper)", points: S.paperReduction, colour: "#5d6677", dashed: true },
            { label: run.name, points: run.per_ratio.map((r) => [r.ratio, r.token_reduction]), colour: "#D55E00",
              labels: true, fromOrigin: true }],
            { xFmt: (v) => v.toFixed(1), yFmt: (v) => `${+(100 * v).toFixed(1)} %`, labelFmt: (v) => pct(v),
              xLabel: "pruning ratio", yLabel: "thinking tokens removed", xMax: 0.8, label: "token reduction by ratio" });
        }));
      grid.append(chart("Functional units removed, by type and ratio",
        "Filled: units removed at the ratio; dashed outline: all scored units of that type.",
        (box) => {
          Charts.legend(box, kindLegend(functional));
          Charts.grouped(box, run.per_ratio.map((r) => `ratio ${r.ratio}`), functional.map((k) => ({
            label: S.kindLabels[k], colour: S.kindColours[k], values: run.per_ratio.map((r) => r.units_removed[k] || 0),
            totals: run.per_ratio.map(() => (run.functional_units || {})[k] || 0) })),
          { yFmt: (v) => num(v), yLabel: "functional units", valueLabels: true, label: "units removed" });
        }));
    }
    grid.append(chart("PIR by step kind",
      "One value per scored functional unit: mean answer NLL without the unit minus with it. Left of 0: the answer is " +
      "more likely without it (pruned first).",
      (box) => Charts.boxes(box, functional.map((k) => Object.assign({ label: S.kindLabels[k], colour: S.kindColours[k] },
        run.pir[k] || { n: 0 })), { xFmt: (v) => v.toFixed(Math.abs(v) < 0.1 ? 3 : 2), xLabel: "PIR (nats per answer token)",
        label: "PIR distribution" })));
    if (run.per_ratio.length) {
      const cols = [{ label: "ratio", get: (r) => r.ratio }]
        .concat(functional.map((k) => ({ label: `${S.kindLabels[k]} removed`, get: (r) => num(r.units_removed[k] || 0) })))
        .concat([{ label: "tokens before", get: (r) => num(r.tokens_before) }, { label: "tokens after", get: (r) => num(r.tokens_after) },
                 { label: "reduction", get: (r) => pct(r.token_reduction) }, { label: "file", left: true, get: (r) => r.file || "–" }]);
      root.append(h("div", { class: "card", style: { marginTop: "14px" } },
        h("h3", { style: { margin: "0 0 6px", fontSize: "14.5px" } }, `Pruning (${run.scope} scope), scored chains only`),
        table(cols, run.per_ratio),
        h("p", { class: "note" }, `Protected steps (never pruned: the first step and steps stating the answer): ` +
          S.kinds.map((k) => `${S.kindLabels[k]} ${num(run.protected[k] || 0)}`).join(", ") +
          Object.entries(run.stats_extra).map(([k, v]) => ` · ${k.replace(/_/g, " ")}: ${typeof v === "number" ? num(v) : v}`).join(""))));
    }
    return root;
  }

  /* ---------------------------------------------------------------- chain viewer */
  const V = { run: 0, chainId: null, chain: null, ratio: 0, filter: "", fold: false };
  const LIST_MAX = 300;

  function viewerShell(run) {
    const list = h("ul", { id: "chain-list" });
    const search = h("input", { type: "search", id: "chain-search", placeholder: `search ${num(run.index.ids.length)} chains by id`,
                                oninput: (e) => { V.filter = e.target.value.trim().toLowerCase(); fillList(); } });
    return h("div", { class: "viewer" },
      h("div", { class: "chains" }, h("div", { class: "find" }, search), list, h("div", { class: "more", id: "chain-more" })),
      h("div", { class: "card", id: "chain-view" }, h("div", { class: "empty" }, "Pick a chain")));
  }

  function fillList() {
    const run = D.refine[V.run], ix = run.index, list = $("#chain-list");
    list.textContent = "";
    let shown = 0, matched = 0;
    for (let i = 0; i < ix.ids.length; i++) {
      if (V.filter && !ix.ids[i].toLowerCase().includes(V.filter)) continue;
      matched++;
      if (shown >= LIST_MAX) continue;
      shown++;
      const id = ix.ids[i];
      list.append(h("li", { class: id === V.chainId ? "on" : null, "data-id": id, onclick: () => showChain(id) },
        h("span", { class: "cid", title: id }, id),
        h("span", { class: "meta" }, ix.status[i] === "scored" ? `${ix.steps[i]} steps · ${ix.units[i]} units` : ix.status[i])));
    }
    $("#chain-more").textContent = matched > shown ? `${num(matched - shown)} more: narrow the search` :
      (matched ? `${num(matched)} chain${matched > 1 ? "s" : ""}` : "no chain matches");
  }

  async function showChain(id) {
    const run = D.refine[V.run], i = run.index.ids.indexOf(id);
    if (i < 0) return;
    V.chainId = id;
    for (const li of document.querySelectorAll("#chain-list li")) li.classList.toggle("on", li.dataset.id === id);
    const chunk = await unpack(run.chunks[run.index.chunk[i]]);
    V.chain = chunk.find((c) => c.id === id);
    renderChain();
  }

  function splitEdges(text) {
    const m = /^(\s*)([\s\S]*?)(\s*)$/.exec(text);
    return [m[1], m[2], m[3]];
  }

  function renderChain() {
    const run = D.refine[V.run], c = V.chain, view = $("#chain-view");
    view.textContent = "";
    const steps = c.steps;
    const units = new Set(steps.filter((s) => s[3] !== null).map((s) => s[3]));
    const tokens = steps.reduce((a, s) => a + (s[6] || 0), 0);
    const prot = steps.filter((s) => s[5]).length;
    const head = h("div", { class: "chain-head" },
      h("h3", {}, c.id, " ", h("span", { class: "pill " + (c.status === "scored" ? "ok" : "bad") }, c.status)),
      h("div", { class: "facts" }, `${steps.length} steps · ${units.size} functional units · ${num(tokens)} tokens · ` +
        `${prot} protected` + Object.entries(c.extra).map(([k, v]) => ` · ${k.replace(/_/g, " ")}: ${v}`).join("") +
        (c.reason ? ` · ${c.reason}` : "")),
      c.question ? h("div", { class: "question" }, MathText.nodes(c.question)) : null);
    view.append(head);
    const ratios = run.ratios;
    const effect = h("span", { class: "effect", id: "ratio-effect" });
    const slider = h("input", { type: "range", id: "ratio-slider", min: 0, max: ratios.length, step: 1, value: V.ratio,
                                "aria-label": "pruning ratio", oninput: (e) => { V.ratio = +e.target.value; strike(); } });
    view.append(h("div", { class: "ratio" }, h("label", { for: "ratio-slider" }, "Prune at"),
      h("div", { class: "slider" }, slider, h("div", { class: "ticks" }, h("span", {}, "none"), ratios.map((r) => h("span", {}, r)))),
      effect));
    const fold = h("input", { type: "checkbox", id: "fold", checked: V.fold, onchange: (e) => {
      V.fold = e.target.checked; $("#steps").classList.toggle("folded", V.fold); } });
    const legend = Charts.legend(view, kindLegend(S.kinds).concat([{ label: "struck through: removed at this ratio", colour: "#D55E00" }]));
    legend.append(h("label", { class: "fold" }, fold, " fold progressive steps to two lines"), MathText.toggle());
    const box = h("div", { class: "steps" + (V.fold ? " folded" : ""), id: "steps" });
    steps.forEach((s, i) => {
      const [text, code, link, unit, pir, isProt, tok] = s;
      const kind = S.kinds[code];
      const [lead, core, trail] = splitEdges(text);
      const meta = h("div", { class: "meta" },
        h("span", { class: "num" }, `#${i}`, tok ? ` · ${num(tok)} tok` : ""),
        h("span", { class: "kind" }, h("i"), S.kindLabels[kind]),
        pir !== null ? h("span", { class: "pir", title: "PIR of this step's functional unit" }, `PIR ${signed(pir, 4)}`) : null,
        unit !== null ? h("span", {}, `unit ${unit}`) : null,
        link !== null && code > 0 ? h("a", { href: `#s-${link}`, class: "link", "data-target": link,
          onclick: (e) => { e.preventDefault(); jump(link); } }, `checks step #${link}`) : null,
        isProt ? h("span", { class: "prot", title: "never pruned: first step or states the final answer" }, "protected") : null,
        h("span", { class: "gone" }));
      const div = h("div", { class: `step${code > 0 ? " functional" : ""}${isProt ? " protected" : ""}`, id: `s-${i}`,
                             "data-step": i, "data-kind": kind, "data-unit": unit ?? "", style: { "--kc": S.kindColours[kind] } },
        meta, h("div", { class: "txt" }, h("span", { class: "ws" }, lead), MathText.nodes(core), h("span", { class: "ws" }, trail)));
      if (link !== null && code > 0) {
        div.addEventListener("mouseenter", () => $(`#s-${link}`)?.classList.add("target"));
        div.addEventListener("mouseleave", () => $(`#s-${link}`)?.classList.remove("target"));
      }
      box.append(div);
    });
    view.append(box);
    strike();
  }

  function jump(i) {
    const node = $(`#s-${i}`);
    if (!node) return;
    node.scrollIntoView({ block: "center" });
    node.classList.remove("flash");
    void node.offsetWidth;
    node.classList.add("flash");
  }

  /** Strike the units the chosen ratio removed (computed in Python with refine's own pruning function). */
  function strike() {
    const run = D.refine[V.run], c = V.chain;
    const tag = V.ratio ? run.ratio_tags[V.ratio - 1] : null;
    const gone = new Set(tag ? c.removed[tag] || [] : []);
    let tokGone = 0, tokAll = 0;
    const kinds = {};
    c.steps.forEach((s, i) => {
      const node = document.getElementById(`s-${i}`);
      const off = s[3] !== null && gone.has(s[3]);
      node.classList.toggle("removed", off);
      node.querySelector(".gone").textContent = off ? `removed at ${run.ratios[V.ratio - 1]}` : "";
      tokAll += s[6] || 0;
      if (off) { tokGone += s[6] || 0; kinds[s[1]] = kinds[s[1]] || new Set(); kinds[s[1]].add(s[3]); }
    });
    const by = Object.entries(kinds).map(([k, u]) => `${u.size} ${S.kindLabels[S.kinds[k]]}`).join(", ");
    $("#ratio-effect").textContent = !tag ? "the original chain" : gone.size === 0 ? `ratio ${run.ratios[V.ratio - 1]}: nothing removed from this chain` :
      `ratio ${run.ratios[V.ratio - 1]}: ${gone.size} unit${gone.size > 1 ? "s" : ""} removed (${by}), ` +
      `${num(tokGone)} of ${num(tokAll)} tokens (${pct(tokAll ? tokGone / tokAll : 0)})`;
  }

  /* ---------------------------------------------------------------- train / curate */
  function kv(obj) {
    const dl = h("dl", { class: "kv" });
    for (const [k, v] of Object.entries(obj)) {
      if (v === null || typeof v === "object") continue;
      dl.append(h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, typeof v === "number" ? num(v, Number.isInteger(v) ? 0 : 4) : String(v)));
    }
    return dl;
  }

  function summaryCards(items) {
    return h("div", { class: "grid2" }, items.map((it) => h("div", { class: "card" },
      h("h3", { style: { margin: "0 0 6px", fontSize: "14.5px" } }, it.name, " ", h("span", { class: "note mono" }, it.path)),
      kv(it.summary),
      Object.entries(it.summary).filter(([, v]) => v && typeof v === "object" && !Array.isArray(v)).map(([k, v]) =>
        h("div", { style: { marginTop: "8px" } }, h("b", {}, k.replace(/_/g, " ")), kv(v))),
      it.rows_n !== undefined ? h("p", { class: "note" }, `${num(it.rows_n)} audit rows`) : null,
      Object.entries(it.categorical || {}).map(([field, counts]) => h("div", { style: { marginTop: "8px" } },
        h("b", {}, `${field} (audit)`), kv(counts))))));
  }

  /* ---------------------------------------------------------------- page */
  function section(id, title, lede, ...body) {
    return h("section", { class: "part", id }, h("h2", {}, title), lede ? h("p", { class: "lede" }, lede) : null, ...body);
  }

  async function main() {
    const main = $("main");
    const nav = $("nav.sections");
    const add = (id, label, node) => { main.append(node); nav.append(h("a", { href: `#${id}` }, label)); };
    if (D.refine.length) {
      const pick = D.refine.length > 1 ? h("select", { id: "refine-run", onchange: (e) => switchRun(+e.target.value) },
        D.refine.map((r, i) => h("option", { value: i }, r.name))) : null;
      add("refine", "Refinement", section("refine", "PIR refinement",
        "How the chains were split into step kinds, how PIR scored the functional units, and what each pruning ratio removed.",
        pick ? h("div", { class: "toolbar" }, "refine output", pick) : null, h("div", { id: "refine-slot" })));
      add("chains", "Chain viewer", section("chains", "Chain viewer",
        "Every step in order, coloured by type. Functional steps carry their unit's PIR and the progressive step they check; " +
        "move the ratio to strike through exactly what that refined file removed.", h("div", { id: "viewer-slot" })));
    }
    if (D.eval) add("eval", "Evaluation", section("eval", "Evaluation", "Accuracy and token cost per run and benchmark.",
      TrainView.withPaperTable(EvalView.section(D.eval), D.eval)));
    if (D.train.length) add("train", "Training", section("train", "Training", null, TrainView.lossCurves(D.train), summaryCards(D.train)));
    if (D.curate.length) add("curate", "Curation", section("curate", "Curation", null, TrainView.funnels(D.curate), summaryCards(D.curate)));
    if (D.refine.length) await switchRun(0);
    window.ttReady = performance.now();
    document.body.dataset.ready = "1";
  }

  async function switchRun(i) {
    V.run = i; V.ratio = 0; V.filter = "";
    const run = D.refine[i];
    $("#refine-slot").replaceChildren(refineSummary(run));
    $("#viewer-slot").replaceChildren(viewerShell(run));
    fillList();
    const hash = new URLSearchParams(location.hash.slice(1)).get("chain");
    const first = run.index.ids.includes(hash) ? hash : run.index.ids[run.index.status.indexOf("scored")] ?? run.index.ids[0];
    if (first !== undefined) await showChain(first);
  }

  window.tt = { showChain, unpack, data: D };
  main().catch((e) => { console.error(e); document.body.dataset.ready = "error"; });
})();
