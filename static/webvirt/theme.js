// Light or dark: a choice made with the toggle (kept in localStorage) wins over the system's
// prefers-color-scheme. Loaded in <head> without defer, so the first frame has the right theme.
(() => {
  "use strict";
  const root = document.documentElement;
  const KEY = "webvirt-theme";
  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function stored() {
    try {
      return localStorage.getItem(KEY);
    } catch {
      return null; // storage disabled: follow the system
    }
  }

  function isDark() {
    return root.dataset.theme ? root.dataset.theme === "dark" : systemDark.matches;
  }

  function showState() {
    for (const button of document.querySelectorAll("[data-theme-toggle]")) {
      button.setAttribute("aria-pressed", String(isDark()));
    }
  }

  const choice = stored();
  if (choice === "dark" || choice === "light") root.dataset.theme = choice;

  document.addEventListener("DOMContentLoaded", showState);
  systemDark.addEventListener("change", showState);
  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-theme-toggle]")) return;
    root.dataset.theme = isDark() ? "light" : "dark";
    try {
      localStorage.setItem(KEY, root.dataset.theme);
    } catch {
      // not kept across pages, but applied to this one
    }
    showState();
  });
})();
