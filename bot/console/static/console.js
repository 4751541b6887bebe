"use strict";
// The agent console. Every piece of user text goes in with textContent: never as HTML.
(() => {
  const {$, el, api, flash, signedOut, setCsrf, onRecovered} = window.SupportConsole;
  const state = {me: null, view: "queue", cid: null, queue: null, conv: null,
                 typingTimer: null, typingCid: null, typingSentAt: 0, drafts: {}, unread: {}, live: {}, flagged: {}};
  const LIVE_KEPT = 50;  // live messages remembered per conversation, until its transcript has them
  const LIVE_SAME_SECONDS = 30;  // a live message and a transcript turn this close with the same words are one
  const TYPING_IDLE_MS = 3000;  // "is typing" ends this long after the last keystroke
  const TYPING_REFRESH_MS = 3000;  // while typing goes on it is said again: the widget forgets it after 10 s
  const ALERTS_KEY = "console:alerts";

  const duration = (s) => s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${(s / 3600).toFixed(1)} h`;
  const clock = (ts) => ts ? new Date(ts * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : "";
  const frustrationBar = (score) => el("span", {class: "meter", title: `frustration ${Number(score || 0).toFixed(2)}`},
    el("span", {class: "meter-fill " + (score >= 0.5 ? "hot" : ""), "data-w": Math.round((score || 0) * 100)}));
  function sizeMeters(root) { root.querySelectorAll(".meter-fill").forEach((m) => { m.style.width = m.dataset.w + "%"; }); }

  // --- routing -------------------------------------------------------------------------
  function route() {
    const hash = window.location.hash || "#/queue";
    const conv = hash.match(/^#\/c\/(.+)$/);
    const before = state.cid;
    state.view = conv ? "conversation" : hash.slice(2) || "queue";
    state.cid = conv ? decodeURIComponent(conv[1]) : null;
    if (state.cid !== before) leaveConversation();
    for (const name of ["queue", "conversation", "tickets", "admin"]) $(`view-${name}`).hidden = name !== state.view;
    if (state.view === "queue") loadQueue();
    if (state.view === "conversation") loadConversation();
    if (state.view === "tickets") loadTickets();
    if (state.view === "admin") loadAdmin();
  }

  // --- queue ---------------------------------------------------------------------------
  async function loadQueue() {
    try { state.queue = await api("GET", "/api/queue"); } catch (err) { return flash(`Queue not loaded: ${err.message}`, true); }
    renderQueue();
  }

  function renderQueue() {
    const q = state.queue;
    if (!q) return;
    showCounts();
    const rows = q.waiting.map((h) => el("tr", {class: h.frustration >= 0.5 ? "hot" : ""},
      el("td", {}, h.position),
      el("td", {}, duration(h.waiting_seconds), h.priority > 0 ? el("small", {class: "muted"}, ` (+${Math.round(h.priority / 60)} min priority)`) : null),
      el("td", {}, h.reason_label || h.reason),
      el("td", {}, h.intent_label || topicText(h.intent), el("small", {class: "muted"}, ` · ${h.team}`)),
      el("td", {}, frustrationBar(h.frustration), (h.signals || []).slice(0, 3).map((s) => el("small", {class: "signal"}, s.label || s.name))),
      el("td", {}, h.customer_id ? `${h.customer_id}${h.customer_verified ? " ✓" : ""}` : "guest"),
      el("td", {}, el("button", {onclick: () => claim(h.conversation_id)}, "Claim"),
         el("a", {href: `#/c/${encodeURIComponent(h.conversation_id)}`, class: "small-link"}, "read"))));
    $("waiting").replaceChildren(...rows);
    sizeMeters($("waiting"));
    $("waiting-empty").hidden = q.waiting.length > 0;
    $("mine").replaceChildren(...q.mine.map((h) => el("li", {},
      el("a", {href: `#/c/${encodeURIComponent(h.conversation_id)}`}, h.customer_id || h.conversation_id.slice(0, 10)),
      el("small", {class: "muted"}, ` ${h.intent || ""} · since ${clock(h.claimed_at)}`))));
    if (!q.mine.length) $("mine").replaceChildren(el("li", {class: "muted"}, "None yet."));
    $("agents").replaceChildren(...q.agents.map((a) => el("li", {},
      el("span", {class: `dot ${a.status}`}), ` ${a.name} `, el("small", {class: "muted"}, `${a.chats}/${a.max_chats}${a.teams.length ? " · " + a.teams.join(", ") : ""}`))));
    $("handling").textContent = q.handling_seconds === null ? "no data yet" : duration(q.handling_seconds);
  }

  async function claim(cid) {
    try {
      await api("POST", `/api/conversations/${encodeURIComponent(cid)}/claim`);
      window.location.hash = `#/c/${encodeURIComponent(cid)}`;
    } catch (err) { flash(err.message, true); loadQueue(); }
  }

  $("claim-next").addEventListener("click", async () => {
    try {
      const data = await api("POST", "/api/queue/next");
      window.location.hash = `#/c/${encodeURIComponent(data.conversation.conversation_id)}`;
    } catch (err) { flash(err.message, true); }
  });

  // --- conversation --------------------------------------------------------------------
  async function loadConversation() {
    const cid = state.cid;
    try { state.conv = await api("GET", `/api/conversations/${encodeURIComponent(cid)}`); }
    catch (err) { return flash(`Conversation not loaded: ${err.message}`, true); }
    if (cid !== state.cid) return;
    renderConversation();
    if (!$("canned").dataset.loaded) loadCanned();
  }

  function turn(t) {
    if (t.sender === "system") return el("li", {class: "turn system"}, t.text, el("small", {}, ` · ${clock(t.timestamp)}`));
    const who = t.sender === "agent" ? (t.agent && t.agent.name) || "Agent" : t.sender === "bot" ? "Bot" : "Visitor";
    const meta = [];
    if (t.intent === "nlu_fallback") meta.push("not understood by the bot");
    else if (t.intent) meta.push(`${t.intent} ${t.confidence !== null && t.confidence !== undefined ? Number(t.confidence).toFixed(2) : ""}`);
    if (t.frustration) meta.push(`frustration ${Number(t.frustration).toFixed(2)}`);
    return el("li", {class: `turn ${t.sender}`},
      el("div", {class: "who"}, who, el("small", {class: "muted"}, ` ${clock(t.timestamp)}`)),
      el("div", {class: "text"}, t.text),
      t.sender === "visitor" ? misunderstood(t) : null,
      (t.buttons || []).length ? el("div", {class: "buttons"}, t.buttons.map((b) => el("span", {class: "chip"}, b.title))) : null,
      meta.length ? el("div", {class: "meta"}, meta.join(" · ")) : null);
  }

  // "Bot misunderstood": the message (found on the server by its timestamp in the transcript) goes to the trainers'
  // inbox. Only on visitor messages the transcript has recorded; a live one gets it once the transcript is read again.
  function misunderstood(t) {
    const cid = state.cid, flagged = state.flagged[cid] || (state.flagged[cid] = new Set());
    if (t.live || typeof t.timestamp !== "number") return null;
    if (flagged.has(t.timestamp)) return el("span", {class: "pill flagged"}, "flagged for the trainers");
    const button = el("button", {type: "button", class: "link flag", title: "Put this message in the trainers' inbox"}, "Bot misunderstood");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api("POST", `/api/conversations/${encodeURIComponent(cid)}/flag`, {timestamp: t.timestamp});
        flagged.add(t.timestamp);
        // the transcript may have been drawn again while the request ran (a live event): then draw it once more
        if (button.isConnected) button.replaceWith(el("span", {class: "pill flagged"}, "flagged for the trainers"));
        else if (state.conv && state.cid === cid) renderConversation();
      } catch (err) { button.disabled = false; flash(`Not flagged: ${err.message}`, true); }
    });
    return button;
  }

  // --- customer context: who the visitor is, the order in question, why a person ----------
  const topicText = (intent) => intent ? intent.replaceAll("_", " ") : "-";

  function orderLine(o) {
    const when = o.delivered ? `delivered ${o.delivered}` : o.expected ? `expected ${o.expected}` : "";
    const details = [`placed ${o.placed_at.slice(0, 10)}`, o.items, when,
                     o.tracking_number ? `${o.carrier || ""} ${o.tracking_number}`.trim() : ""].filter(Boolean);
    return [el("strong", {}, `#${o.number}`), ` ${o.status} · ${o.total}`,
            o.late ? el("span", {class: "signal late", title: "not delivered by the expected day"}, "late") : null,
            el("br"), el("small", {class: "muted"}, details.join(" · "))];
  }

  function customerBox(c) {
    const who = c.customer;
    const found = c.order ? [el("p", {class: "order current-order"}, el("small", {class: "muted"}, "Order in question"), el("br"), orderLine(c.order))] : [];
    if (!who.id) {
      return [el("p", {class: "muted"}, c.order ? `Guest: proved order #${c.order.number} with ${who.email}.` : "Not signed in: verify before sharing order details."), ...found];
    }
    return [el("p", {}, el("strong", {class: "customer-name"}, who.name || who.id), " ",
              el("span", {class: who.verified ? "pill ok" : "pill"}, who.verified ? "verified (signed in)" : "not verified")),
            who.email ? el("p", {class: "customer-email"}, who.email) : null,
            who.name ? el("p", {}, el("small", {class: "muted"}, `customer ${who.id}`)) : null, ...found];
  }

  function signalsBox(h) {
    const evidence = (s) => !s.evidence ? null : s.quote === false ? el("small", {class: "muted"}, ` (${s.evidence})`) : [": ", el("q", {}, s.evidence)];
    return el("div", {},
      el("p", {}, `Reason: ${(h.reason_label || h.reason).toLowerCase()} · asked about: ${(h.intent_label || topicText(h.intent)).toLowerCase()} · team ${h.team}`),
      el("p", {}, "Frustration ", frustrationBar(h.frustration), ` ${Number(h.frustration).toFixed(2)}`),
      el("ul", {class: "plain signals"}, (h.signals || []).map((s) => el("li", {}, s.label || s.name, evidence(s)))));
  }

  // the visitor's rating of this conversation, with what went wrong when they rated it low
  function ratingLine(r) {
    if (!r) return [];
    const score = (v, of) => (v === null || v === undefined ? "skipped" : `${v}/${of}`);
    return [el("li", {class: "rating"}, el("small", {class: "muted"}, `Visitor's rating · ${r.created_at.slice(0, 16).replace("T", " ")}`),
      el("br"), `Satisfaction ${score(r.csat, 5)} · would recommend ${score(r.nps, 10)}`,
      r.comment ? [el("br"), "What went wrong: ", el("q", {}, r.comment)] : null)];
  }

  // A visitor's message reaches the agents live before Rasa records it, so a transcript loaded in between
  // lacks it: the messages this tab received live and the transcript does not have yet are added at its end.
  function withLiveMessages(c) {
    const recorded = (t) => c.transcript.some((x) => x.sender === t.sender && x.text === t.text &&
                                                  Math.abs((x.timestamp || 0) - (t.timestamp || 0)) < LIVE_SAME_SECONDS);
    c.transcript.push(...(state.live[c.conversation_id] || []).filter((t) => !recorded(t)));
  }

  function renderConversation() {
    const c = state.conv, h = c.handoff;
    $("conv-title").textContent = c.customer.name || (c.customer.id ? `Customer ${c.customer.id}` : "Guest visitor");
    $("conv-state").textContent = h ? (h.status === "active" ? `with ${h.agent_name}` : h.status) : "bot only";
    withLiveMessages(c);
    $("transcript").replaceChildren(...c.transcript.map(turn));
    $("transcript").scrollTop = $("transcript").scrollHeight;
    $("reply-form").hidden = !c.mine;  // only the owner of an open chat can write in it
    if (!c.mine) delete state.drafts[c.conversation_id];
    const draft = state.drafts[c.conversation_id] || "";
    if ($("reply").value !== draft) $("reply").value = draft;
    $("owner-tools").hidden = !c.mine;
    $("not-mine").hidden = c.mine || !h || h.status !== "waiting";
    $("customer").replaceChildren(...customerBox(c));
    $("orders").replaceChildren(...(c.orders.length ? c.orders.map((o) => el("li", {class: "order"}, orderLine(o)))
      : [el("li", {class: "muted"}, c.orders_error ? `Orders unavailable: ${c.orders_error}` : "No orders to show.")]));
    $("signals").replaceChildren(h ? signalsBox(h) : el("p", {class: "muted"}, "Not handed over."));
    sizeMeters($("signals"));
    $("notes").replaceChildren(...ratingLine(c.rating), ...c.notes.map((n) => el("li", {}, el("small", {class: "muted"}, `${n.author} · ${n.created_at.slice(0, 16).replace("T", " ")}`), el("br"), n.text)));
    const targets = [el("option", {value: ""}, "to…")];
    for (const team of ["orders", "payments", "general"]) targets.push(el("option", {value: `team:${team}`}, `team ${team}`));
    for (const a of (state.queue ? state.queue.agents : [])) {
      if (a.id !== state.me.username && a.status === "available") targets.push(el("option", {value: `agent:${a.id}`}, a.name));
    }
    $("transfer-to").replaceChildren(...targets);
  }

  async function loadCanned() {
    try {
      const data = await api("GET", "/api/canned");
      $("canned").replaceChildren(el("option", {value: ""}, "Canned answers…"), ...data.canned.map((c) => el("option", {value: c.text}, c.title)));
      $("canned").dataset.loaded = "1";
    } catch (err) { flash(`Canned answers not loaded: ${err.message}`, true); }
  }

  $("canned").addEventListener("change", () => {
    if (!$("canned").value) return;
    const box = $("reply");
    box.value = box.value ? `${box.value} ${$("canned").value}` : $("canned").value;
    state.drafts[state.cid] = box.value;
    $("canned").value = "";
    box.focus();
  });

  // "Anna is typing" in the widget: on while keys are pressed (said again every few seconds, so the widget
  // knows it is still true), off on send, on leaving the box or the conversation, and after a short pause
  async function setTyping(on) {
    clearTimeout(state.typingTimer);
    if (on) state.typingTimer = setTimeout(() => setTyping(false), TYPING_IDLE_MS);
    const cid = on ? state.cid : state.typingCid;
    if (!cid || (on && state.typingCid === cid && Date.now() - state.typingSentAt < TYPING_REFRESH_MS)) return;
    state.typingCid = on ? cid : null;
    state.typingSentAt = on ? Date.now() : 0;
    try { await api("POST", `/api/conversations/${encodeURIComponent(cid)}/typing`, {on}); } catch (err) { /* not worth a message */ }
  }

  // a draft belongs to its conversation: it is never shown in, or sent to, another one
  function leaveConversation() {
    setTyping(false);
    state.conv = null;
    $("reply-form").hidden = true;
    $("owner-tools").hidden = true;
    $("not-mine").hidden = true;
    $("transcript").replaceChildren();
    $("reply").value = state.drafts[state.cid] || "";
    if (state.cid) delete state.unread[state.cid];
    showCounts();
  }

  $("reply").addEventListener("input", () => {
    state.drafts[state.cid] = $("reply").value;
    setTyping(Boolean($("reply").value.trim()));
  });
  $("reply").addEventListener("blur", () => setTyping(false));
  $("reply").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("reply-form").requestSubmit(); }
  });
  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const cid = state.cid, text = $("reply").value.trim();
    if (!text || !state.conv || state.conv.conversation_id !== cid || !state.conv.mine) return;
    $("send").disabled = true;
    try {
      await api("POST", `/api/conversations/${encodeURIComponent(cid)}/messages`, {text});
      delete state.drafts[cid];
      if (state.cid === cid) $("reply").value = "";
      setTyping(false);
    } catch (err) { flash(`Not sent: ${err.message}`, true); }
    $("send").disabled = false;
  });
  $("claim-this").addEventListener("click", () => claim(state.cid).then(loadConversation));
  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note").value.trim();
    if (!text) return;
    try { await api("POST", `/api/conversations/${encodeURIComponent(state.cid)}/notes`, {text}); $("note").value = ""; loadConversation(); }
    catch (err) { flash(err.message, true); }
  });
  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const [kind, target] = $("transfer-to").value.split(":");
    if (!target) return;
    try {
      await api("POST", `/api/conversations/${encodeURIComponent(state.cid)}/transfer`, {[kind]: target});
      flash("Transferred.");
      window.location.hash = "#/queue";
    } catch (err) { flash(err.message, true); }
  });
  $("handback-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/api/conversations/${encodeURIComponent(state.cid)}/handback`, {summary: $("summary").value});
      $("summary").value = "";
      flash("Handed back to the bot; it asks the visitor for a rating.");
      loadConversation();
    } catch (err) { flash(err.message, true); }
  });

  // --- tickets -------------------------------------------------------------------------
  let ticketsAsked = 0;  // a slower answer to an earlier load (another filter) must not replace a newer one
  async function loadTickets() {
    const asked = ++ticketsAsked;
    let data;
    try { data = await api("GET", `/api/tickets?status=${encodeURIComponent($("ticket-filter").value)}`); }
    catch (err) { return asked === ticketsAsked ? flash(`Tickets not loaded: ${err.message}`, true) : undefined; }
    if (asked !== ticketsAsked) return;
    const sending = Boolean(data.mail && data.mail.sending);
    // without a mail server, say so above the list, not only after a reply (removed, not hidden: .signal sets display)
    if ($("tickets-mail-note")) $("tickets-mail-note").remove();
    if (!sending) $("tickets").before(el("p", {id: "tickets-mail-note", class: "signal"}, data.mail.note));
    const answered = async (call) => {
      try { const answer = await call(); flash(answer.mail.note, Boolean(answer.mail.error)); loadTickets(); }
      catch (err) { flash(err.message, true); }
    };
    const mailLine = (t) => {  // whether the customer got the answer, or why not (with a way to send it again)
      const resend = el("button", {type: "button", class: "link", onclick: () => answered(() => api("POST", `/api/tickets/${t.id}/send`))}, "Send again");
      if (t.send_error) return el("p", {class: "error mail-state"}, `Not sent: ${t.send_error} `, resend);
      if (t.sent_at) return el("p", {class: "mail-state"}, el("span", {class: "pill ok"}, `Emailed to ${t.email} · ${t.sent_at.slice(0, 16).replace("T", " ")} UTC`));
      if (t.reply) return el("p", {class: "muted mail-state"}, "Stored, not sent. ", sending ? resend : null);
      return null;
    };
    $("tickets").replaceChildren(...data.tickets.map((t) => {
      const reply = el("textarea", {rows: 2, placeholder: sending ? `Answer (emailed to ${t.email})` : "Answer (stored, not sent)"});
      reply.value = t.reply || "";
      const status = el("select", {}, ["answered", "open", "closed"].map((s) => el("option", {value: s}, s)));
      const email = el("input", {type: "checkbox", checked: true});
      return el("li", {class: "ticket"},
        el("div", {}, el("strong", {}, t.reference), ` · ${t.status} · ${t.created_at.slice(0, 16).replace("T", " ")} · `, t.email,
           el("small", {class: "muted"}, ` · ${t.reason.replaceAll("_", " ")}${t.customer_id ? " · " + t.customer_id : ""}`)),
        el("p", {class: "text"}, t.message),
        t.replied_by ? el("p", {class: "muted"}, `Answered by ${t.replied_by}`) : null,
        mailLine(t),
        el("form", {onsubmit: (event) => {
          event.preventDefault();
          answered(() => api("POST", `/api/tickets/${t.id}/reply`, {reply: reply.value, status: status.value, send: sending ? email.checked : undefined}));
        }}, reply, status, sending ? el("label", {}, email, " email it") : null,
           el("button", {type: "submit"}, sending ? "Save and send" : "Save answer")),
        el("a", {href: `#/c/${encodeURIComponent(t.conversation_id)}`, class: "small-link"}, "conversation"));
    }));
    $("tickets-empty").hidden = data.tickets.length > 0;
  }
  $("ticket-filter").addEventListener("change", loadTickets);

  // --- admin ---------------------------------------------------------------------------
  async function loadAdmin() {
    let users, canned;
    try { [users, canned] = await Promise.all([api("GET", "/api/users"), api("GET", "/api/canned")]); }
    catch (err) { return flash(err.message, true); }
    $("users").replaceChildren(...users.users.map((u) => {
      const role = el("select", {}, ["agent", "trainer", "admin"].map((r) => el("option", {value: r, selected: r === u.role}, r)));
      const active = el("input", {type: "checkbox", checked: u.active});
      const save = (change) => api("PATCH", `/api/users/${u.id}`, change).then(() => flash("Saved."), (err) => { flash(err.message, true); loadAdmin(); });
      role.addEventListener("change", () => save({role: role.value}));
      active.addEventListener("change", () => save({active: active.checked}));
      return el("tr", {}, el("td", {}, u.username), el("td", {}, u.name), el("td", {}, role), el("td", {}, u.teams.join(", ") || "all"),
                el("td", {}, u.max_chats), el("td", {}, active));
    }));
    $("canned-list").replaceChildren(...canned.canned.map((c) => el("li", {},
      el("strong", {}, c.title), " ", el("button", {class: "link", onclick: () => { $("canned-title").value = c.title; $("canned-text").value = c.text; $("canned-form").dataset.id = c.id; }}, "edit"),
      el("button", {class: "link", onclick: () => api("DELETE", `/api/canned/${c.id}`).then(loadAdmin, (err) => flash(err.message, true))}, "delete"),
      el("br"), el("small", {class: "muted"}, c.text))));
  }
  $("user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/api/users", {username: $("new-username").value, name: $("new-name").value, password: $("new-password").value,
                                       role: $("new-role").value, teams: $("new-teams").value, max_chats: Number($("new-max").value)});
      event.target.reset();
      flash("User added.");
      loadAdmin();
    } catch (err) { flash(err.message, true); }
  });
  $("canned-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = event.target.dataset.id;
    try {
      await api(id ? "PUT" : "POST", id ? `/api/canned/${id}` : "/api/canned", {title: $("canned-title").value, text: $("canned-text").value});
      event.target.reset();
      delete event.target.dataset.id;
      delete $("canned").dataset.loaded;
      loadAdmin();
    } catch (err) { flash(err.message, true); }
  });

  // --- live ----------------------------------------------------------------------------
  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => { if (state.view === "queue") loadQueue(); else api("GET", "/api/queue").then((q) => { state.queue = q; showCounts(); }); }, 150);
  }

  // waiting chats and unread visitor messages, in the badge and in the tab title, whatever the view
  function showCounts() {
    const waiting = state.queue ? state.queue.waiting.length : 0;
    const unread = Object.values(state.unread).reduce((a, b) => a + b, 0);
    $("queue-count").textContent = waiting;
    const parts = [waiting ? `${waiting} waiting` : "", unread ? `${unread} new` : ""].filter(Boolean);
    document.title = (parts.length ? `(${parts.join(", ")}) ` : "") + "Support console";
  }

  const seeing = (cid) => state.view === "conversation" && state.cid === cid && document.visibilityState === "visible";
  function countUnread(data) {
    const mine = state.queue && state.queue.mine.some((h) => h.conversation_id === data.conversation_id);
    if (data.sender !== "visitor" || !mine || seeing(data.conversation_id)) return;
    state.unread[data.conversation_id] = (state.unread[data.conversation_id] || 0) + 1;
    showCounts();
  }
  document.addEventListener("visibilitychange", () => {
    if (state.cid && seeing(state.cid)) { delete state.unread[state.cid]; showCounts(); }
    if (document.visibilityState === "hidden") setTyping(false);
  });

  // --- alerts: a new chat in the queue is heard and shown on the desktop (each agent can turn them off) ------
  const alertsOn = () => localStorage.getItem(ALERTS_KEY) !== "off";
  let audio = null;
  function sound() {
    try { audio = audio || new AudioContext(); audio.resume().catch(() => {}); } catch (err) { /* no Web Audio here */ }
    return audio;
  }
  function beep() {
    if (!sound()) return;
    try {
      const tone = audio.createOscillator(), gain = audio.createGain(), t = audio.currentTime;
      tone.frequency.setValueAtTime(880, t);
      tone.frequency.setValueAtTime(660, t + 0.12);
      gain.gain.setValueAtTime(0.15, t);
      gain.gain.exponentialRampToValueAtTime(0.001, t + 0.3);
      tone.connect(gain).connect(audio.destination);
      tone.start(t);
      tone.stop(t + 0.3);
    } catch (err) { /* no sound on this browser */ }
  }
  function askPermission() {
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
    sound();  // made (or resumed) during a click, so the first beep is heard
  }
  function alertNewChat(data) {
    if (!alertsOn()) return;
    beep();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;  // the flash says it already
    const note = new Notification("A visitor is waiting", {body: `Reason: ${data.reason.replaceAll("_", " ")}`, tag: data.conversation_id});
    note.onclick = () => { window.focus(); window.location.hash = "#/queue"; note.close(); };
  }
  function setUpAlerts() {
    const box = $("alerts");
    box.checked = alertsOn();
    box.addEventListener("change", () => {
      localStorage.setItem(ALERTS_KEY, box.checked ? "on" : "off");
      if (box.checked) askPermission();
    });
    // browsers let a page ask for notifications and start sound only after the person has clicked on it
    document.addEventListener("click", () => { if (alertsOn()) askPermission(); }, {once: true});
  }

  function onEvent(event) {
    let data;
    try { data = JSON.parse(event.data); } catch (err) { return; }
    if (data.type === "signed_out") { event.target.close(); return signedOut(); }  // the session or the account ended
    if (data.type === "message") {
      const t = {sender: data.sender, text: data.text, timestamp: data.at, agent: data.agent, live: true};
      const live = (state.live[data.conversation_id] = state.live[data.conversation_id] || []);
      live.push(t);
      live.splice(0, live.length - LIVE_KEPT);
      if (state.view === "conversation" && data.conversation_id === state.cid && state.conv) {
        state.conv.transcript.push(t);
        $("transcript").appendChild(turn(t));
        $("transcript").scrollTop = $("transcript").scrollHeight;
      }
      countUnread(data);
      return;
    }
    if (data.type === "queued" && data.reason) { flash(`A visitor is waiting (${data.reason.replace("_", " ")}).`); alertNewChat(data); }
    refreshSoon();
    if (state.view === "conversation" && data.conversation_id === state.cid) loadConversation();
  }

  function connect() {
    const source = state.source = new EventSource("/api/events");
    source.onmessage = onEvent;
    source.onerror = () => {
      $("me").classList.add("offline");
      // the browser retries a dropped stream by itself, but not one refused (a 401 or 403): ask who we are,
      // which goes to the login page when signed out, and open the stream again when still signed in
      if (source.readyState === EventSource.CLOSED) api("GET", "/api/me").then(() => setTimeout(connect, 3000), () => {});
    };
    source.onopen = () => {
      $("me").classList.remove("offline");
      refreshSoon();
      // what was said while the stream was not open (a first connect after the page read it, a dropped stream) was
      // never heard here: read the open conversation again
      if (state.view === "conversation") loadConversation();
    };
  }

  async function start() {
    try { const me = await api("GET", "/api/me"); state.me = me.user; setCsrf(me.csrf); } catch (err) { return; }
    $("me").textContent = `${state.me.name} (${state.me.role})`;
    $("nav-admin").hidden = state.me.role !== "admin";
    $("nav-analytics").hidden = state.me.role !== "admin";
    $("nav-train").hidden = !["admin", "trainer"].includes(state.me.role);
    $("presence").addEventListener("change", () => api("POST", "/api/presence", {status: $("presence").value}).catch((err) => flash(err.message, true)));
    setUpAlerts();
    $("logout").addEventListener("click", async () => { try { await api("POST", "/api/logout"); } finally { window.location.href = "/login"; } });
    window.addEventListener("hashchange", route);
    if (state.me.role === "trainer") { window.location.replace("/train"); return; }  // the queue is the agents'
    await api("POST", "/api/presence", {status: "available"}).catch(() => {});
    connect();
    route();
    setInterval(() => { if (state.view === "queue") loadQueue(); }, 5000);
    // the queue is back after an outage: the event stream (refused meanwhile) opens again, the view is read again
    onRecovered(() => {
      api("POST", "/api/presence", {status: $("presence").value}).catch(() => {});
      if (state.source.readyState === EventSource.CLOSED) connect();
      route();
    });
  }
  start();
})();
