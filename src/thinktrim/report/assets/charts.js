/* Small SVG charts for the thinktrim report: axes with nice ticks, stacked and grouped bars, lines, box plots,
   a scatter with iso-efficiency rays. Each function draws into a container element and returns its <svg>. */
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, parent, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function tip(node, text) { el("title", {}, node, text); return node; }

  function niceStep(span, n) {
    const raw = span / Math.max(1, n);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }

  function ticks(lo, hi, n) {
    if (!(hi > lo)) hi = lo + 1;
    const step = niceStep(hi - lo, n || 5);
    const out = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(12));
    return out;
  }

  /** A domain rounded out to nice ticks; `zero` forces 0 inside it. */
  function niceDomain(values, zero, n) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (zero) { lo = Math.min(0, lo); hi = Math.max(0, hi); }
    if (!(hi > lo)) { hi = lo === 0 ? 1 : lo + Math.abs(lo) * 0.5; if (!zero) lo -= Math.abs(lo) * 0.5; }
    const step = niceStep(hi - lo, n || 5);
    return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
  }

  function scale(d0, d1, r0, r1) {
    const f = (v) => r0 + ((v - d0) / (d1 - d0 || 1)) * (r1 - r0);
    f.domain = [d0, d1];
    return f;
  }

  function frame(container, opts) {
    const W = opts.width || 560, H = opts.height || 300;
    const m = Object.assign({ top: 12, right: 18, bottom: 42, left: 54 }, opts.margin || {});
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label || "" }, container);
    const g = el("g", { transform: `translate(${m.left},${m.top})` }, svg);
    return { svg, g, w: W - m.left - m.right, h: H - m.top - m.bottom, m };
  }

  function axisX(f, x, values, fmt, label) {
    const a = el("g", { class: "axis", transform: `translate(0,${f.h})` }, f.g);
    el("line", { x1: 0, x2: f.w, y1: 0, y2: 0 }, a);
    for (const v of values) {
      el("line", { x1: x(v), x2: x(v), y1: 0, y2: 4 }, a);
      el("text", { x: x(v), y: 17, "text-anchor": "middle" }, a, fmt(v));
    }
    if (label) el("text", { x: f.w / 2, y: 35, "text-anchor": "middle", class: "title" }, a, label);
  }

  function axisY(f, y, values, fmt, label) {
    const grid = el("g", { class: "grid" }, f.g);
    const a = el("g", { class: "axis" }, f.g);
    for (const v of values) {
      el("line", { x1: 0, x2: f.w, y1: y(v), y2: y(v) }, grid);
      el("text", { x: -7, y: y(v) + 4, "text-anchor": "end" }, a, fmt(v));
    }
    el("line", { x1: 0, x2: 0, y1: 0, y2: f.h }, a);
    if (label) el("text", { transform: `translate(${-f.m.left + 13},${f.h / 2}) rotate(-90)`, "text-anchor": "middle",
                            class: "title" }, a, label);
  }

  /** Rows of 100 % stacked horizontal bars: rows [{label, values: {key: fraction}, note}], keys, colours. */
  function stacked(container, rows, keys, colours, labels, opts) {
    const rowH = 36, gap = 16;
    const f = frame(container, { width: 560, height: 40 + rows.length * (rowH + gap), label: opts.label,
                                 margin: { left: 120, right: 14, top: 6, bottom: 32 } });
    const x = scale(0, 1, 0, f.w);
    axisX(f, x, [0, 0.25, 0.5, 0.75, 1], (v) => `${Math.round(v * 100)} %`);
    rows.forEach((row, i) => {
      const y0 = i * (rowH + gap) + 4;
      el("text", { x: -10, y: y0 + rowH / 2 + 4, "text-anchor": "end", class: "lbl",
                   "font-weight": row.strong ? 600 : 400 }, f.g, row.label);
      let acc = 0;
      for (const k of keys) {
        const v = row.values[k] || 0;
        const r = el("rect", { x: x(acc), y: y0, width: Math.max(0, x(acc + v) - x(acc)), height: rowH,
                               fill: colours[k], opacity: row.strong ? 1 : 0.78, stroke: "#fff", "stroke-width": 1 }, f.g);
        tip(r, `${row.label} · ${labels[k]}: ${(100 * v).toFixed(1)} %`);
        if (x(acc + v) - x(acc) > 34)
          el("text", { x: x(acc + v / 2), y: y0 + rowH / 2 + 4, "text-anchor": "middle", fill: "#fff",
                       style: "fill:#fff;font-size:11.5px;font-weight:600" }, f.g, `${(100 * v).toFixed(1)}`);
        acc += v;
      }
      if (i === 0 && rows.length > 1)
        el("line", { x1: -110, x2: f.w, y1: y0 + rowH + gap / 2, y2: y0 + rowH + gap / 2, stroke: "#c9ced6",
                     "stroke-dasharray": "3 3" }, f.g);
    });
    return f.svg;
  }

  /** Lines with points: series [{label, points: [[x, y]], colour, dashed, labels}]. */
  function lines(container, series, opts) {
    const f = frame(container, { label: opts.label });
    const xs = series.flatMap((s) => s.points.map((p) => p[0])).concat(opts.xMin ?? [], opts.xMax ?? []);
    const ys = series.flatMap((s) => s.points.map((p) => p[1]));
    const [x0, x1] = niceDomain(xs, true, 6);
    const [y0, y1] = opts.yZero === false ? niceDomain(ys, false, 5) : niceDomain(ys.concat(0), true, 5);  // loss: no 0
    const x = scale(x0, x1, 0, f.w), y = scale(y0, y1, f.h, 0);
    axisY(f, y, ticks(y0, y1, 5), opts.yFmt, opts.yLabel);
    axisX(f, x, ticks(x0, x1, 6), opts.xFmt, opts.xLabel);
    for (const s of series) {
      const pts = [...s.points].sort((a, b) => a[0] - b[0]);
      const d = pts.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
      el("path", { d: (s.fromOrigin ? `M${x(0)},${y(0)}L` + d.slice(1) : d), fill: "none", stroke: s.colour,
                   "stroke-width": s.dashed ? 1.6 : 2.4, "stroke-dasharray": s.dashed ? "5 4" : null }, f.g);
      for (const p of (s.dots === false ? [] : pts)) {  // dots: false for long series (loss curves)
        const c = el("circle", { cx: x(p[0]), cy: y(p[1]), r: s.dashed ? 3 : 4.5, fill: s.dashed ? "#fff" : s.colour,
                                 stroke: s.colour, "stroke-width": 1.6 }, f.g);
        tip(c, `${s.label}: ${opts.xFmt(p[0])} → ${opts.yFmt(p[1])}`);
        if (s.labels) el("text", { x: x(p[0]), y: y(p[1]) - 9, "text-anchor": "middle", class: "lbl",
                                   "font-weight": 600 }, f.g, (opts.labelFmt || opts.yFmt)(p[1]));
      }
    }
    return f.svg;
  }

  /** Grouped vertical bars: groups [label], series [{label, colour, values: [v], totals?: [v]}]. */
  function grouped(container, groups, series, opts) {
    const f = frame(container, { label: opts.label });
    const all = series.flatMap((s) => s.values.concat(s.totals || [])).filter((v) => v !== null);
    const [y0, y1] = niceDomain(all.concat(0, opts.yMin ?? 0, opts.yMax ?? 0), true, 5);
    const y = scale(y0, y1, f.h, 0);
    axisY(f, y, ticks(y0, y1, 5), opts.yFmt, opts.yLabel);
    const gw = f.w / groups.length, inner = gw * 0.78, bw = inner / series.length;
    const a = el("g", { class: "axis", transform: `translate(0,${f.h})` }, f.g);
    el("line", { x1: 0, x2: f.w, y1: 0, y2: 0 }, a);
    groups.forEach((gl, gi) => {
      el("text", { x: gi * gw + gw / 2, y: 17, "text-anchor": "middle" }, a, gl);
      series.forEach((s, si) => {
        const bx = gi * gw + (gw - inner) / 2 + si * bw + 1.5;
        const total = s.totals ? s.totals[gi] : null, v = s.values[gi];
        if (total !== null && total !== undefined)
          el("rect", { x: bx, y: y(total), width: bw - 3, height: y(0) - y(total), fill: "none", stroke: s.colour,
                       "stroke-dasharray": "3 2", "stroke-width": 1.3 }, f.g);
        if (v === null || v === undefined) return;
        const hgt = Math.max(1.5, Math.abs(y(0) - y(v)));  // a zero stays visible as a line
        const r = el("rect", { x: bx, y: Math.min(y(Math.max(0, v)), y(0) - hgt), width: bw - 3, height: hgt, fill: s.colour }, f.g);
        tip(r, `${s.label} · ${gl}: ${opts.yFmt(v)}${total != null ? ` of ${opts.yFmt(total)}` : ""}`);
        if (opts.valueLabels && bw > 30)
          el("text", { x: bx + (bw - 3) / 2, y: y(Math.max(0, v)) - 4, "text-anchor": "middle",
                       style: "font-size:11px" }, f.g, opts.yFmt(v));
      });
    });
    if (opts.xLabel) el("text", { x: f.w / 2, y: 35, "text-anchor": "middle", class: "title" }, a, opts.xLabel);
    return f.svg;
  }

  /** Horizontal box plots with the values as jittered dots: rows [{label, colour, quantiles, points, n}]. */
  function boxes(container, rows, opts) {
    const rowH = 54;
    const f = frame(container, { height: 50 + rows.length * rowH, label: opts.label,
                                 margin: { left: 120, right: 18, top: 8, bottom: 40 } });
    const vals = rows.flatMap((r) => (r.quantiles ? [r.quantiles[0], r.quantiles[4]] : []));
    const [x0, x1] = niceDomain(vals.length ? vals.concat(0) : [0, 1], true, 6);
    const x = scale(x0, x1, 0, f.w);
    const grid = el("g", { class: "grid" }, f.g);
    for (const t of ticks(x0, x1, 6)) el("line", { x1: x(t), x2: x(t), y1: 0, y2: f.h }, grid);
    axisX(f, x, ticks(x0, x1, 6), opts.xFmt, opts.xLabel);
    el("line", { x1: x(0), x2: x(0), y1: -4, y2: f.h, stroke: "#1d2330", "stroke-width": 1, "stroke-dasharray": "2 3" }, f.g);
    rows.forEach((r, i) => {
      const cy = i * rowH + rowH / 2 + 2;
      el("text", { x: -10, y: cy - 2, "text-anchor": "end", class: "lbl", "font-weight": 600 }, f.g, r.label);
      el("text", { x: -10, y: cy + 13, "text-anchor": "end", class: "title" }, f.g, `${r.n} unit${r.n === 1 ? "" : "s"}`);
      if (!r.quantiles) return;
      const [mn, q1, md, q3, mx] = r.quantiles;
      (r.points || []).forEach((p, j) => {
        const jitter = (((j * 7919) % 97) / 97 - 0.5) * 26;
        el("circle", { cx: x(p), cy: cy + jitter, r: 2.2, fill: r.colour, "fill-opacity": 0.45 }, f.g);
      });
      el("line", { x1: x(mn), x2: x(mx), y1: cy, y2: cy, stroke: "#1d2330", "stroke-width": 1.2 }, f.g);
      for (const v of [mn, mx]) el("line", { x1: x(v), x2: x(v), y1: cy - 6, y2: cy + 6, stroke: "#1d2330" }, f.g);
      const b = el("rect", { x: x(q1), y: cy - 11, width: Math.max(1, x(q3) - x(q1)), height: 22, fill: r.colour,
                             "fill-opacity": 0.35, stroke: "#1d2330", "stroke-width": 1.2 }, f.g);
      tip(b, `${r.label}: n=${r.n}, min ${opts.xFmt(mn)}, q1 ${opts.xFmt(q1)}, median ${opts.xFmt(md)}, ` +
             `q3 ${opts.xFmt(q3)}, max ${opts.xFmt(mx)}`);
      el("line", { x1: x(md), x2: x(md), y1: cy - 11, y2: cy + 11, stroke: "#1d2330", "stroke-width": 2.4 }, f.g);
    });
    return f.svg;
  }

  /** Accuracy against mean tokens, one point per run, with rays of equal EFF = ACC / TOK (opts.iso) from 0. */
  function scatter(container, points, opts) {
    const f = frame(container, { height: 340, label: opts.label, margin: { right: 26 } });
    const [, x1] = niceDomain(points.map((p) => p.x * 1.12).concat(1), true, 6);
    const y1 = Math.min(1, niceDomain(points.map((p) => p.y * 1.15).concat(0.1), true, 5)[1]);
    const x = scale(0, x1, 0, f.w), y = scale(0, y1, f.h, 0);
    axisY(f, y, ticks(0, y1, 5), opts.yFmt, opts.yLabel);
    axisX(f, x, ticks(0, x1, 6), opts.xFmt, opts.xLabel);
    const iso = el("g", { class: "iso" }, f.g);
    for (const e of opts.iso) {
      const xe = Math.min(x1, y1 / e), ye = e * xe;  // where the ray leaves the plot
      el("line", { x1: x(0), y1: y(0), x2: x(xe), y2: y(ye), stroke: "#9aa2b0", "stroke-dasharray": "4 4",
                   "stroke-width": 1 }, iso);
      const lx = xe >= x1 ? x(xe) - 4 : x(xe) + 3, ly = xe >= x1 ? y(ye) - 5 : y(ye) + 11;
      el("text", { x: lx, y: ly, "text-anchor": xe >= x1 ? "end" : "start", style: "font-size:10.5px;fill:#8a93a3" },
         iso, `EFF ${e.toExponential(0).replace("e-", "e−")}`);
    }
    const taken = [];
    for (const p of points) {
      const c = el("circle", { cx: x(p.x), cy: y(p.y), r: 7, fill: p.colour, stroke: "#fff", "stroke-width": 1.5,
                               class: "run-point", "data-run": p.run }, f.g);
      tip(c, `${p.run}: ACC ${opts.yFmt(p.y)}, TOK ${opts.xFmt(p.x)}, EFF ${(p.y / p.x).toExponential(2)}`);
      let ly = y(p.y) > 24 ? y(p.y) - 11 : y(p.y) + 20;
      while (taken.some((t) => Math.abs(t[0] - x(p.x)) < 120 && Math.abs(t[1] - ly) < 14)) ly -= 14;
      taken.push([x(p.x), ly]);
      const right = x(p.x) < f.w * 0.7;
      el("text", { x: x(p.x) + (right ? 6 : -6), y: ly, "text-anchor": right ? "start" : "end", class: "lbl",
                   "font-weight": 600 }, f.g, p.run);
    }
    return f.svg;
  }

  function legend(container, items) {
    const div = document.createElement("div");
    div.className = "legend";
    for (const it of items) {
      const span = document.createElement("span");
      const sw = document.createElement("i");
      sw.className = "sw" + (it.dashed ? " dash" : "");
      if (!it.dashed) sw.style.background = it.colour;
      else sw.style.borderTopColor = it.colour;
      span.append(sw, it.label);
      div.appendChild(span);
    }
    container.appendChild(div);
    return div;
  }

  return { stacked, lines, grouped, boxes, scatter, legend, ticks, niceDomain };
})();
