/* thinktrim report: loss curves of train runs (several on one chart), curate's funnel (problems in and out per
   step, drops by reason), and the papers' comparison table beside the eval charts. */
"use strict";
const TrainView = (() => {
  const { num, sci, h, table, chart } = UI;

  /** One chart with every train run's loss against its optimizer step, and a table telling the runs apart. */
  function lossCurves(parts) {
    const runs = parts.map((p) => p.curve).filter((c) => c && c.points.length);
    if (!runs.length) return null;
    const root = h("div", { id: "train-curves", class: "grid2" });
    const many = runs.some((c) => c.points.length > 60);
    root.append(chart("Training loss", "Loss at each logged optimizer step (train.json's log). Runs of the same recipe " +
      "on different data (original vs refined) side by side.", (box) => {
      box.id = "train-loss";
      Charts.legend(box, runs.map((c) => ({ label: c.name, colour: c.colour })));
      Charts.lines(box, runs.map((c) => ({ label: c.name, points: c.points, colour: c.colour, dots: !many })),
        { xFmt: (v) => num(v), yFmt: (v) => String(+v.toFixed(3)), xLabel: "optimizer step",
          yLabel: "loss", yZero: false, label: "training loss by step" });
    }));
    const cols = [{ label: "run", left: true, get: (c) => h("span", { style: { whiteSpace: "nowrap" } }, h("i", { class: "sw", style: { display: "inline-block",
      width: "10px", height: "10px", borderRadius: "50%", background: c.colour, marginRight: "6px" } }), c.name) },
      { label: "data", left: true, get: (c) => c.data.join(", ") || "–" },
      { label: "recipe", left: true, get: (c) => h("span", { style: { whiteSpace: "nowrap" } },
        `${c.recipe || "–"}${c.lora ? " + LoRA" : ""}, lr ${sci(c.learning_rate)}`) },
      { label: "steps", get: (c) => num(c.steps) },
      { label: "final loss", get: (c) => num(c.final_loss, 4) }, { label: "tokens/s", title: "mean over the logged steps",
        get: (c) => num(c.tokens_per_second, 1) }];
    root.append(h("div", { class: "card" }, h("h3", { style: { margin: "0 0 6px", fontSize: "14.5px" } }, "Runs"),
      table(cols, runs)));
    return root;
  }

  /** Per curate run: problems in and out of each step as bars, and the drops by reason as a table. */
  function funnels(parts) {
    const runs = parts.filter((p) => (p.funnel || []).length);
    if (!runs.length) return null;
    const root = h("div", { class: "grid2", id: "curate-funnels" });
    for (const p of runs) {
      root.append(chart(`Curation funnel: ${p.name}`, "Problems into and out of each step, in the order they ran (read: records in, " +
        "problems out, the chains of one problem grouped). Below: what each step dropped, by reason.", (box) => {
        box.classList.add("curate-funnel");
        Charts.legend(box, [{ label: "in", colour: "#9aa2b0" }, { label: "out (kept)", colour: "#0072B2" }]);
        Charts.grouped(box, p.funnel.map((s) => s.step), [
          { label: "in", colour: "#9aa2b0", values: p.funnel.map((s) => s.in) },
          { label: "out (kept)", colour: "#0072B2", values: p.funnel.map((s) => s.out) }],
        { yFmt: (v) => num(v), yLabel: "problems", valueLabels: true, label: `curation funnel of ${p.name}` });
        const drops = p.funnel.flatMap((s) => Object.entries(s.dropped).map(([reason, n]) => ({ step: s.step, reason, n })));
        box.append(drops.length ? table([{ label: "step", left: true, get: (r) => r.step },
          { label: "dropped because", left: true, get: (r) => r.reason }, { label: "problems", get: (r) => num(r.n) }], drops)
          : h("p", { class: "note" }, "no step dropped a problem"));
      }));
    }
    return root;
  }

  /** The papers' table (as `thinktrim eval compare` prints it) put in the eval part, before its charts. */
  function withPaperTable(evalRoot, E) {
    const T = E.paper_table;
    if (!T) return evalRoot;
    const head1 = h("tr", {}, h("th", { class: "l", rowspan: 2 }, "run"),
      T.columns.map((c) => h("th", { colspan: 4, class: "bench", style: { textAlign: "center" } }, c)));
    const head2 = h("tr", {}, T.columns.flatMap(() => ["ACC", "TOK", "EFF", "AES"].map((k) => h("th", { style: { textAlign: "right" } }, k))));
    const body = h("tbody", {}, T.rows.map((r, i) => h("tr", { class: i === 0 ? "base" : null },
      h("td", { class: "l" }, r.run),
      r.cells.flatMap((cell) => cell.map((t) => h("td", { style: { whiteSpace: "nowrap" } }, t))))));
    // caption and warnings as `thinktrim eval compare` prints them (no Average named when there is no Average row)
    const card = h("div", { class: "card", id: "paper-table", style: { marginTop: "14px" } },
      h("h3", { style: { margin: "0 0 6px", fontSize: "14.5px" } }, `Comparison against ${T.base} (the papers' table)`),
      T.notes.length ? h("ul", { class: "notes" }, T.notes.map((n) => h("li", {}, n))) : null,
      T.rows.length ? h("div", { class: "tbl-wrap" }, h("table", { class: "data" }, h("thead", {}, head1, head2), body)) : null,
      T.caption ? h("p", { class: "note" }, `As thinktrim eval compare prints it. ${T.caption}`) : null);
    const charts = evalRoot.querySelector(".grid2");
    evalRoot.insertBefore(card, charts);
    return evalRoot;
  }

  return { lossCurves, funnels, withPaperTable };
})();
