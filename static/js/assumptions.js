/* Assumptions in the grid (issue 18): a marker on every cell an assumption covers, the
 * side panel listing those of the active cell, and a dialog to add one on the selected
 * cell or block (Alt+A, the "Assumption…" button or the context menu).
 *
 * The server decides everything (rights, months, the family's stream); this file only
 * reads the stream's register, draws it, and sends what the planner typed.
 */
(function () {
  "use strict";

  const panel = document.getElementById("assumption-panel");
  const gridEl = document.getElementById("grid");
  if (!panel || !gridEl) return;
  const url = panel.dataset.url;
  const registerUrl = panel.dataset.registerUrl;
  const dialog = document.getElementById("assumption-dialog");
  const form = document.getElementById("assumption-form");
  const errorEl = document.getElementById("assumption-error");
  const listEl = document.getElementById("assumption-panel-list");
  const titleEl = document.getElementById("assumption-panel-cell");
  const askEl = document.getElementById("assumption-panel-ask");
  const addBtn = document.getElementById("btn-assumption");
  const panelAdd = document.getElementById("assumption-panel-add");
  const countEl = document.getElementById("assumption-panel-count");
  const extensions = (window.sofpGridExtensions = window.sofpGridExtensions || {});
  const gridConfig = JSON.parse(document.getElementById("grid-config").textContent);
  const measureLabels = gridConfig.measureLabels || {};
  let data = { assumptions: [], measures: [] };
  let grid = null;
  let scope = null; // what the open dialog creates: {measure, first, last, families}

  function escapeHtml(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  /** Assumptions covering one stored cell ({family, measure, month}), every status. */
  function covering(ref) {
    if (!ref) return [];
    const family = ref.family || "";
    return data.assumptions.filter(
      (a) => a.measure === ref.measure && (!a.product_family || a.product_family === family) && a.first_month <= ref.month && ref.month <= a.last_month,
    );
  }

  function live(list) {
    return list.filter((a) => a.status !== "retired");
  }

  extensions.cellInfo = (rowData, field, ref) => {
    const found = live(covering(ref));
    if (!found.length) return null;
    return {
      marker: true,
      explains: true,
      tip: found.map((a) => `Assumption (${a.status}): ${a.text}`).join("\n"),
    };
  };

  function repaint() {
    if (grid && gridEl.dataset.ready === "1") grid.repaint();
  }

  async function load() {
    const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!res.ok) return;
    data = await res.json();
    countEl.textContent = `${data.assumptions.length} in this stream`;
    addBtn.disabled = !data.measures.length;
    repaint();
    showPanel();
  }

  // ------------------------------------------------------------------ the selection

  function selectionScope() {
    if (!grid) return { error: "The grid is still loading." };
    const range = grid.activeRange();
    let cells = range ? range.getCells().flat() : [];
    if (!cells.length) {
      const c = grid.activeCell();
      if (c) cells = [c];
    }
    const refs = cells.map((c) => grid.cellRef(c.getRow().getData(), c.getField())).filter(Boolean);
    if (!refs.length) return { error: "Select the plan cells the assumption is about (demand, production, hours…), then press Alt+A." };
    const measures = new Set(refs.map((r) => r.measure));
    if (measures.size > 1) return { error: "An assumption is about one measure: select cells of one row (or of the same row of several families)." };
    const measure = refs[0].measure;
    if (!data.measures.includes(measure)) {
      return { error: data.measures.length ? `You may not add assumptions to ${measure.replace(/_/g, " ")} here.` : "You may not add assumptions here." };
    }
    const months = refs.map((r) => r.month).sort();
    const families = Array.from(new Set(refs.map((r) => r.family || ""))).sort();
    return { measure, first: months[0], last: months[months.length - 1], families, cell: cells[0] };
  }

  function monthOptions(select, chosen) {
    select.textContent = "";
    const first = data.first_month;
    const last = data.last_month;
    let [y, m] = first.split("-").map(Number);
    for (;;) {
      const value = `${y}-${String(m).padStart(2, "0")}`;
      const opt = new Option(value, value, false, value === chosen);
      select.add(opt);
      if (value >= last) break;
      m += 1;
      if (m > 12) {
        m = 1;
        y += 1;
      }
    }
  }

  function openDialog() {
    const s = selectionScope();
    if (s.error) {
      grid && grid.setStatus(s.error, "bad");
      showPanel(s.error);
      return;
    }
    scope = s;
    const label = measureLabels[s.measure] || s.measure.replace(/_/g, " ");
    document.getElementById("assumption-scope").textContent =
      `${panel.dataset.stream} · ${label} · ${s.first}${s.last !== s.first ? " – " + s.last : ""}`;
    const fam = document.getElementById("assumption-family");
    fam.textContent = "";
    const familyMeasure = ["demand", "production", "opening_inventory"].includes(s.measure);
    if (familyMeasure) {
      s.families.filter(Boolean).forEach((f) => fam.add(new Option(f, f, false, s.families.length === 1)));
      fam.add(new Option("All families of the stream", "", false, s.families.length !== 1));
    } else {
      fam.add(new Option("The value stream", "", true, true));
    }
    fam.disabled = !familyMeasure;
    monthOptions(document.getElementById("assumption-first"), s.first);
    monthOptions(document.getElementById("assumption-last"), s.last);
    form.reset();
    fam.value = familyMeasure && s.families.length === 1 ? s.families[0] : "";
    document.getElementById("assumption-first").value = s.first;
    document.getElementById("assumption-last").value = s.last;
    errorEl.hidden = true;
    dialog.showModal();
    document.getElementById("assumption-text").focus();
  }
  extensions.addAssumption = openDialog;

  async function save(e) {
    if (e) e.preventDefault();
    if (!scope) return;
    const body = {
      measure: scope.measure,
      product_family: document.getElementById("assumption-family").value,
      first_month: document.getElementById("assumption-first").value,
      last_month: document.getElementById("assumption-last").value,
      text: document.getElementById("assumption-text").value,
      impact: document.getElementById("assumption-impact").value,
    };
    const button = document.getElementById("assumption-save");
    button.disabled = true;
    try {
      const res = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": grid.csrfToken(), Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) {
        const lines = (answer.errors || []).map((p) => (p.field ? `${p.field.replace(/_/g, " ")}: ` : "") + p.message);
        errorEl.textContent = [answer.detail || "The assumption was not saved."].concat(lines.length > 1 || (lines[0] && lines[0] !== answer.detail) ? lines : []).join(" · ");
        errorEl.hidden = false;
        return;
      }
      data.assumptions.push(answer.assumption);
      countEl.textContent = `${data.assumptions.length} in this stream`;
      dialog.close();
      repaint();
      showPanel();
      grid.setStatus("Assumption saved", "ok");
      gridEl.focus({ preventScroll: true });
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ the side panel

  function showPanel(message) {
    if (!grid) return;
    const cell = grid.activeCell();
    const rowData = cell ? cell.getRow().getData() : null;
    const ref = cell ? grid.cellRef(rowData, cell.getField()) : null;
    titleEl.textContent = ref ? grid.cellName(rowData, cell.getField()) : "Select a plan cell";
    const found = covering(ref);
    const flag = cell ? grid.flagAt(rowData.id, cell.getField()) : null;
    const asks = flag && flag.kind === "baseline" && !live(found).length;
    askEl.hidden = !asks && !message;
    askEl.textContent = "";
    if (message) {
      askEl.textContent = message;
    } else if (asks) {
      askEl.append(`${flag.reason} `);
      if (data.measures.includes("demand")) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "btn small primary";
        b.dataset.testid = "baseline-ask-assumption";
        b.textContent = "Add an assumption";
        b.addEventListener("click", openDialog);
        askEl.append(b);
      }
    }
    panelAdd.hidden = !(ref && data.measures.includes(ref.measure));
    listEl.textContent = "";
    if (!ref) return;
    if (!found.length) {
      listEl.innerHTML = '<li class="muted small">No assumption covers this cell.</li>';
      return;
    }
    found.forEach((a) => {
      const li = document.createElement("li");
      li.className = `assumption-item status-${a.status}`;
      li.dataset.assumption = a.id;
      li.innerHTML =
        `<p class="assumption-text">${escapeHtml(a.text)}</p>` +
        `<p class="small muted">${escapeHtml(a.product_family || "all families")} · ${escapeHtml(a.first_month)}${a.last_month !== a.first_month ? " – " + escapeHtml(a.last_month) : ""}` +
        `${a.impact ? " · " + escapeHtml(a.impact) : ""} · ${escapeHtml(a.owner || "no owner")} · <span class="badge status-${escapeHtml(a.status)}">${escapeHtml(a.status)}</span>` +
        ` · <a href="${escapeHtml(registerUrl)}${a.id}/">${a.can_change ? "edit" : "history"}</a></p>`;
      listEl.appendChild(li);
    });
  }

  // ------------------------------------------------------------------ wiring

  function start() {
    grid = window.sofpGrid;
    if (!grid) return;
    const table = grid.table();
    // (Subscribing to Tabulator's range events changed how it tracks a selection: keys and
    // clicks are enough to follow it.)
    // Moving the selection updates the panel; Alt+A's own keys keep its answer in view.
    gridEl.addEventListener("keyup", (e) => {
      if (e.altKey || ["Alt", "Shift", "Control", "Meta"].includes(e.key)) return;
      showPanel();
    });
    gridEl.addEventListener("mouseup", () => setTimeout(showPanel, 0));
    table.on("tableBuilt", () => {
      repaint();
      showPanel();
    });
    load();
  }

  gridEl.addEventListener("keydown", (e) => {
    if (document.querySelector("dialog[open]")) return;
    if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === "a" || e.key === "A" || e.code === "KeyA")) {
      e.preventDefault();
      e.stopPropagation();
      openDialog();
    }
  });
  addBtn.addEventListener("click", openDialog);
  panelAdd.addEventListener("click", openDialog);
  form.addEventListener("submit", save);
  document.getElementById("assumption-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) save(e);
  });
  document.getElementById("assumption-cancel").addEventListener("click", () => {
    dialog.close();
    gridEl.focus({ preventScroll: true });
  });
  window.sofpAssumptions = { data: () => data, open: openDialog, reload: load };
  if (window.sofpGrid) start();
  else document.addEventListener("sofp:grid-ready", start, { once: true });
})();
