/*
 * Shop support chat widget: one script tag, no dependencies but the vendored socket.io client.
 *
 *   <script>window.ShopChatConfig = {title: "Northwind help", customer: {id, signature, name}};</script>
 *   <script src="https://bot.example/webhooks/widget/widget.js" defer></script>
 *
 * Every text (visitor, bot, agent) is put into the page as text nodes, never as HTML.
 * The session id and token live in localStorage, so the chat survives reloads and navigation;
 * the server replays the history once per connection. The token is bound to the signed-in customer
 * (config.customer): when the page's customer changes, the server starts a fresh session.
 */
(function () {
  "use strict";
  if (window.__shopChatLoaded) return;
  window.__shopChatLoaded = true;

  var script = document.currentScript;
  var base = script ? script.src.replace(/\/widget\.js(\?.*)?$/, "") : "";
  var config = Object.assign({
    server: base ? new URL(base).origin : window.location.origin,
    title: "Chat with us",
    subtitle: "We usually answer right away",
    color: "#1f6f5c",
    language: document.documentElement.lang || "en",
    customer: null
  }, window.ShopChatConfig || {});
  var STORE = "shopchat:" + config.server;
  var RETRY_MS = 3000;  // a connection or session refused while the server's Redis is down is asked for again
  var state = { open: false, unread: 0, seen: {}, socket: null, connected: false };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  // Links become <a> elements built from text, everything else stays text: never innerHTML.
  function richText(text) {
    var frag = document.createDocumentFragment();
    var parts = String(text).split(/(https?:\/\/[^\s<>"']+)/g);
    parts.forEach(function (part, i) {
      if (i % 2 === 1) {
        var href = part.replace(/[.,;:!?)]+$/, "");
        frag.appendChild(el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: href }));
        if (href.length < part.length) frag.appendChild(document.createTextNode(part.slice(href.length)));
      } else if (part) {
        part.split("\n").forEach(function (line, j) {
          if (j) frag.appendChild(el("br"));
          frag.appendChild(document.createTextNode(line));
        });
      }
    });
    return frag;
  }

  var css = [
    ".sc-root{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d1d1f}",
    ".sc-launch{width:60px;height:60px;border-radius:50%;border:0;background:var(--sc);color:#fff;display:flex;align-items:center;justify-content:center;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);position:relative}",
    ".sc-launch:focus-visible,.sc-root button:focus-visible,.sc-input:focus-visible{outline:3px solid #f5a623;outline-offset:2px}",
    ".sc-badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;border-radius:11px;background:#d93025;color:#fff;font-size:12px;line-height:22px;text-align:center;padding:0 5px}",
    ".sc-panel{position:absolute;right:0;bottom:76px;width:370px;height:560px;max-height:calc(100vh - 110px);background:#fff;border-radius:16px;box-shadow:0 12px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".sc-panel[hidden]{display:none}",
    ".sc-head{background:var(--sc);color:#fff;padding:14px 16px;display:flex;align-items:center;gap:10px}",
    ".sc-head h2{font-size:16px;margin:0}.sc-head p{font-size:12px;margin:2px 0 0;opacity:.85}",
    ".sc-close{margin-left:auto;background:transparent;border:0;color:#fff;font-size:22px;cursor:pointer}",
    ".sc-status{background:#fff4e5;color:#8a4b00;font-size:13px;padding:6px 14px}.sc-status[hidden]{display:none}",
    ".sc-log{flex:1;overflow-y:auto;padding:14px;background:#f6f7f9;display:flex;flex-direction:column;gap:8px}",
    ".sc-msg{max-width:82%;padding:9px 12px;border-radius:14px;white-space:normal;word-wrap:break-word}",
    ".sc-msg a{color:inherit;text-decoration:underline}",
    ".sc-bot,.sc-agent{align-self:flex-start;background:#fff;border:1px solid #e3e5e8;border-bottom-left-radius:4px}",
    ".sc-agent{border-color:var(--sc)}",
    ".sc-visitor{align-self:flex-end;background:var(--sc);color:#fff;border-bottom-right-radius:4px}",
    ".sc-notice{align-self:center;background:#fff4e5;color:#8a4b00;font-size:13px;border-radius:8px}",
    ".sc-event{align-self:center;color:#5f6368;font-size:12px;text-align:center}",
    ".sc-queue{align-self:stretch;text-align:center;background:#eef2fb;color:#1d2430;font-size:13px;border-radius:8px;padding:6px}",
    ".sc-queue[hidden]{display:none}",
    ".sc-stop{margin-left:8px;border:0;background:none;color:inherit;text-decoration:underline;font:inherit;cursor:pointer}",
    ".sc-meta{display:block;font-size:11px;opacity:.65;margin-top:3px}",
    ".sc-who{display:block;font-size:12px;font-weight:600;margin-bottom:2px;color:var(--sc)}",
    ".sc-replies{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}",
    ".sc-reply{border:1px solid var(--sc);color:var(--sc);background:#fff;border-radius:16px;padding:6px 12px;cursor:pointer;font:inherit;font-size:14px}",
    ".sc-reply:hover{background:var(--sc);color:#fff}",
    ".sc-typing{align-self:flex-start;font-size:13px;color:#5f6368;font-style:italic}.sc-typing[hidden]{display:none}",
    ".sc-form{display:flex;border-top:1px solid #e3e5e8;padding:8px;gap:8px;background:#fff}",
    ".sc-input{flex:1;border:1px solid #ccd0d5;border-radius:20px;padding:9px 14px;font:inherit;resize:none;max-height:96px}",
    ".sc-send{border:0;background:var(--sc);color:#fff;border-radius:20px;padding:0 16px;font:inherit;cursor:pointer}",
    ".sc-send:disabled{opacity:.5;cursor:default}",
    "@media (max-width:480px){.sc-root{right:12px;bottom:12px}.sc-panel{position:fixed;inset:0;width:auto;height:auto;max-height:none;border-radius:0}.sc-open .sc-launch{display:none}}"
  ].join("\n");

  var root = el("div", { "class": "sc-root", style: "--sc:" + config.color });
  var badge = el("span", { "class": "sc-badge", "aria-label": "unread messages", hidden: "" });
  function chatIcon() {  // an SVG, not an emoji: it looks the same with or without emoji fonts
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "28"); svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z");
    svg.appendChild(path);
    return svg;
  }
  var launcher = el("button", { "class": "sc-launch", type: "button", "aria-label": "Open chat", "aria-expanded": "false",
                                 onclick: function () { toggle(); } }, [chatIcon(), badge]);
  var status = el("div", { "class": "sc-status", role: "status", hidden: "" });
  var log = el("div", { "class": "sc-log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  var typing = el("div", { "class": "sc-typing", hidden: "", text: "typing\u2026" });
  var queueText = el("span", {});
  var stopWaiting = el("button", { "class": "sc-stop", type: "button", text: "Stop waiting",
                                   onclick: function () { if (state.socket) state.socket.emit("leave_queue", {}); } });
  var queueLine = el("div", { "class": "sc-queue", hidden: "", role: "status" }, [queueText, stopWaiting]);
  var input = el("textarea", { "class": "sc-input", rows: "1", "aria-label": "Your message", placeholder: "Type your message\u2026", maxlength: "4000" });
  var send = el("button", { "class": "sc-send", type: "submit", text: "Send" });
  var form = el("form", { "class": "sc-form", onsubmit: function (e) { e.preventDefault(); submit(input.value); } }, [input, send]);
  var subtitle = el("p", { "class": "sc-subtitle", text: config.subtitle, "aria-live": "polite" });
  var panel = el("div", { "class": "sc-panel", role: "dialog", "aria-label": config.title, hidden: "" }, [
    el("div", { "class": "sc-head" }, [
      el("div", {}, [el("h2", { text: config.title }), subtitle]),
      el("button", { "class": "sc-close", type: "button", "aria-label": "Close chat", text: "\u00D7", onclick: function () { toggle(false); } })
    ]),
    status, log, form
  ]);
  log.appendChild(typing);
  root.appendChild(panel);
  root.appendChild(launcher);

  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(input.value); }
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && state.open) toggle(false); });

  function toggle(open) {
    state.open = open === undefined ? !state.open : open;
    panel.hidden = !state.open;
    root.classList.toggle("sc-open", state.open);  // on a phone the open panel covers the screen, launcher included
    launcher.setAttribute("aria-expanded", String(state.open));
    launcher.setAttribute("aria-label", state.open ? "Close chat" : "Open chat");
    if (state.open) { state.unread = 0; showBadge(); input.focus(); scroll(); }
    try { sessionStorage.setItem(STORE + ":open", state.open ? "1" : ""); } catch (e) { /* private mode */ }
  }

  function showBadge() {
    badge.hidden = state.unread === 0;
    badge.textContent = state.unread > 9 ? "9+" : String(state.unread);
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function time(ts) {
    var d = ts ? new Date(ts * 1000) : new Date();
    return d.toLocaleTimeString(config.language, { hour: "2-digit", minute: "2-digit" });
  }

  function clearReplies() {
    Array.prototype.slice.call(log.querySelectorAll(".sc-replies")).forEach(function (n) { n.remove(); });
  }

  function add(sender, text, opts) {
    opts = opts || {};
    var bubble = el("div", { "class": "sc-msg sc-" + sender });
    if (sender === "agent") bubble.appendChild(el("span", { "class": "sc-who", text: opts.agent || "Support team" }));
    bubble.appendChild(richText(text || ""));
    if (sender !== "notice" && sender !== "event") bubble.appendChild(el("span", { "class": "sc-meta", text: time(opts.timestamp) }));
    log.insertBefore(bubble, typing);
    var buttons = opts.buttons || [];
    if (buttons.length) {
      clearReplies();
      log.insertBefore(el("div", { "class": "sc-replies" }, buttons.map(function (b) {
        return el("button", { "class": "sc-reply", type: "button", text: b.title,
                              onclick: function () { submit(b.payload, b.title); } });
      })), typing);
    }
    if (!state.open && sender !== "visitor" && sender !== "event" && !opts.replay) { state.unread += 1; showBadge(); }
    scroll();
  }

  function saved() {
    try { return JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { return null; }
  }

  function metadata() {
    return config.customer ? { customer: config.customer } : {};
  }

  function submit(text, shown) {
    text = (text || "").trim();
    if (!text) return;
    if (!state.connected) { setStatus("Not connected: your message will be sent when the connection is back."); return; }
    clearReplies();
    add("visitor", shown || text);
    var meta = metadata();
    if (shown) meta.display_text = shown;  // a quick reply: the transcript shows its title, not the payload
    state.socket.emit("user_uttered", { message: text, metadata: meta });
    input.value = "";
  }

  // The header says who answers: the assistant, the person who has the chat, or that one is coming.
  function showWho(data) {
    if (data.state === "active") subtitle.textContent = "You're chatting with " + (data.agent || "our team");
    else if (data.state === "waiting" || data.state === "transferred") subtitle.textContent = "Connecting you with our team\u2026";
    else subtitle.textContent = config.subtitle;  // bot, left, expired: the assistant again
  }

  // A person's part of the conversation: one line that keeps the visitor's place in the queue up to
  // date, and short notes when someone joins, passes the chat on or hands back to the assistant.
  function handoffState(data) {
    showWho(data);
    queueLine.hidden = data.state !== "waiting";
    if (data.state === "waiting") {
      var minutes = Math.max(1, Math.round((data.eta_seconds || 0) / 60));
      queueText.textContent = "You're number " + data.position + " in line" +
        (data.eta_seconds ? " \u00B7 about " + minutes + " min" : "") + ". Keep writing: they'll see everything.";
      log.insertBefore(queueLine, typing);
      scroll();
    } else if (data.state === "active" && !data.resumed) {
      add("event", (data.agent || "Someone from our team") + " joined the chat");
    } else if (data.state === "transferred" && data.reason === "agent_offline") {
      add("event", "Our colleague got disconnected: you keep your place and the next free person takes over");
    } else if (data.state === "transferred") {
      add("event", "You're being passed to our " + (data.team || "support") + " team");
    } else if (data.state === "left") {
      add("event", "You left the queue");
    } else if (data.state === "bot") {
      typing.hidden = true;
      add("event", "Our team handed you back to the assistant");
    }
  }

  // "Anna is typing..." holds only while it is said again: the console repeats it every few seconds, so a
  // lost "stopped typing" (closed tab, dropped connection) cannot leave it on for the rest of the chat
  var TYPING_STALE_MS = 10000;
  var typingTimer = null;
  function showTyping(data) {
    clearTimeout(typingTimer);
    typing.hidden = !data.on;
    typing.textContent = data.who === "agent" && data.name ? data.name + " is typing\u2026" : "typing\u2026";
    if (data.on) typingTimer = setTimeout(function () { typing.hidden = true; }, TYPING_STALE_MS);
    scroll();
  }

  function setStatus(text) {
    status.hidden = !text;
    status.textContent = text || "";
  }

  function connect() {
    var socket = window.io(config.server, { path: "/socket.io", transports: ["websocket", "polling"] });
    state.socket = socket;
    function requestSession() {
      var s = saved();
      var request = { metadata: metadata() };  // who the page says the visitor is: the session is bound to it
      if (s) { request.session_id = s.session_id; request.session_token = s.session_token; }
      socket.emit("session_request", request);
    }
    socket.on("connect", requestSession);
    socket.on("session_token", function (data) {
      var s = saved();
      var resumed = s && s.session_id === data.session_id;
      try { localStorage.setItem(STORE, JSON.stringify(data)); } catch (e) { /* private mode */ }
      state.connected = true;
      send.disabled = false;
      setStatus(state.wasConnected ? "Reconnected." : "");
      if (state.wasConnected) setTimeout(function () { if (state.connected) setStatus(""); }, 2500);
      state.wasConnected = true;
      if (!resumed) {
        showWho({ state: "bot" });
        while (log.firstChild !== typing) log.removeChild(log.firstChild);
        socket.emit("user_uttered", { message: "/greet", metadata: metadata() });
      }
    });
    socket.on("history", function (data) {
      // replace what is shown: a reconnect replays the history again, and nothing may appear twice
      while (log.firstChild !== typing) log.removeChild(log.firstChild);
      (data.messages || []).forEach(function (m) {
        // the transcript keeps who the agent was as {id, name}; live messages carry the name alone
        var agent = m.agent && typeof m.agent === "object" ? m.agent.name : m.agent;
        add(m.sender, m.text, { agent: agent, timestamp: m.timestamp, buttons: [], replay: true });
      });
    });
    socket.on("bot_uttered", function (data) {
      if (data.agent) showTyping({ on: false });  // what they were typing has arrived
      var buttons = (data.quick_replies || data.buttons || []).map(function (b) { return { title: b.title, payload: b.payload }; });
      add(data.agent ? "agent" : "bot", data.text || "", { agent: data.agent, buttons: buttons });
    });
    socket.on("typing", function (data) { showTyping(data); });
    socket.on("notice", function (data) {
      add("notice", data.text);
      // the server could not check its limits (a short outage): no session yet, so ask again in a moment
      if (data.code === "unavailable" && !state.connected && socket.connected) setTimeout(requestSession, RETRY_MS);
    });
    socket.on("handoff", function (data) { handoffState(data || {}); });
    socket.on("disconnect", function () {
      state.connected = false;
      send.disabled = true;
      setStatus("Connection lost. Reconnecting\u2026");
    });
    socket.on("connect_error", function (err) {
      state.connected = false;
      send.disabled = true;
      var reason = err && err.data && err.data.text;
      setStatus(reason || "Can't reach the chat right now. Retrying\u2026");
      // refused by the server for a short outage: socket.io does not retry a refusal by itself
      if (err && err.data && err.data.code === "unavailable") setTimeout(function () { socket.connect(); }, RETRY_MS);
    });
  }

  function start() {
    var style = el("style", { text: css });
    document.head.appendChild(style);
    document.body.appendChild(root);
    send.disabled = true;
    try { if (sessionStorage.getItem(STORE + ":open")) toggle(true); } catch (e) { /* private mode */ }
    if (window.io) return connect();
    var loader = el("script", { src: (base || config.server + "/webhooks/widget") + "/socket.io.min.js" });
    loader.onload = connect;
    loader.onerror = function () { setStatus("The chat could not be loaded."); };
    document.head.appendChild(loader);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
