// The sidebar tree (guests/tree.py): a filter by name, and branches that stay open or closed as
// you left them across live refreshes and pages (sessionStorage). On narrow screens it starts closed.
(function () {
  "use strict";
  const CLOSED = "webvirt.tree.closed";

  function closedKeys() {
    try {
      return new Set(JSON.parse(sessionStorage.getItem(CLOSED) || "[]"));
    } catch (error) {
      return new Set();
    }
  }

  function applyFilter(tree) {
    const input = tree.querySelector("[data-tree-filter]");
    const words = (input ? input.value : "").trim().toLowerCase();
    tree.querySelectorAll("li.branch").forEach((branch) => {
      let shown = 0;
      branch.querySelectorAll("ul li").forEach((item) => {
        const link = item.querySelector("a[data-name]");
        const match = !words || (link !== null && link.dataset.name.toLowerCase().includes(words));
        item.hidden = !match;
        if (match) shown += 1;
      });
      const hostName = branch.querySelector("summary [data-name]");
      const hostMatches = hostName && words && hostName.dataset.name.toLowerCase().includes(words);
      if (hostMatches) branch.querySelectorAll("ul li").forEach((item) => (item.hidden = false));
      branch.hidden = Boolean(words) && !shown && !hostMatches;
    });
  }

  function restore(tree, filterText) {
    const closed = closedKeys();
    tree.querySelectorAll("details[data-tree-key]").forEach((details) => {
      details.open = !closed.has(details.dataset.treeKey);
      details.addEventListener("toggle", () => {
        const keys = closedKeys();
        if (details.open) keys.delete(details.dataset.treeKey);
        else keys.add(details.dataset.treeKey);
        sessionStorage.setItem(CLOSED, JSON.stringify(Array.from(keys)));
      });
    });
    const input = tree.querySelector("[data-tree-filter]");
    if (input) {
      if (filterText) input.value = filterText;
      input.addEventListener("input", () => applyFilter(tree));
      applyFilter(tree);
    }
  }

  let filterText = "";
  document.addEventListener("htmx:beforeSwap", (event) => {
    const input = event.detail.target.querySelector && event.detail.target.querySelector("[data-tree-filter]");
    if (event.detail.target.id === "tree" && input) filterText = input.value;
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target.id === "tree") restore(event.target, filterText);
  });
  document.addEventListener("DOMContentLoaded", () => {
    const sidebar = document.querySelector("[data-sidebar]");
    if (sidebar && window.matchMedia("(max-width: 900px)").matches) sidebar.open = false;
  });
})();
