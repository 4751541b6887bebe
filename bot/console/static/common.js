"use strict";
// What the console's pages (console.js, analytics.js) share: elements built from text, never HTML; the JSON API
// with the session's CSRF token (sign-in answers it; a 401 goes back to the login page, which says why); the flash line.
window.SupportConsole = (() => {
  const $ = (id) => document.getElementById(id);
  let csrf = "";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  // the session ended (signed out in another tab, or the account was deactivated or changed): the login page says so
  const signedOut = () => { window.location.href = "/login?signed-out"; };

  // the server says why in data.error; these are for an answer without one (a proxy's, a body too large for it)
  const STATUS_TEXT = {
    403: "You are not allowed to do that, or not with this conversation.",
    413: "That is too long to send: shorten it and try again.",
    429: "Too many attempts: wait a few minutes and try again.",
  };
  const failure = (status, data) => (data && data.error) || STATUS_TEXT[status] || `The console answered ${status}.`;

  async function api(method, path, body) {
    const headers = {"X-CSRF-Token": csrf};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, {method, headers, credentials: "same-origin",
                                    body: body === undefined ? undefined : JSON.stringify(body)});
    if (resp.status === 401) { signedOut(); throw new Error("signed out"); }
    const data = await resp.json().catch(() => ({}));
    if (resp.status === 503 && data.code === "queue_unavailable") queueDown();
    if (!resp.ok) throw new Error(failure(resp.status, data));
    return data;
  }

  // Redis (the queue and the sign-ins) is down: a banner says so and /api/me is asked every few seconds; when it
  // answers, the banner goes and the page reads again what it shows (onRecovered), or loads afresh if it never could
  const RETRY_MS = 3000;
  const recovered = [];
  let retrying = null;
  function banner() {
    let box = $("queue-banner");
    if (!box) {
      box = el("div", {id: "queue-banner", class: "queue-banner", role: "alert"},
               "Queue unavailable: the console cannot reach its queue right now. Retrying\u2026");
      document.body.prepend(box);
    }
    return box;
  }
  function queueDown() {
    banner().hidden = false;
    if (retrying) return;
    retrying = setInterval(async () => {
      const resp = await fetch("/api/me", {credentials: "same-origin"}).catch(() => null);
      if (!resp || resp.status === 503) return;
      clearInterval(retrying);
      retrying = null;
      banner().hidden = true;
      if (!recovered.length) return window.location.reload();
      recovered.forEach((fn) => fn());
    }, RETRY_MS);
  }

  function flash(text, isError) {
    const box = $("flash");
    box.textContent = text;
    box.className = "flash" + (isError ? " error" : "");
    box.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => { box.hidden = true; }, 5000);
  }

  return {$, el, api, flash, signedOut, setCsrf: (token) => { csrf = token; }, onRecovered: (fn) => recovered.push(fn)};
})();
