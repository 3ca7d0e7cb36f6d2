// Live pages: one WebSocket per tab (core/live.py). Elements marked data-live="topic ..." get a
// `live` event when something they show changed (events named in data-live-ignore are not that);
// htmx fragments use hx-trigger="live" to re-read themselves. After a dropped connection every
// follower re-reads once, so nothing stays stale.
(function () {
  "use strict";
  const COALESCE_MS = 100; // a burst of events (a resync) becomes one re-read per element
  const MAX_RETRY_MS = 15000;
  let socket = null;
  let retryMs = 1000;
  let connectedBefore = false;
  const following = new Set();
  const pending = new Map(); // element -> last event detail, until its timer fires

  function followers(topic, event) {
    // data-live-ignore="event ...": events on the topic that change nothing the element shows.
    return Array.from(document.querySelectorAll("[data-live]")).filter(
      (el) =>
        (topic === null || el.dataset.live.split(/\s+/).includes(topic)) &&
        !(event && (el.dataset.liveIgnore || "").split(/\s+/).includes(event))
    );
  }

  function topicsOnPage() {
    const topics = new Set();
    document.querySelectorAll("[data-live]").forEach((el) => {
      el.dataset.live.split(/\s+/).forEach((t) => t && topics.add(t));
    });
    return topics;
  }

  function typingIn(el) {
    const active = document.activeElement;
    return active && el.contains(active) && active.matches("input, select, textarea");
  }

  function deliver(el) {
    const last = pending.get(el);
    if (!el.isConnected) return pending.delete(el);
    if (typingIn(el)) {
      // Never swap away what someone is typing: re-read when they leave the field.
      el.addEventListener("focusout", () => setTimeout(() => deliver(el), 0), { once: true });
      return;
    }
    pending.delete(el);
    el.dispatchEvent(new CustomEvent("live", { detail: last }));
  }

  function tell(el, detail) {
    if (!pending.has(el)) setTimeout(() => deliver(el), COALESCE_MS);
    pending.set(el, detail);
  }

  function subscribe() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const fresh = Array.from(topicsOnPage()).filter((t) => !following.has(t));
    if (fresh.length) {
      fresh.forEach((t) => following.add(t));
      socket.send(JSON.stringify({ subscribe: fresh }));
    }
  }

  function onMessage(message) {
    const data = JSON.parse(message.data);
    if (!data.topic) return; // a subscription's answer
    document.dispatchEvent(new CustomEvent("webvirt:event", { detail: data }));
    followers(data.topic, data.event).forEach((el) => tell(el, data));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/live/`);
    socket.addEventListener("open", () => {
      retryMs = 1000;
      following.clear();
      subscribe();
      document.documentElement.dataset.liveState = "connected";
      if (connectedBefore) followers(null).forEach((el) => tell(el, { event: "reconnected" }));
      connectedBefore = true;
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", (event) => {
      document.documentElement.dataset.liveState = "disconnected";
      if (event.code === 4401 || event.code === 4403) return; // signed out or foreign: retrying cannot help
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!document.body.dataset.signedIn) return;
    connect();
    // Fragments swapped in may follow topics the page did not follow yet.
    document.body.addEventListener("htmx:afterSettle", subscribe);
  });
})();
