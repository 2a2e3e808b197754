// The baseline page: while a run is active, poll its progress and reload when it ends.
(function () {
  "use strict";
  const box = document.querySelector("[data-testid=baseline-run]");
  if (!box || !box.dataset.active) return;
  const bar = box.querySelector("[data-testid=baseline-bar]");
  const count = box.querySelector("[data-testid=baseline-count]");
  const badge = box.querySelector("[data-testid=baseline-status]");
  async function poll() {
    try {
      const res = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (res.ok) {
        const s = await res.json();
        bar.style.width = (s.percent || 0) + "%";
        count.textContent = s.done + " of " + s.total;
        badge.textContent = s.label;
        if (!s.active) { window.location.reload(); return; }
      }
    } catch (e) { /* offline for a moment: try again */ }
    window.setTimeout(poll, 1500);
  }
  window.setTimeout(poll, 1000);
})();
