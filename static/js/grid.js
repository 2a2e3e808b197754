/* The planner's grid (issue 6): Tabulator for the spreadsheet, the server for every number.
 *
 * Each save sends the cells with the version the planner saw; the server saves all of
 * them or none (400 reasons per cell, 403, 409 frozen or stale with the current values)
 * and answers with the engine's recomputed rows. Nothing is computed here.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("grid-config").textContent);
  const gridEl = document.getElementById("grid");
  const statusEl = document.getElementById("grid-status");
  const errorEl = document.getElementById("grid-error");
  const INPUT_MEASURES = new Set([
    "demand", "production", "actual_sales", "opening_inventory", "available_hours",
    "non_productive_hours", "conversion_cost", "sustaining_cost",
  ]);
  const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  const THOUSANDS_RE = /^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$/;
  const FORMATS = {
    qty: new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 }),
    hours: new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }),
    money: new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }),
    days: new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
    pct: new Intl.NumberFormat("en-US", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }),
  };

  let table = null;
  let payload = null;
  let editable = config.editable;
  const meta = new Map(); // row id -> {versions, comments, flags, changed, editable:Set, errors, pending, conflicts}
  const queue = [];
  let busy = false;
  const undoStack = [];
  const saveTimes = []; // ms from sending a save to its answer applied (bench/bench_grid.py)
  const redoStack = [];
  let typedKey = null;
  // The open editor: the cell it was opened on (row id, field), its input and how to
  // commit it. Keys are routed through it by a capture-phase listener, so a value always
  // lands in the cell it was typed into, whatever happens to the table meanwhile.
  let editing = null;
  // Cells whose save failed: "rowId\tfield" -> {ch, reason}. They keep the typed value,
  // marked unsaved with the reason, until Retry or Discard.
  const unsaved = new Map();
  // Other scripts add to a cell's look here (assumptions.js: markers and tooltips):
  // cellInfo(rowData, field, ref) -> {marker, explains, tip} or null.
  const extensions = (window.sofpGridExtensions = window.sofpGridExtensions || { cellInfo: null });
  const editableMeasures = new Set(config.measures || []);
  const measureLabels = config.measureLabels || {};

  // ------------------------------------------------------------------ helpers

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function parseNumber(raw) {
    if (raw === null || raw === undefined) return { value: null };
    if (typeof raw === "number") return raw < 0 ? { error: "must not be negative" } : { value: raw };
    let text = String(raw).trim().replace(/[\s\u00a0\u202f'_]/g, "");
    if (text === "") return { value: null };
    if (text.includes(",")) {
      // Commas only between thousands: "1234,5" (a decimal comma) must never become 12345.
      if (!THOUSANDS_RE.test(text)) return { error: `“${String(raw).trim().slice(0, 40)}”: use a dot for decimals and commas only between thousands (1,234.5)` };
      text = text.replace(/,/g, "");
    }
    if (!NUMBER_RE.test(text)) return { error: `“${String(raw).trim().slice(0, 40)}” is not a number` };
    const value = Number(text);
    if (!Number.isFinite(value)) return { error: `“${raw}” is not a number` };
    if (value < 0) return { error: `must not be negative (got ${text})` };
    return { value };
  }

  function formatValue(value, fmt) {
    if (value === null || value === undefined || value === "") return "";
    const n = typeof value === "number" ? value : Number(String(value).replace(/,/g, ""));
    if (!Number.isFinite(n)) return String(value);
    return (FORMATS[fmt] || FORMATS.qty).format(n);
  }

  function rowMeta(id) {
    return meta.get(id);
  }

  /** The stored cell behind a grid cell, or null for labels and computed cells. */
  function cellRef(rowData, field) {
    if (field === "opening") {
      if (rowData.measure !== "ending_inventory") return null;
      return { family: rowData.family, measure: "opening_inventory", month: payload.cycle_month };
    }
    if (!/^[mh]\d{4}-\d{2}$/.test(field) || !INPUT_MEASURES.has(rowData.measure)) return null;
    return { family: rowData.family, measure: rowData.measure, month: field.slice(1) };
  }

  function cellName(rowData, field) {
    const ref = cellRef(rowData, field);
    const col = payload.columns.find((c) => c.field === field);
    const where = rowData.family || (config.scope === "company" ? "Company" : config.valueStream);
    return `${where} · ${ref && ref.measure === "opening_inventory" ? "Opening inventory" : rowData.label} · ${col ? col.month : field}`;
  }

  /** The stored measure behind a cell (opening inventory sits on the ending-inventory row). */
  function cellMeasure(rowData, field) {
    if (field === "opening" && rowData.measure === "ending_inventory") return "opening_inventory";
    return rowData.measure;
  }

  function canEditCell(rowData, field) {
    const m = rowMeta(rowData.id);
    return editable && !!m && m.editable.has(field) && editableMeasures.has(cellMeasure(rowData, field));
  }

  function whyNotEditable(rowData, field) {
    if (!editable) return config.readonlyReason || payload.readonly_reason || "this grid is read-only";
    if (field === "label") return "row labels cannot be changed; select the first month cell";
    const m = rowMeta(rowData.id);
    const measure = cellMeasure(rowData, field);
    if (m && m.editable.has(field) && !editableMeasures.has(measure)) {
      return `your role does not change ${measureLabels[measure] || measure} here` + (config.rolesNote ? ` (${config.rolesNote})` : "");
    }
    const col = payload.columns.find((c) => c.field === field);
    if (field === "opening") return "opening inventory is entered on the “Ending inventory” row";
    if (rowData.measure === "demand_reference") return "the last approved plan is shown for reference; type the new demand in the row above";
    if (rowData.measure === "statistical_baseline") return "the statistical baseline is the model's forecast; select cells and press “Use baseline” to copy it into demand";
    if (rowData.measure === "launch_ramp") return "the launch ramp comes from the NPD launch register; select cells and press “Use ramp” to copy it into demand";
    if (rowData.kind === "computed") return `${rowData.label} is computed from the plan; change the inputs instead`;
    if (col && col.kind === "history") return "only actual sales are entered for months before the horizon";
    if (rowData.measure === "actual_sales") return `actual sales can only be entered for months that have started (up to ${payload.current_month})`;
    return "this cell takes no input";
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "grid-status" + (kind ? " " + kind : "");
  }

  function showError(title, items) {
    errorEl.classList.remove("info");
    if (!title) {
      errorEl.hidden = true;
      errorEl.textContent = "";
      return;
    }
    errorEl.hidden = false;
    errorEl.textContent = "";
    const strong = document.createElement("strong");
    strong.textContent = title;
    errorEl.appendChild(strong);
    if (items && items.length) {
      const ul = document.createElement("ul");
      items.slice(0, 8).forEach((t) => {
        const li = document.createElement("li");
        li.textContent = t;
        ul.appendChild(li);
      });
      if (items.length > 8) {
        const li = document.createElement("li");
        li.textContent = `… and ${items.length - 8} more`;
        ul.appendChild(li);
      }
      errorEl.appendChild(ul);
    }
  }

  function clearCellErrors() {
    const touched = [];
    meta.forEach((m, id) => {
      if (Object.keys(m.errors).length) {
        m.errors = {};
        touched.push(id);
      }
    });
    touched.forEach(reformatRow);
  }

  function markError(rowId, field, reason) {
    const m = rowMeta(rowId);
    if (m) m.errors[field] = reason;
  }

  function isEditingCell(rowId, field) {
    return !!editing && editing.rowId === rowId && editing.field === field;
  }

  /** Repaint one cell in place (formatter and classes); never touches an open editor. */
  function paintCell(rowId, field) {
    if (isEditingCell(rowId, field)) return;
    const row = table.getRow(rowId);
    const cell = row && row.getCell(field);
    if (cell && cell._cell.loaded) cell._cell.layoutElement();
  }

  /** Set a cell's value and repaint that cell alone. Re-rendering whole rows after a save
   * destroyed an editor open on the row (and its keystrokes); this never does. */
  function setCellValue(rowId, field, value) {
    const row = table.getRow(rowId);
    if (!row) return;
    const cell = row.getCell(field);
    if (!cell) {
      row.getData()[field] = value;
      return;
    }
    if (isEditingCell(rowId, field)) {
      row.getData()[field] = value;
      cell._cell.value = value;
      return;
    }
    cell._cell.setValueActual(value);
  }

  /** Repaint every cell of a row in place (classes after errors, saves, flags). */
  function reformatRow(id) {
    const row = table.getRow(id);
    if (!row) return;
    row.getCells().forEach((c) => {
      const field = c.getField();
      if (!isEditingCell(id, field) && c._cell.loaded) c._cell.layoutElement();
    });
  }

  function updateUndoButtons() {
    document.getElementById("btn-undo").disabled = !undoStack.length || !editable;
    document.getElementById("btn-redo").disabled = !redoStack.length || !editable;
  }

  // ------------------------------------------------------------------ formatting

  function numberFormatter(cell) {
    const rowData = cell.getRow().getData();
    const field = cell.getField();
    const m = rowMeta(rowData.id) || { flags: {}, comments: {}, errors: {}, pending: {}, conflicts: {}, changed: {}, editable: new Set() };
    const el = cell.getElement();
    const error = m.errors[field];
    const comment = m.comments[field];
    // A demand far from the baseline asks for an assumption: a comment or one answers it.
    const raw = m.flags[field];
    const info = extensions.cellInfo ? extensions.cellInfo(rowData, field, cellRef(rowData, field)) : null;
    const flag = raw && !(raw.kind === "baseline" && (comment || (info && info.explains))) ? raw : null;
    el.classList.toggle("has-assumption", !!(info && info.marker));
    const isInput = canEditCell(rowData, field);
    el.classList.toggle("is-input", isInput);
    el.classList.toggle("is-locked", !isInput && m.editable.has(field));
    el.classList.toggle("flag-warn", !!flag && flag.level === "warn");
    el.classList.toggle("flag-bad", !!flag && flag.level === "bad");
    el.classList.toggle("has-comment", !!comment);
    el.classList.toggle("has-error", !!error);
    el.classList.toggle("is-saving", !!m.pending[field]);
    el.classList.toggle("is-conflict", !!m.conflicts[field]);
    const lost = unsaved.get(rowData.id + "\t" + field);
    el.classList.toggle("is-unsaved", !!lost);
    el.classList.toggle("is-linked", !!linkedAt && linkedAt.rowId === rowData.id && linkedAt.field === field);
    const tips = [];
    if (lost) tips.push("Not saved: " + lost.reason);
    if (error) tips.push("⚠ " + error);
    if (flag) tips.push(flag.reason);
    if (comment) tips.push("Comment: " + comment);
    if (info && info.tip) tips.push(info.tip);
    if (m.changed[field]) tips.push("Last changed by " + m.changed[field]);
    if (tips.length) el.setAttribute("title", tips.join("\n"));
    else el.removeAttribute("title");
    el.dataset.field = field;
    return formatValue(cell.getValue(), rowData.fmt);
  }

  /** The frozen row header: family code / name on its block's first rows, then the measure. */
  function rowHeaderFormatter(cell) {
    const d = cell.getRow().getData();
    let fam = "";
    if (d.pos === 0) fam = `<strong>${escapeHtml(d.family || (config.scope === "company" ? "Company" : config.valueStream))}</strong>`;
    else if (d.pos === 1) fam = `<span class="fam-name">${escapeHtml(d.family_name)}</span>`;
    const calc = d.kind === "computed" ? ' <span class="calc-mark" title="Computed by the engine">ƒ</span>' : "";
    // Long labels wrap inside the header; the whole label (and why, for the baseline row)
    // is also the tooltip, so nothing is ever only half readable.
    const full = [d.family_name || d.family, d.label].filter(Boolean).join(" · ") + (d.reason ? ` — ${d.reason}` : "");
    const famTitle = d.family_name ? ` title="${escapeHtml(d.family_name)}"` : "";
    return `<div class="rh" title="${escapeHtml(full)}"><span class="rh-family"${famTitle}>${fam}</span><span class="rh-label">${escapeHtml(d.label)}${calc}</span></div>`;
  }

  // Every time the grid shows is in the company's time zone, named (base.html puts the
  // zone on <body data-time-zone>): the status line, the history dialog, tooltips.
  const COMPANY_ZONE = document.body.dataset.timeZone || undefined;
  function companyTime(date, timeOnly) {
    const opts = { timeZone: COMPANY_ZONE, timeZoneName: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (!timeOnly) Object.assign(opts, { day: "numeric", month: "short", year: "numeric" });
    try {
      return date.toLocaleString("en-GB", opts);
    } catch (e) {
      return date.toISOString();
    }
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // ------------------------------------------------------------------ editor

  function numberEditor(cell, onRendered, success, cancel) {
    const input = document.createElement("input");
    input.type = "text";
    input.className = "grid-editor";
    input.setAttribute("inputmode", "decimal");
    const start = typedKey;
    typedKey = null;
    const v = cell.getValue();
    const before = v === null || v === undefined ? "" : String(v);
    input.value = start !== null ? start : before;
    const rowId = cell.getRow().getData().id;
    const field = cell.getField();
    let done = false;
    const state = {
      rowId,
      field,
      input,
      // Opened by typing: arrows commit and move, as in a spreadsheet's entry mode;
      // opened by F2, Enter or a double-click they move the caret.
      typed: start !== null,
      /** Commit the input's value to this cell; false while it is refused (stays open). */
      commit() {
        if (done) return true;
        if (input.value === before) {
          done = true;
          finish();
          cancel();
          return true;
        }
        if (success(input.value)) {
          done = true;
          finish();
          return true;
        }
        return false;
      },
      cancel() {
        if (done) return;
        done = true;
        finish();
        cancel();
      },
    };
    function finish() {
      if (editing === state) editing = null;
    }
    editing = state;
    onRendered(() => {
      input.focus({ preventScroll: true });
      if (start !== null) input.setSelectionRange(input.value.length, input.value.length);
      else input.select();
    });
    input.addEventListener("blur", () => {
      if (editing === state) state.commit();
    });
    return input;
  }

  const NAV_KEYS = {
    Tab: (e) => (e.shiftKey ? "left" : "right"),
    Enter: (e) => (e.shiftKey ? "up" : "down"),
    ArrowUp: () => "up",
    ArrowDown: () => "down",
    ArrowLeft: () => "left",
    ArrowRight: () => "right",
  };

  /** Capture phase, before Tabulator and the browser: while a cell is being edited, the
   * keys that leave it commit its value to that very cell first and then move from it —
   * synchronously, so the next key (0 ms later) already finds the next cell active. */
  function onEditKeyCapture(e) {
    const state = editing;
    if (!state || document.querySelector("dialog[open]")) return;
    const nav = NAV_KEYS[e.key];
    if (nav && (e.key === "Tab" || e.key === "Enter" || state.typed)) {
      e.preventDefault();
      e.stopImmediatePropagation();
      if (state.commit()) moveFrom(state.rowId, state.field, nav(e));
      return;
    }
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopImmediatePropagation();
      state.cancel();
      showError(null);
      return;
    }
    // A key aimed elsewhere while the editor is open belongs to the editor.
    if (e.target !== state.input && !e.ctrlKey && !e.metaKey && !e.altKey && e.key.length === 1) {
      e.preventDefault();
      e.stopImmediatePropagation();
      state.input.value += e.key;
      state.input.focus({ preventScroll: true });
    }
  }

  /** Move the active cell one step in ``dir`` from (rowId, field), the cell just edited. */
  function moveFrom(rowId, field, dir) {
    const row = table.getRow(rowId);
    const sr = table.modules.selectRange;
    if (!row || !sr) return;
    const here = row.getCell(field);
    const active = activeCell();
    if (!active || active.getRow().getData().id !== rowId || active.getField() !== field) {
      sr.resetRanges();
      table.addRange(here, here);
    }
    sr.navigate(false, false, dir);
    if (!gridEl.contains(document.activeElement)) gridEl.focus({ preventScroll: true });
  }

  /** Make ``cell`` the one active cell, in the middle of the view, with keyboard focus. */
  function selectCell(cell) {
    const sr = table.modules.selectRange;
    const row = cell.getRow();
    const focus = () => {
      sr.resetRanges();
      table.addRange(cell, cell);
      gridEl.focus({ preventScroll: true });
    };
    focus();
    Promise.all([
      table.scrollToRow(row, "center", false).catch(() => null),
      table.scrollToColumn(cell.getField(), "center", false).catch(() => null),
    ]).then(focus);
  }

  let lastValidation = "";
  function validateInput(cell, value) {
    const r = parseNumber(value);
    lastValidation = r.error ? `${cellName(cell.getRow().getData(), cell.getField())}: ${r.error}` : "";
    return !r.error;
  }

  function isEditing() {
    return !!(table && table.modules.edit && table.modules.edit.currentCell);
  }

  function activeRange() {
    const sr = table.modules.selectRange;
    return sr && sr.activeRange ? sr.activeRange.getComponent() : null;
  }

  function activeCell() {
    const sr = table.modules.selectRange;
    const c = sr ? sr.getActiveCell() : null;
    return c ? c.getComponent() : null;
  }

  // ------------------------------------------------------------------ saving

  /** changes: [{rowId, field, value (number|null), old}]; validated here first. */
  function submit(changes, kind, note) {
    clearCellErrors();
    showError(null);
    changes.forEach((ch) => {
      // A new attempt at a cell whose save failed: it is pending again, not unsaved.
      const key = ch.rowId + "\t" + ch.field;
      const lost = unsaved.get(key);
      if (lost) {
        ch.old = lost.ch.old;
        unsaved.delete(key);
      }
    });
    const problems = [];
    changes.forEach((ch) => {
      const rowData = table.getRow(ch.rowId).getData();
      if (!canEditCell(rowData, ch.field)) {
        problems.push([ch, whyNotEditable(rowData, ch.field)]);
      } else if (ch.value !== null && (typeof ch.value !== "number" || ch.value < 0)) {
        problems.push([ch, "must be a number ≥ 0"]);
      }
    });
    if (problems.length) {
      refuse(changes, problems.map(([ch, reason]) => ({ ch, reason })));
      return false;
    }
    const real = changes.filter((ch) => ch.value !== ch.old);
    if (!real.length) {
      showUnsaved();
      return true;
    }
    real.forEach((ch) => {
      rowMeta(ch.rowId).pending[ch.field] = true;
      // Shown at once (marked as saving); a failed save keeps it, marked unsaved.
      setCellValue(ch.rowId, ch.field, ch.value);
    });
    showUnsaved();
    queue.push({ changes: real, kind, note: note || "" });
    pump();
    return true;
  }

  /** Show why cells were refused, put their old values back; nothing is sent. */
  function refuse(changes, problems) {
    problems.forEach(({ ch, reason }) => markError(ch.rowId, ch.field, reason));
    revert(changes);
    const lines = problems.map(({ ch, reason }) => `${cellName(table.getRow(ch.rowId).getData(), ch.field)}: ${reason}`);
    const n = changes.length;
    showError(`Nothing saved: ${problems.length} of ${n} cell${n === 1 ? "" : "s"} refused.`, lines);
    setStatus("Not saved", "bad");
  }

  function revert(changes) {
    const byRow = new Map();
    changes.forEach((ch) => {
      const m = rowMeta(ch.rowId);
      delete m.pending[ch.field];
      if (!byRow.has(ch.rowId)) byRow.set(ch.rowId, {});
      byRow.get(ch.rowId)[ch.field] = ch.old;
    });
    byRow.forEach((values, id) => {
      Object.entries(values).forEach(([f, v]) => setCellValue(id, f, v));
      reformatRow(id);
    });
  }

  async function pump() {
    if (busy || !queue.length) return;
    busy = true;
    const job = queue.shift();
    // Edits queued while a save was in flight go out together, in order, as one
    // all-or-nothing request — unless one touches a cell already in it.
    if (job.kind === "edit") {
      const keys = new Set(job.changes.map((ch) => ch.rowId + "\t" + ch.field));
      while (queue.length && queue[0].kind === "edit") {
        const next = queue[0].changes;
        if (next.some((ch) => keys.has(ch.rowId + "\t" + ch.field))) break;
        next.forEach((ch) => keys.add(ch.rowId + "\t" + ch.field));
        job.changes = job.changes.concat(next);
        queue.shift();
      }
    }
    const n = job.changes.length;
    setStatus(`Saving ${n} cell${n === 1 ? "" : "s"}…`, "busy");
    const cells = job.changes.map((ch) => {
      const rowData = table.getRow(ch.rowId).getData();
      const ref = cellRef(rowData, ch.field);
      const version = rowMeta(ch.rowId).versions[ch.field] || 0;
      return { ...ref, value: ch.value === null ? null : String(ch.value), version };
    });
    let response = null;
    let body = {};
    const sent = performance.now();
    try {
      const url = job.kind === "baseline" ? config.useBaselineUrl : job.kind === "ramp" ? config.useRampUrl : config.saveUrl;
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ cells, view: config.view }),
      });
      body = await response.json().catch(() => ({}));
    } catch (err) {
      body = { detail: "The server could not be reached; nothing was saved. Check your connection and try again." };
    }
    try {
      handleSaveResponse(job, response, body);
      if (response && response.status === 200) saveTimes.push(performance.now() - sent);
    } finally {
      busy = false;
      pump();
    }
  }

  function handleSaveResponse(job, response, body) {
    const status = response ? response.status : 0;
    if (status === 200) {
      applySaved(job, body);
      return;
    }
    if (status === 409 && body.conflicts && body.conflicts.length) {
      openConflicts(job, body.conflicts);
      setStatus("Conflict: choose the values to keep", "bad");
      return;
    }
    if (status === 409 && body.frozen) setReadOnly(body.detail);
    else if (status === 403) setReadOnly(body.detail);
    const detail = status === 401
      ? "your session has ended: log in again, then Retry"
      : body.detail || (status ? `the server answered ${status}` : "the server could not be reached");
    const perCell = status === 400 && body.cells ? body.cells : {};
    job.changes.forEach((ch, i) => {
      const m = rowMeta(ch.rowId);
      delete m.pending[ch.field];
      const key = ch.rowId + "\t" + ch.field;
      const first = unsaved.get(key);
      unsaved.set(key, { ch: { ...ch, old: first ? first.ch.old : ch.old }, reason: perCell[i] || detail });
    });
    job.changes.forEach((ch) => paintCell(ch.rowId, ch.field));
    showUnsaved();
    setStatus(`Not saved: ${unsaved.size} cell${unsaved.size === 1 ? "" : "s"}`, "bad");
  }

  /** The list of cells whose save failed, each with its reason, and Retry / Discard. */
  function showUnsaved() {
    if (!unsaved.size) return;
    const lines = [...unsaved.values()].map(({ ch, reason }) => `${cellName(table.getRow(ch.rowId).getData(), ch.field)}: ${reason}`);
    showError(`${unsaved.size} cell${unsaved.size === 1 ? "" : "s"} not saved — the value${unsaved.size === 1 ? " is" : "s are"} kept, marked, until you retry or discard.`, lines);
    const bar = document.createElement("div");
    bar.className = "unsaved-actions";
    const button = (id, text, className, onClick) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = className;
      b.id = id;
      b.textContent = text;
      b.addEventListener("click", onClick);
      return b;
    };
    bar.append(
      button("btn-retry", "Retry", "btn small primary", retryUnsaved),
      button("btn-discard", "Discard", "btn small", discardUnsaved),
    );
    errorEl.appendChild(bar);
  }

  function retryUnsaved() {
    const changes = [...unsaved.values()].map(({ ch }) => {
      const v = table.getRow(ch.rowId).getData()[ch.field];
      return { rowId: ch.rowId, field: ch.field, value: v === undefined ? null : v, old: ch.old };
    });
    unsaved.clear();
    showError(null);
    submit(changes, "edit");
  }

  function discardUnsaved() {
    const changes = [...unsaved.values()].map(({ ch }) => ch);
    unsaved.clear();
    revert(changes);
    showError(null);
    setStatus("Unsaved changes discarded", "");
    refreshComputed();
  }

  function applySaved(job, body) {
    const now = new Date();
    const stamp = companyTime(now, true);
    const byRow = new Map();
    job.changes.forEach((ch, i) => {
      const m = rowMeta(ch.rowId);
      delete m.pending[ch.field];
      delete m.conflicts[ch.field];
      m.versions[ch.field] = body.versions[i];
      m.changed[ch.field] = `you, ${stamp}`;
      if (!byRow.has(ch.rowId)) byRow.set(ch.rowId, {});
      byRow.get(ch.rowId)[ch.field] = ch.value;
    });
    byRow.forEach((values, id) => {
      Object.entries(values).forEach(([f, v]) => {
        unsaved.delete(id + "\t" + f);
        setCellValue(id, f, v); // repaints the cell: no longer "saving"
      });
    });
    applyComputed(body.computed || []);
    if (job.kind === "undo") redoStack.push(job.changes);
    else {
      undoStack.push(job.changes);
      if (job.kind !== "redo") redoStack.length = 0;
    }
    updateUndoButtons();
    const n = job.changes.length;
    if (unsaved.size) {
      setStatus(`Saved ${n} cell${n === 1 ? "" : "s"} at ${stamp} · ${unsaved.size} not saved`, "bad");
      showUnsaved();
    } else {
      setStatus(`Saved ${n} cell${n === 1 ? "" : "s"} at ${stamp}${job.note}`, "ok");
    }
  }

  /** The engine's rows after a save: only the cells whose number or flag changed are
   * repainted (a save usually moves a few months of a few rows). */
  function applyComputed(rows) {
    rows.forEach((r) => {
      const row = table.getRow(r.id);
      if (!row) return;
      const m = rowMeta(r.id);
      const before = m.flags || {};
      const after = r.flags || {};
      m.flags = after;
      const data = row.getData();
      Object.entries(r.values).forEach(([f, v]) => {
        if (data[f] !== v) setCellValue(r.id, f, v);
        else if (JSON.stringify(before[f]) !== JSON.stringify(after[f])) paintCell(r.id, f);
      });
      Object.keys(before).forEach((f) => {
        if (!(f in r.values) && !(f in after)) paintCell(r.id, f);
      });
    });
  }

  function setReadOnly(reason) {
    editable = false;
    config.readonlyReason = reason;
    let banner = document.getElementById("readonly-reason");
    if (!banner) {
      banner = document.createElement("p");
      banner.id = "readonly-reason";
      banner.className = "readonly-banner";
      banner.setAttribute("role", "status");
      gridEl.parentNode.insertBefore(banner, document.querySelector(".grid-toolbar"));
    }
    banner.textContent = reason;
    document.getElementById("btn-fill").disabled = true;
    table.getRows().forEach((r) => reformatRow(r.getData().id));
    updateUndoButtons();
  }

  // ------------------------------------------------------------------ conflicts

  let conflictState = null;

  function openConflicts(job, conflicts) {
    const dialog = document.getElementById("conflict-dialog");
    const tbody = document.getElementById("conflict-rows");
    tbody.textContent = "";
    conflictState = { job, conflicts };
    conflicts.forEach((c, k) => {
      const ch = job.changes[c.index];
      if (!ch) return;
      const m = rowMeta(ch.rowId);
      m.conflicts[ch.field] = true;
      delete m.pending[ch.field];
      const rowData = table.getRow(ch.rowId).getData();
      const tr = document.createElement("tr");
      const when = c.changed_at ? companyTime(new Date(c.changed_at)) : "";
      tr.innerHTML =
        `<td>${escapeHtml(cellName(rowData, ch.field))}</td>` +
        `<td class="num">${ch.value === null ? "(empty)" : escapeHtml(formatValue(ch.value, rowData.fmt))}</td>` +
        `<td class="num">${c.current_value === null ? "(empty)" : escapeHtml(formatValue(Number(c.current_value), rowData.fmt))}</td>` +
        `<td>${escapeHtml(c.changed_by || "someone")}<br><span class="muted small">${escapeHtml(when)}</span></td>` +
        `<td><label class="inline"><input type="radio" name="keep-${k}" value="mine"> mine</label> ` +
        `<label class="inline"><input type="radio" name="keep-${k}" value="theirs" checked> theirs</label></td>`;
      tbody.appendChild(tr);
    });
    job.changes.forEach((ch) => delete rowMeta(ch.rowId).pending[ch.field]);
    new Set(job.changes.map((ch) => ch.rowId)).forEach(reformatRow);
    showError("Someone else changed a cell you were editing; nothing was saved. Choose which values to keep.");
    if (typeof dialog.showModal === "function") dialog.showModal();
  }

  function resolveConflicts(allTheirs) {
    if (!conflictState) return;
    const { job, conflicts } = conflictState;
    conflictState = null;
    const conflictIdx = new Set();
    const resend = [];
    const theirsByRow = new Map();
    conflicts.forEach((c, k) => {
      const ch = job.changes[c.index];
      if (!ch) return;
      conflictIdx.add(c.index);
      const m = rowMeta(ch.rowId);
      delete m.conflicts[ch.field];
      m.versions[ch.field] = c.current_version;
      const theirs = c.current_value === null ? null : Number(c.current_value);
      const choice = document.querySelector(`input[name="keep-${k}"]:checked`);
      if (!allTheirs && choice && choice.value === "mine") {
        resend.push({ rowId: ch.rowId, field: ch.field, value: ch.value, old: theirs });
      } else {
        m.changed[ch.field] = `${c.changed_by || "someone"}`;
        if (!theirsByRow.has(ch.rowId)) theirsByRow.set(ch.rowId, {});
        theirsByRow.get(ch.rowId)[ch.field] = theirs;
      }
    });
    theirsByRow.forEach((values, id) => {
      Object.entries(values).forEach(([f, v]) => setCellValue(id, f, v));
      reformatRow(id);
    });
    job.changes.forEach((ch, i) => {
      if (!conflictIdx.has(i)) resend.push(ch);
    });
    document.getElementById("conflict-dialog").close();
    showError(null);
    if (resend.length) {
      submit(resend, job.kind);
    } else {
      setStatus("Took their values", "ok");
      refreshComputed();
    }
  }

  async function refreshComputed() {
    const fresh = await fetchData();
    if (fresh) applyComputed(fresh.rows.filter((r) => r.kind === "computed").map((r) => ({ id: r.id, values: r.values, flags: r.flags })));
  }

  // ------------------------------------------------------------------ live: others' edits

  // Every LIVE_MS the grid asks for the plan changes after the newest it knows and who
  // else has it open (planning.selectors.live): others' saved edits appear within 5 s.
  const LIVE_MS = 2500;
  let liveCursor = config.liveCursor || 0;
  let liveActualCursor = config.liveActualCursor || 0; // the actual rows' facts (issue 16)
  let livePaused = false; // tests that stage a conflict pause it (window.sofpGrid.pauseLive)

  function applyRemote(cells) {
    let shown = 0;
    cells.forEach((c) => {
      const row = table.getRow(c.row);
      const m = rowMeta(c.row);
      if (!row || !m) return;
      if (m.pending[c.field] || m.conflicts[c.field] || isEditingCell(c.row, c.field)) return;
      if ((m.versions[c.field] || 0) >= c.version && c.value !== null) return; // our own save
      if (c.value === null) delete m.versions[c.field];
      else m.versions[c.field] = c.version;
      m.changed[c.field] = c.changed;
      setCellValue(c.row, c.field, c.value);
      const cell = row.getCell(c.field);
      if (cell) {
        const el = cell.getElement();
        el.classList.add("is-remote");
        el.title = `Changed by ${c.by}`;
        setTimeout(() => el.classList.remove("is-remote"), 4000);
      }
      shown += 1;
    });
    return shown;
  }

  async function pollLive() {
    if (!config.liveUrl || !table) return;
    try {
      if (!busy && !queue.length && !livePaused) {
        const res = await fetch(`${config.liveUrl}${config.liveUrl.includes("?") ? "&" : "?"}after=${liveCursor}&after_actual=${liveActualCursor}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (res.ok) {
          const body = await res.json();
          liveCursor = body.cursor;
          if (body.actual_cursor !== undefined) liveActualCursor = body.actual_cursor;
          const shown = applyRemote(body.cells || []);
          if (body.computed && body.computed.length) applyComputed(body.computed);
          if (shown) setStatus(`${shown} change${shown === 1 ? "" : "s"} by others at ${companyTime(new Date(), true)}`, "ok");
          const el = document.getElementById("grid-presence");
          if (el) {
            const others = body.others || [];
            el.textContent = others.length ? `Also open here: ${others.join(", ")}` : "Only you have this grid open";
            el.dataset.others = String(others.length);
          }
        }
      }
    } catch (e) {
      /* offline for a moment: try again on the next tick */
    }
    setTimeout(pollLive, LIVE_MS);
  }

  // ------------------------------------------------------------------ paste, fill, clear, undo

  function visibleColumns() {
    return table.getColumns().filter((c) => c.isVisible());
  }

  function parseClipboard(text) {
    let t = text.replace(/\r\n?/g, "\n");
    if (t.endsWith("\n")) t = t.slice(0, -1);
    return t.split("\n").map((line) => line.split("\t"));
  }

  function pasteText(text) {
    if (!editable) {
      showError(config.readonlyReason || "This grid is read-only.");
      return;
    }
    const range = activeRange();
    if (!range) {
      showError("Select the cell where the pasted block should start.");
      return;
    }
    const block = parseClipboard(text);
    let rows = table.getRows("active");
    const cols = visibleColumns();
    let top = range.getTopEdge();
    const left = range.getLeftEdge();
    if (config.view === "demand") {
      // The demand view: a families × months block from Excel fills the demand rows,
      // one after the other; the reference rows between them are not part of it.
      const inputs = [];
      let start = -1;
      rows.forEach((r, i) => {
        if (r.getData().kind === "computed") return;
        if (start < 0 && i >= top) start = inputs.length;
        inputs.push(r);
      });
      rows = inputs;
      top = start < 0 ? rows.length : start;
    }
    let height = block.length;
    let width = Math.max(...block.map((r) => r.length));
    const fill = height === 1 && width === 1;
    if (fill) {
      const bottom = range.getBottomEdge();
      height = config.view === "demand"
        ? table.getRows("active").filter((r, i) => i >= range.getTopEdge() && i <= bottom && r.getData().kind !== "computed").length
        : bottom - top + 1;
      width = range.getRightEdge() - left + 1;
    }
    const changes = [];
    const problems = [];
    let skipped = 0;
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        const raw = fill ? block[0][0] : block[i][j] === undefined ? "" : block[i][j];
        const row = rows[top + i];
        const col = cols[left + j];
        if (!row || !col) {
          problems.push({ ch: null, reason: `the pasted block (${block.length} × ${width}) runs past the edge of the grid` });
          i = height;
          break;
        }
        const rowData = row.getData();
        const field = col.getField();
        const ch = { rowId: rowData.id, field, value: null, old: rowData[field] === undefined ? null : rowData[field] };
        if (rowData.kind === "computed" && !rowMeta(rowData.id).editable.has(field)) {
          // A block copied from the grid itself (or a sheet laid out like it) carries
          // computed rows: their cells are skipped, and the status says how many.
          skipped += 1;
          continue;
        }
        if (!canEditCell(rowData, field)) {
          // An empty cell of the block asks for nothing: only values are refused.
          if (String(raw).trim() !== "") problems.push({ ch, reason: whyNotEditable(rowData, field) });
          continue;
        }
        const r = parseNumber(raw);
        if (r.error) problems.push({ ch, reason: r.error });
        else {
          ch.value = r.value;
          changes.push(ch);
        }
      }
    }
    if (problems.length) {
      clearCellErrors();
      problems.filter((p) => p.ch).forEach(({ ch, reason }) => markError(ch.rowId, ch.field, reason));
      new Set(problems.filter((p) => p.ch).map((p) => p.ch.rowId)).forEach(reformatRow);
      const lines = problems.map(({ ch, reason }) => (ch ? `${cellName(table.getRow(ch.rowId).getData(), ch.field)}: ${reason}` : reason));
      showError(`Nothing pasted: ${problems.length} cell${problems.length === 1 ? "" : "s"} refused.`, lines);
      setStatus("Not saved", "bad");
      return;
    }
    const note = skipped ? ` · skipped ${skipped} computed cell${skipped === 1 ? "" : "s"}` : "";
    if (!changes.length) {
      showError(`Nothing pasted: the block covers only computed cells (${skipped} skipped).`);
      errorEl.classList.add("info");
      setStatus("Nothing pasted", "");
      return;
    }
    submit(changes, "paste", note);
  }

  function fillRight() {
    if (!editable) return;
    const range = activeRange();
    if (!range) return;
    const cols = visibleColumns();
    const changes = [];
    range.getStructuredCells().forEach((rowCells) => {
      if (!rowCells.length) return;
      const src = rowCells[0];
      const rowData = src.getRow().getData();
      const value = src.getValue();
      if (!cellRef(rowData, src.getField()) && src.getField() !== "opening") return;
      let targets = rowCells.slice(1).map((c) => c.getField());
      if (!targets.length) {
        const from = cols.findIndex((c) => c.getField() === src.getField());
        targets = cols.slice(from + 1).map((c) => c.getField());
      }
      targets.forEach((field) => {
        if (canEditCell(rowData, field)) {
          changes.push({ rowId: rowData.id, field, value: value === undefined || value === "" ? null : Number(value), old: rowData[field] === undefined ? null : rowData[field] });
        }
      });
    });
    if (changes.length) submit(changes, "fill");
  }

  /** Copies a family's source row (the statistical baseline, a launch ramp) into its
   * demand for every selected month of that family (any of its rows), through the write
   * path on the server (``kind`` picks the endpoint and the history's "copied from");
   * undo puts the old demand back like any save. Months without a source value are left
   * as they were and counted. */
  function copyIntoDemand(source) {
    if (!editable || !source.url) return;
    const range = activeRange();
    if (!range) {
      showError(source.selectFirst);
      return;
    }
    const seen = new Set();
    const changes = [];
    let missing = 0;
    range.getStructuredCells().forEach((rowCells) => {
      rowCells.forEach((c) => {
        const d = c.getRow().getData();
        const field = c.getField();
        if (!d.family || !/^m\d{4}-\d{2}$/.test(field)) return;
        const demandId = d.family + "|demand";
        const key = demandId + "\t" + field;
        if (seen.has(key)) return;
        seen.add(key);
        const sourceRow = table.getRow(d.family + "|" + source.measure);
        const value = sourceRow ? sourceRow.getData()[field] : undefined;
        if (value === undefined || value === null) {
          missing += 1;
          return;
        }
        const demand = table.getRow(demandId).getData();
        changes.push({ rowId: demandId, field, value, old: demand[field] === undefined ? null : demand[field] });
      });
    });
    if (!changes.length) {
      showError(missing ? source.noneSelected : source.selectMonths);
      return;
    }
    submit(changes, source.kind, missing ? ` · ${missing} ${source.leftOut}` : ` · ${source.copied}`);
  }

  /** Step 1's "Use baseline": the statistical baseline into demand (the server copies its
   * own stored baseline; history: copied from the baseline). */
  function useBaseline() {
    copyIntoDemand({
      url: config.useBaselineUrl,
      measure: "statistical_baseline",
      kind: "baseline",
      selectFirst: "Select the demand cells (or the baseline cells) to fill from the baseline.",
      noneSelected: "The selected months have no statistical baseline.",
      selectMonths: "Select the months to fill from the baseline.",
      leftOut: "without a baseline left as they were",
      copied: "copied from the baseline",
    });
  }

  /** Step 1's "Use ramp": a launched family's ramp into demand (history: copied from the
   * launch ramp). */
  function useRamp() {
    copyIntoDemand({
      url: config.useRampUrl,
      measure: "launch_ramp",
      kind: "ramp",
      selectFirst: "Select the ramp cells (or the demand cells of a new family) to copy the ramp.",
      noneSelected: "The selected months have no launch ramp.",
      selectMonths: "Select the months to fill from the ramp.",
      leftOut: "outside the ramp left as they were",
      copied: "copied from the launch ramp",
    });
  }

  function clearSelection() {
    if (!editable) return;
    const range = activeRange();
    if (!range) return;
    const changes = [];
    range.getStructuredCells().forEach((rowCells) =>
      rowCells.forEach((cell) => {
        const rowData = cell.getRow().getData();
        const field = cell.getField();
        const v = cell.getValue();
        if (canEditCell(rowData, field) && v !== null && v !== undefined && v !== "") {
          changes.push({ rowId: rowData.id, field, value: null, old: v });
        }
      }),
    );
    if (changes.length) submit(changes, "clear");
  }

  function undo() {
    if (!editable || busy || !undoStack.length) return;
    const changes = undoStack.pop();
    submit(changes.map((ch) => ({ rowId: ch.rowId, field: ch.field, value: ch.old, old: ch.value })), "undo");
    updateUndoButtons();
  }

  function redo() {
    if (!editable || busy || !redoStack.length) return;
    const changes = redoStack.pop();
    submit(changes.map((ch) => ({ rowId: ch.rowId, field: ch.field, value: ch.old, old: ch.value })), "redo");
    updateUndoButtons();
  }

  // ------------------------------------------------------------------ history and comments

  let dialogCell = null;

  async function openCellDialog(cell) {
    cell = cell || activeCell();
    if (!cell) return;
    const rowData = cell.getRow().getData();
    const field = cell.getField();
    const ref = cellRef(rowData, field);
    if (!ref) {
      showError(rowData.kind === "computed" ? `${rowData.label} is computed by the engine; it has no history of its own.` : "Choose a number cell.");
      return;
    }
    dialogCell = { rowId: rowData.id, field, ref };
    document.getElementById("cell-title").textContent = cellName(rowData, field);
    document.getElementById("cell-comment").value = rowMeta(rowData.id).comments[field] || "";
    document.getElementById("cell-comment").disabled = !canEditCell(rowData, field);
    document.getElementById("cell-save-comment").disabled = !canEditCell(rowData, field);
    document.getElementById("cell-error").hidden = true;
    const tbody = document.getElementById("cell-history");
    tbody.innerHTML = '<tr><td colspan="5" class="muted">Loading…</td></tr>';
    document.getElementById("cell-dialog").showModal();
    const url = `${config.historyUrl}${config.historyUrl.includes("?") ? "&" : "?"}${new URLSearchParams(ref)}`;
    const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({}));
    tbody.textContent = "";
    if (!res.ok) {
      tbody.innerHTML = `<tr><td colspan="5">${escapeHtml(body.detail || "Could not load the history.")}</td></tr>`;
      return;
    }
    document.getElementById("cell-current").textContent =
      body.version ? `Value ${formatValue(Number(body.value), rowData.fmt)} · version ${body.version}` : "Empty cell";
    if (!body.changes.length) tbody.innerHTML = '<tr><td colspan="5" class="muted">No changes yet.</td></tr>';
    body.changes.forEach((c) => {
      const tr = document.createElement("tr");
      tr.innerHTML =
        `<td>${escapeHtml(c.at_text || companyTime(new Date(c.at)))}</td><td>${escapeHtml(c.by)}</td>` +
        `<td class="num">${c.old === null ? "—" : escapeHtml(formatValue(Number(c.old), rowData.fmt))}</td>` +
        `<td class="num">${c.new === null ? "(cleared)" : escapeHtml(formatValue(Number(c.new), rowData.fmt))}</td>` +
        `<td>${escapeHtml(c.source)}</td>`;
      tbody.appendChild(tr);
    });
  }

  async function saveComment() {
    if (!dialogCell) return;
    const text = document.getElementById("cell-comment").value;
    const errEl = document.getElementById("cell-error");
    const res = await fetch(config.commentUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify({ ...dialogCell.ref, text }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      errEl.hidden = false;
      errEl.textContent = body.detail || "The comment was not saved.";
      return;
    }
    const m = rowMeta(dialogCell.rowId);
    // A comment change is versioned like a value: keep the cell's new version.
    if (typeof body.version === "number") m.versions[dialogCell.field] = body.version;
    if (body.comment) m.comments[dialogCell.field] = body.comment;
    else delete m.comments[dialogCell.field];
    reformatRow(dialogCell.rowId);
    document.getElementById("cell-dialog").close();
    setStatus(body.comment ? "Comment saved" : "Comment removed", "ok");
  }

  // ------------------------------------------------------------------ keyboard

  function onKeyDown(e) {
    if (isEditing() || document.querySelector("dialog[open]")) return;
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    const handled = () => {
      e.preventDefault();
      e.stopPropagation();
    };
    if (ctrl && key === "z" && !e.shiftKey) {
      handled();
      undo();
    } else if (ctrl && (key === "y" || (key === "z" && e.shiftKey))) {
      handled();
      redo();
    } else if (ctrl && key === "r") {
      handled();
      fillRight();
    } else if (e.key === "Delete" || e.key === "Backspace") {
      handled();
      clearSelection();
    } else if (e.key === "Escape") {
      showError(null);
      clearCellErrors();
    } else if (e.key === "F2" && e.shiftKey) {
      handled();
      openCellDialog();
    } else if (e.key === "F2" || e.key === "Enter" || (!ctrl && !e.altKey && e.key.length === 1)) {
      const cell = activeCell();
      if (!cell) return;
      const rowData = cell.getRow().getData();
      if (!canEditCell(rowData, cell.getField())) {
        if (e.key.length === 1) {
          e.preventDefault();
          setStatus(whyNotEditable(rowData, cell.getField()), "bad");
        }
        return;
      }
      e.preventDefault();
      e.stopPropagation();
      typedKey = e.key === "F2" || e.key === "Enter" ? null : e.key;
      cell.edit(true);
    }
  }

  // ------------------------------------------------------------------ build

  async function fetchData() {
    const res = await fetch(config.dataUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      showError(body.detail || `Could not load the grid (${res.status}).`);
      setStatus("Not loaded", "bad");
      return null;
    }
    return body;
  }

  function buildColumns(showHistory, showSubtotals) {
    const cols = [
      {
        title: config.scope === "company" ? "Measure" : "Family · measure",
        field: "label",
        frozen: true,
        width: 330,
        formatter: rowHeaderFormatter,
        cssClass: "col-label",
      },
    ];
    payload.columns.forEach((c) => {
      const classes = ["col-" + c.kind];
      if (c.current) classes.push("col-current");
      cols.push({
        title: c.title,
        field: c.field,
        width: c.kind === "opening" ? 96 : 92,
        hozAlign: "right",
        headerHozAlign: "right",
        headerTooltip: c.kind === "subtotal" ? `${c.title}: the months add up (inventory: the last month; ratios left empty)` : c.kind === "opening" ? `Opening inventory at the start of ${c.month}` : c.month + (c.kind === "history" ? " (before the horizon: actual sales only)" : ""),
        cssClass: classes.join(" "),
        visible: c.kind === "history" ? showHistory : c.kind === "subtotal" ? showSubtotals : true,
        formatter: numberFormatter,
        editor: numberEditor,
        editable: (cell) => canEditCell(cell.getRow().getData(), cell.getField()),
        validator: [{ type: validateInput }],
        cellEdited: onCellEdited,
        contextMenu: cellMenu,
      });
    });
    return cols;
  }

  const cellMenu = [
    { label: "Fill right  (Ctrl+R)", action: () => fillRight(), disabled: () => !editable },
    { label: "Clear  (Delete)", action: () => clearSelection(), disabled: () => !editable },
    { separator: true },
    { label: "History & comment…  (Shift+F2)", action: (e, cell) => openCellDialog(cell) },
    { label: "Assumption…  (Alt+A)", action: () => extensions.addAssumption(), disabled: () => !extensions.addAssumption },
  ];

  function onCellEdited(cell) {
    const rowData = cell.getRow().getData();
    const field = cell.getField();
    const oldRaw = cell.getOldValue();
    const old = oldRaw === undefined || oldRaw === "" ? null : Number(oldRaw);
    const r = parseNumber(cell.getValue());
    if (r.error) {
      // The validator should have stopped this; never send it.
      refuse([{ rowId: rowData.id, field, value: null, old }], [{ ch: { rowId: rowData.id, field }, reason: r.error }]);
      return;
    }
    setCellValue(rowData.id, field, r.value);
    if (r.value === old) {
      reformatRow(rowData.id);
      return;
    }
    submit([{ rowId: rowData.id, field, value: r.value, old }], "edit");
  }

  function rowsForTable() {
    return payload.rows.map((r) => {
      meta.set(r.id, {
        versions: r.versions,
        comments: r.comments,
        flags: r.flags,
        changed: r.changed,
        editable: new Set(r.editable),
        errors: {},
        pending: {},
        conflicts: {},
      });
      return { id: r.id, family: r.family, family_name: r.family_name, measure: r.measure, label: r.label, kind: r.kind, fmt: r.fmt, pos: r.pos, baseline: !!r.baseline, ramp: !!r.ramp, reason: r.reason || "", toggle: r.toggle || "", ...r.values };
    });
  }

  let linkedAt = null;

  /** The cell a deep link names (?family=&month=&measure=), or null. */
  function linkedCell() {
    const f = config.focus;
    if (!f || !f.measure) return null;
    let rowId = `${f.family || ""}|${f.measure}`;
    let field = null;
    if (f.measure === "opening_inventory") {
      rowId = `${f.family || ""}|ending_inventory`;
      field = "opening";
    } else if (f.month) {
      const col = payload.columns.find((c) => c.month === f.month && c.kind !== "opening");
      if (col) field = col.field;
      if (col && col.kind === "history") {
        const toggle = document.getElementById("toggle-history");
        if (toggle && !toggle.checked) {
          toggle.checked = true;
          toggle.dispatchEvent(new Event("change"));
        }
      }
    }
    if (!field) field = (payload.columns.find((c) => c.kind === "horizon") || {}).field;
    const row = table.getRow(rowId);
    if (!row || !field) {
      showError(`The linked cell (${[f.family, f.measure, f.month].filter(Boolean).join(" · ")}) is not in this grid.`);
      return null;
    }
    return row.getCell(field);
  }

  function tableHeight() {
    const top = gridEl.getBoundingClientRect().top + window.scrollY;
    return Math.max(420, window.innerHeight - top - 16) + "px";
  }

  async function init() {
    payload = await fetchData();
    if (!payload) return;
    performance.mark("sofp-grid-data");
    editable = config.editable && payload.editable;
    const historyToggle = document.getElementById("toggle-history");
    const showHistory = !!(historyToggle && localStorage.getItem("sofp.grid.history") === "1");
    if (historyToggle) historyToggle.checked = showHistory;
    const subtotalToggle = document.getElementById("toggle-subtotals");
    const showSubtotals = !!(subtotalToggle && localStorage.getItem("sofp.grid.subtotals") === "1");
    if (subtotalToggle) subtotalToggle.checked = showSubtotals;
    table = new Tabulator(gridEl, {
      data: rowsForTable(),
      index: "id",
      columns: buildColumns(showHistory, showSubtotals),
      layout: "fitData",
      maxHeight: tableHeight(),
      renderHorizontal: "basic",
      columnDefaults: { headerSort: false, resizable: false },
      selectableRange: 1,
      selectableRangeColumns: false,
      selectableRangeRows: true, // the frozen label column is the range's row header
      selectableRangeClearCells: false,
      editTriggerEvent: "dblclick",
      clipboard: "copy",
      clipboardCopyRowRange: "range",
      clipboardCopyStyled: false,
      clipboardCopyConfig: { columnHeaders: false, columnGroups: false, rowHeaders: false, rowGroups: false, columnCalcs: false, dataTree: false, formatCells: false },
      history: false,
      validationMode: "blocking",
      rowFormatter: (row) => {
        const d = row.getData();
        const el = row.getElement();
        el.dataset.rowId = d.id;
        el.classList.toggle("row-computed", d.kind === "computed");
        el.classList.toggle("row-baseline", !!d.baseline);
        el.classList.toggle("row-ramp", !!d.ramp);
        el.classList.toggle("row-first", d.pos === 0);
        el.classList.toggle("row-stream", !d.family);
        el.classList.toggle("row-reference", !!d.toggle);
        el.classList.toggle("row-total", String(d.measure).startsWith("total_"));
      },
    });
    // Rows the planner toggles: the last approved plan and the change against it.
    const rowToggles = Array.from(document.querySelectorAll("[data-row-toggle]"));
    function applyRowToggles() {
      const shown = new Set(rowToggles.filter((t) => t.checked).map((t) => t.dataset.rowToggle));
      table.setFilter((d) => !d.toggle || shown.has(d.toggle));
    }
    rowToggles.forEach((t) => {
      t.checked = localStorage.getItem(`sofp.grid.rows.${t.dataset.rowToggle}`) === "1";
      t.addEventListener("change", () => {
        localStorage.setItem(`sofp.grid.rows.${t.dataset.rowToggle}`, t.checked ? "1" : "0");
        applyRowToggles();
      });
    });
    table.on("tableBuilt", applyRowToggles);
    table.on("tableBuilt", () => {
      const linked = linkedCell();
      // Start on the first month of the first row rather than on a label.
      const first = table.getRows("active")[0];
      const startCol = payload.columns.find((c) => c.kind === "horizon");
      if (linked) {
        selectCell(linked);
        linked.getElement().classList.add("is-linked");
        linkedAt = { rowId: linked.getRow().getData().id, field: linked.getField() };
      } else if (first && startCol) {
        try {
          const c = first.getCell(startCol.field);
          table.modules.selectRange.resetRanges();
          table.addRange(c, c);
        } catch (err) {
          /* keep Tabulator's default start */
        }
      }
      performance.mark("sofp-grid-ready");
      gridEl.dataset.ready = "1";
      setStatus(editable ? "Ready — changes save as you go" : "Read-only", editable ? "" : "muted");
      if (config.scope === "stream" && !payload.rows.some((r) => r.family)) {
        showError("This value stream has no product families yet: import master data (Upload file) or add them in the admin, then plan them here.");
        errorEl.classList.add("info");
      }
      updateUndoButtons();
      setTimeout(pollLive, LIVE_MS);
    });
    table.on("validationFailed", (cell) => {
      const rowData = cell.getRow().getData();
      showError(lastValidation || "That is not a number.", ["Fix the value or press Esc to cancel."]);
      markError(rowData.id, cell.getField(), lastValidation);
    });
    table.on("cellEditCancelled", () => showError(null));

    document.addEventListener("keydown", onEditKeyCapture, true);
    gridEl.addEventListener("keydown", onKeyDown, true);
    if (!gridEl.hasAttribute("tabindex")) gridEl.tabIndex = 0;
    gridEl.addEventListener(
      "paste",
      (e) => {
        if (isEditing()) return;
        e.preventDefault();
        e.stopPropagation();
        pasteText((e.clipboardData || window.clipboardData).getData("text"));
      },
      true,
    );
    if (subtotalToggle) {
      subtotalToggle.addEventListener("change", () => {
        localStorage.setItem("sofp.grid.subtotals", subtotalToggle.checked ? "1" : "0");
        payload.columns.filter((c) => c.kind === "subtotal").forEach((c) => {
          if (subtotalToggle.checked) table.showColumn(c.field);
          else table.hideColumn(c.field);
        });
      });
    }
    if (historyToggle) {
      historyToggle.addEventListener("change", () => {
        localStorage.setItem("sofp.grid.history", historyToggle.checked ? "1" : "0");
        payload.columns.filter((c) => c.kind === "history").forEach((c) => {
          if (historyToggle.checked) table.showColumn(c.field);
          else table.hideColumn(c.field);
        });
      });
    }
    document.getElementById("btn-undo").addEventListener("click", undo);
    document.getElementById("btn-redo").addEventListener("click", redo);
    document.getElementById("btn-fill").addEventListener("click", fillRight);
    const useBaselineBtn = document.getElementById("btn-use-baseline");
    if (useBaselineBtn) useBaselineBtn.addEventListener("click", useBaseline);
    const useRampBtn = document.getElementById("btn-use-ramp");
    if (useRampBtn) useRampBtn.addEventListener("click", useRamp);
    document.getElementById("btn-cell").addEventListener("click", () => openCellDialog());
    document.getElementById("conflict-apply").addEventListener("click", () => resolveConflicts(false));
    document.getElementById("conflict-theirs-all").addEventListener("click", () => resolveConflicts(true));
    document.getElementById("conflict-dialog").addEventListener("cancel", (e) => e.preventDefault());
    document.getElementById("cell-close").addEventListener("click", () => document.getElementById("cell-dialog").close());
    document.getElementById("cell-save-comment").addEventListener("click", saveComment);
    window.addEventListener("beforeunload", (e) => {
      if (busy || queue.length || unsaved.size) {
        e.preventDefault();
        e.returnValue = "";
      }
    });
    window.sofpGrid = { table: () => table, pasteText, fillRight, undo, redo, status: () => statusEl.textContent, idle: () => !busy && !queue.length, saveTimes: () => saveTimes.slice(), pauseLive: () => { livePaused = true; },
      // For assumptions.js (and tests): the selection, cells and a repaint.
      activeRange, activeCell, cellRef, cellName, setStatus, csrfToken,
      payload: () => payload, flagAt: (rowId, field) => (rowMeta(rowId) || { flags: {} }).flags[field] || null,
      repaint: () => table.getRows().forEach((r) => reformatRow(r.getData().id)) };
    document.dispatchEvent(new CustomEvent("sofp:grid-ready"));
  }

  init();
})();
