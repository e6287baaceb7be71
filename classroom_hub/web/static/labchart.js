"use strict";
// A line chart drawn on a <canvas>, no library: the lab page, the teacher's experiment card and
// the tablets' data share all use it. Series are [t, value] points; several series overlay runs.
// chart.set({series: [{label, points, color}], unit, fit: {slope, intercept, from, to}, notes: [{t, text}],
//            range: [from, to]}) then it redraws itself (at most once a frame).
class LabChart {
  static COLORS = ["#0b57d0", "#b3261e", "#137333", "#b06000", "#7b1fa2", "#00796b", "#5d4037", "#455a64"];

  constructor(canvas, options = {}) {
    this.canvas = canvas;
    this.options = { xLabel: "t (s)", window: null, ...options };
    this.data = { series: [], unit: "", fit: null, notes: [], range: null };
    this.queued = false;
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  set(data) {
    Object.assign(this.data, data);
    this.redraw();
  }

  redraw() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => { this.queued = false; this.draw(); });
  }

  bounds() {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of this.data.series) {
      for (const [t, v] of s.points) {
        if (v == null) continue;
        if (t < x0) x0 = t; if (t > x1) x1 = t;
        if (v < y0) y0 = v; if (v > y1) y1 = v;
      }
    }
    if (!isFinite(x0)) return null;
    if (this.options.window && x1 - x0 > this.options.window) x0 = x1 - this.options.window;
    if (x1 === x0) x1 = x0 + 1;
    const pad = (y1 - y0) * 0.08 || Math.abs(y0) * 0.05 || 1;
    return { x0, x1, y0: y0 - pad, y1: y1 + pad };
  }

  static ticks(lo, hi, count) {
    const step0 = (hi - lo) / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= step0) || step0;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
    return out;
  }

  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 600, h = c.clientHeight || 260;
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = "12px sans-serif";
    const b = this.bounds();
    const left = 52, right = 12, top = 12, bottom = 34;
    const pw = w - left - right, ph = h - top - bottom;
    g.strokeStyle = "#d9dde3"; g.fillStyle = "#5b6470";
    g.strokeRect(left, top, pw, ph);
    if (!b) {
      const empty = typeof this.options.empty === "function" ? this.options.empty() : this.options.empty;
      g.fillText(empty || "–", left + 10, top + 20);
      return;
    }
    const X = t => left + (t - b.x0) / (b.x1 - b.x0) * pw;
    const Y = v => top + ph - (v - b.y0) / (b.y1 - b.y0) * ph;
    g.textAlign = "center";
    for (const t of LabChart.ticks(b.x0, b.x1, 6)) {
      g.beginPath(); g.moveTo(X(t), top); g.lineTo(X(t), top + ph); g.stroke();
      g.fillText(String(t), X(t), top + ph + 14);
    }
    g.fillText(this.options.xLabel, left + pw / 2, h - 4);
    g.textAlign = "right";
    for (const v of LabChart.ticks(b.y0, b.y1, 5)) {
      g.beginPath(); g.moveTo(left, Y(v)); g.lineTo(left + pw, Y(v)); g.stroke();
      g.fillText(String(v), left - 4, Y(v) + 4);
    }
    if (this.data.range) {
      const [a, z] = this.data.range;
      g.fillStyle = "rgba(11, 87, 208, 0.08)";
      g.fillRect(X(Math.max(a, b.x0)), top, X(Math.min(z, b.x1)) - X(Math.max(a, b.x0)), ph);
    }
    g.save();
    g.beginPath(); g.rect(left, top, pw, ph); g.clip();
    this.data.series.forEach((s, i) => {
      g.strokeStyle = s.color || LabChart.COLORS[i % LabChart.COLORS.length];
      g.lineWidth = 2;
      g.beginPath();
      let pen = false;
      for (const [t, v] of s.points) {
        if (v == null || t < b.x0) { pen = false; continue; }
        if (pen) g.lineTo(X(t), Y(v)); else g.moveTo(X(t), Y(v));
        pen = true;
      }
      g.stroke();
    });
    const fit = this.data.fit;
    if (fit && fit.slope != null) {
      g.strokeStyle = "#000"; g.setLineDash([6, 4]); g.lineWidth = 1.5;
      g.beginPath();
      g.moveTo(X(fit.from), Y(fit.slope * fit.from + fit.intercept));
      g.lineTo(X(fit.to), Y(fit.slope * fit.to + fit.intercept));
      g.stroke(); g.setLineDash([]);
    }
    g.fillStyle = "#b06000"; g.textAlign = "left";
    for (const note of this.data.notes || []) {
      g.beginPath(); g.arc(X(note.t), top + 8, 4, 0, 2 * Math.PI); g.fill();
      g.fillText(note.text, X(note.t) + 6, top + 12);
    }
    g.restore();
    g.textAlign = "left";
    let lx = left + 8;
    this.data.series.forEach((s, i) => {
      const label = s.label + (this.data.unit ? ` (${this.data.unit})` : "");
      g.fillStyle = s.color || LabChart.COLORS[i % LabChart.COLORS.length];
      g.fillRect(lx, top + ph - 16, 10, 10);
      g.fillStyle = "#1b1f24";
      g.fillText(label, lx + 14, top + ph - 7);
      lx += g.measureText(label).width + 30;
    });
  }
}
window.LabChart = LabChart;
