// The guest list's selection: select all, a count, and ticks that survive the live refresh. The
// table keeps refreshing while guests are ticked, because their state cells are what one watches
// after a bulk start; the ticks are put back on the rows that are still there after each swap.
(() => {
  "use strict";
  const table = document.getElementById("guest-table");
  const form = document.getElementById("bulk");
  if (!table || !form) return;
  const boxes = () => [...table.querySelectorAll("input[name=guests]")];
  let kept = [];

  function update() {
    const all = boxes();
    const ticked = all.filter((box) => box.checked);
    const master = table.querySelector("[data-select-all]");
    if (master) {
      master.hidden = all.length === 0;
      master.checked = all.length > 0 && ticked.length === all.length;
      master.indeterminate = ticked.length > 0 && ticked.length < all.length;
    }
    form.querySelector("[data-bulk-count]").textContent = ticked.length
      ? interpolate(ngettext("%(n)s selected:", "%(n)s selected:", ticked.length), { n: ticked.length }, true)
      : gettext("Tick guests to act on several at once:");
    for (const button of form.querySelectorAll("button")) button.disabled = ticked.length === 0;
  }

  table.addEventListener("change", (event) => {
    if (event.target.matches("[data-select-all]")) {
      for (const box of boxes()) box.checked = event.target.checked;
    }
    update();
  });
  // A live refresh re-reads the list as the address bar shows it (filters, sort and page).
  table.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt === table) event.detail.path = location.pathname + location.search;
  });
  table.addEventListener("htmx:beforeSwap", () => {
    kept = boxes().filter((box) => box.checked).map((box) => box.value);
  });
  table.addEventListener("htmx:afterSwap", () => {
    for (const box of boxes()) box.checked = kept.includes(box.value);
    update();
  });
  form.addEventListener("submit", () => {
    form.elements.next.value = location.pathname + location.search;
  });
  update();
})();
