/* thinktrim report, evaluation part: runs and their settings, ACC/TOK/EFF/AES per run and benchmark, the
   accuracy-vs-tokens scatter, accuracy by length quartile, answer sources, and the per-question drill-down. */
"use strict";
const EvalView = (() => {
  const { pct, num, sci, signed, h, table, chart, unpack } = UI;

  function evalSection(E) {
    const root = h("div", { id: "eval-body" });
    const runCols = [{ label: "run", left: true, get: (r) => h("span", {}, h("i", { class: "sw", style: { display: "inline-block",
      width: "10px", height: "10px", borderRadius: "50%", background: r.colour, marginRight: "6px" } }), r.name) },
      { label: "model", left: true, get: (r) => r.model }, { label: "backend", left: true, get: (r) => r.backend },
      { label: "T", get: (r) => r.temperature }, { label: "top-p", get: (r) => r.top_p },
      { label: "max new tokens", get: (r) => num(r.max_new_tokens) }, { label: "n", get: (r) => r.n },
      { label: "folder", left: true, get: (r) => h("span", { class: "mono" }, r.path) }];
    root.append(h("div", { class: "card" }, table(runCols, E.runs)));
    const notes = E.runs.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`));
    if (notes.length) root.append(h("ul", { class: "notes" }, notes.map((n) => h("li", {}, n))));
    const cols = [{ label: "run", left: true, get: (r) => r.run }, { label: "benchmark", left: true, get: (r) => r.benchmark },
      { label: "Q", get: (r) => num(r.questions) }, { label: "n", get: (r) => r.n },
      { label: "ACC", title: "mean accuracy over the n samples (avg@n)", get: (r) => pct(r.acc) },
      { label: "pass@n", get: (r) => pct(r.pass_n) }, { label: "maj@n", get: (r) => pct(r.maj_n) },
      { label: "TOK", title: "mean output tokens", get: (r) => num(r.tokens, 1) },
      { label: "EFF", title: "ACC / TOK", get: (r) => sci(r.eff) },
      { label: "truncated", get: (r) => pct(r.truncated) }, { label: "no answer", get: (r) => pct(r.no_answer) },
      { label: `AES vs ${E.baseline}`, title: "O1-Pruner's accuracy-efficiency score (α=1, β=3, γ=5)",
        get: (r) => (r.is_baseline ? "baseline" : signed(r.aes)) }];
    root.append(h("div", { class: "card", style: { marginTop: "14px" } }, table(cols, E.rows.map((r) =>
      Object.assign({ _cls: r.is_baseline ? "base" : null }, r))),
      h("p", { class: "note" }, "ACC = mean accuracy over the n samples per question (avg@n, the papers' pass@1); TOK = mean " +
        "output tokens; EFF = ACC/TOK; truncated = hit the token limit; AES against the baseline row, on the same benchmark " +
        "and questions only (– where the baseline's accuracy is 0: AES divides by it).")));
    const grid = h("div", { class: "grid2" });
    root.append(grid);
    grid.append(chart("Accuracy against output tokens", "One point per run (all benchmarks pooled). Dashed rays: equal " +
      "efficiency EFF = ACC / TOK; up and to the left is better.", (box) => {
      box.id = "eval-scatter";
      Charts.scatter(box, E.scatter, { iso: E.iso_eff, xFmt: (v) => num(v), yFmt: (v) => `${Math.round(100 * v)} %`, xLabel: "mean output tokens (TOK)",
        yLabel: "accuracy (ACC)", label: "accuracy against tokens" });
    }));
    const withQ = E.runs.filter((r) => (E.quartiles[r.name] || []).length);
    if (withQ.length) grid.append(chart("Accuracy by output-length quartile", "Samples of each run ranked by length: " +
      "Q1 is the shortest quarter. Long outputs that fail are overthinking or loops.", (box) => {
      Charts.legend(box, withQ.map((r) => ({ label: r.name, colour: r.colour })));
      Charts.grouped(box, ["Q1 (shortest)", "Q2", "Q3", "Q4 (longest)"], withQ.map((r) => ({ label: r.name, colour: r.colour,
        values: [1, 2, 3, 4].map((q) => (E.quartiles[r.name].find((x) => x.q === q) || { acc: null }).acc) })),
      { yFmt: (v) => `${Math.round(100 * v)} %`, yLabel: "accuracy", yMax: 1, valueLabels: true,
        label: "accuracy by length quartile" });
    }));
    const srcRuns = Object.keys(E.sources);
    if (srcRuns.length) {
      const keys = [...new Set(srcRuns.flatMap((r) => Object.keys(E.sources[r])))];
      root.append(h("div", { class: "card", style: { marginTop: "14px" } }, h("h3", { style: { margin: "0 0 6px", fontSize: "14.5px" } },
        "Where the graded answers came from"), table([{ label: "run", left: true, get: (r) => r }].concat(
        keys.map((k) => ({ label: k, get: (r) => num(E.sources[r][k] || 0) }))), srcRuns)));
    }
    root.append(drillShell(E));
    return root;
  }

  function drillShell(E) {
    const runSel = h("select", { id: "drill-run" }, E.runs.map((r, i) => h("option", { value: i }, r.name)));
    const benchSel = h("select", { id: "drill-bench" });
    const out = h("div", { id: "drill-table" });
    const fillBench = () => {
      benchSel.textContent = "";
      for (const b of Object.keys(E.drill[runSel.value] || {})) benchSel.append(h("option", { value: b }, b));
      drill(E, +runSel.value, benchSel.value, out);
    };
    runSel.addEventListener("change", fillBench);
    benchSel.addEventListener("change", () => drill(E, +runSel.value, benchSel.value, out));
    setTimeout(fillBench, 0);
    return h("div", { class: "card", style: { marginTop: "14px" } },
      h("h3", { style: { margin: "0 0 8px", fontSize: "14.5px" } }, "Per question"),
      h("div", { class: "toolbar" }, "run", runSel, "benchmark", benchSel, h("span", { class: "note", style: { margin: 0 } },
        "click a question for its samples")), out);
  }

  async function drill(E, run, bench, out) {
    out.textContent = "";
    const id = (E.drill[run] || {})[bench];
    if (!id) { out.append(h("p", { class: "note" }, "no graded samples for this benchmark")); return; }
    const qs = await unpack(id);
    const mean = (q) => q.samples.reduce((a, s) => a + (s.tokens || 0), 0) / Math.max(1, q.samples.length);
    out.append(table([
      { label: "question", left: true, get: (q) => h("span", { class: "mono" }, q.id) },
      { label: "gold", left: true, get: (q) => h("span", { class: "mono" }, q.gold ?? "–") },
      { label: "correct", get: (q) => { const k = q.samples.filter((s) => s.correct).length;
        return h("span", { class: k ? "yes" : "no" }, `${k} / ${q.samples.length}`); } },
      { label: "answers", left: true, get: (q) => h("span", { class: "mono" }, q.samples.map((s) => s.extracted ?? "∅").join(" · ")) },
      { label: "mean tokens", get: (q) => num(mean(q), 1) }], qs, { onRow: (q, tr) => toggleQuestion(q, tr) }));
  }

  function toggleQuestion(q, tr) {
    const next = tr.nextElementSibling;
    if (next && next.classList.contains("qdetail")) { next.remove(); return; }
    const samples = table([{ label: "sample", get: (s) => s.sample },
      { label: "extracted", left: true, get: (s) => h("span", { class: "mono" }, s.extracted ?? "none") },
      { label: "source", left: true, get: (s) => s.source ?? "–" },
      { label: "correct", get: (s) => h("span", { class: s.correct ? "yes" : "no" }, s.correct ? "✓ yes" : "✗ no") },
      { label: "tokens", get: (s) => num(s.tokens) }, { label: "truncated", get: (s) => (s.truncated ? "yes" : "") },
      { label: "grading", left: true, get: (s) => s.reason ?? "" },
      { label: "end of the response", left: true, get: (s) => (s.tail ? h("pre", {}, MathText.nodes(s.tail)) : "–") }], q.samples);
    tr.after(h("tr", { class: "qdetail" }, h("td", { colspan: 5 },
      q.question ? h("div", { class: "qtext" }, MathText.toggle(), MathText.nodes(q.question)) : null, samples)));
  }

  return { section: evalSection };
})();
