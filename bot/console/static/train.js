"use strict";
// The trainer's page (/train): the NLU inbox with keyboard decisions, an intent's examples and a new FAQ, the change
// history with undo, and training, evaluating and activating a model. Every text (visitor messages included, masked
// on the server) goes in with textContent, never as HTML.
(() => {
  const {$, el, api, flash, setCsrf} = window.SupportConsole;
  const TABS = ["inbox", "examples", "history", "model"];
  const PAGE_SIZE = 25;
  const POLL_MS = 1500;
  const state = {me: null, tab: "inbox", intents: [], inbox: {items: [], total: 0, offset: 0}, selected: 0,
                 picking: false, busy: false, intent: null, job: null, poll: null, models: null};

  const when = (iso) => iso ? String(iso).slice(0, 16).replace("T", " ") : "";
  const score = (x) => x === null || x === undefined ? "–" : Number(x).toFixed(2);
  const REASONS = {unsure: "unsure", fallback: "not understood", escalated: "asked for a person",
                   low_rating: "low rating", flagged: "flagged by an agent"};

  // --- tabs ------------------------------------------------------------------------------
  function route() {
    const tab = (window.location.hash || "#/inbox").slice(2);
    state.tab = TABS.includes(tab) ? tab : "inbox";
    for (const name of TABS) {
      $(`view-${name}`).hidden = name !== state.tab;
      if (name === state.tab) $(`tab-${name}`).setAttribute("aria-current", "page");
      else $(`tab-${name}`).removeAttribute("aria-current");
    }
    ({inbox: loadInbox, examples: loadIntents, history: loadHistory, model: loadModel})[state.tab]();
    if (state.tab !== "model") stopPolling();
  }

  async function loadIntentNames() {
    try { state.intents = (await api("GET", "/api/train/intents")).intents; } catch (err) { flash(err.message, true); }
  }
  const known = (name) => state.intents.some((i) => i.name === name);

  // --- the inbox -------------------------------------------------------------------------
  async function loadInbox() {
    const q = new URLSearchParams({order: $("inbox-order").value, search: $("inbox-search").value.trim(),
                                   limit: PAGE_SIZE, offset: state.inbox.offset});
    let data;
    try { data = await api("GET", `/api/train/inbox?${q}`); } catch (err) { return flash(`Inbox not loaded: ${err.message}`, true); }
    if (!data.items.length && data.offset > 0 && data.total > 0) {  // the last page emptied: show the one before
      state.inbox.offset = Math.max(0, data.offset - PAGE_SIZE);
      return loadInbox();
    }
    state.inbox = {items: data.items, total: data.total, offset: data.offset};
    state.selected = Math.min(state.selected, Math.max(0, data.items.length - 1));
    renderInbox();
  }

  function reasonPills(reasons) {
    return (reasons || []).map((r) => el("span", {class: `pill reason ${r}`}, REASONS[r] || r));
  }

  // The intent picker: type-ahead over the known intents (arrows move, Enter picks the highlighted one); a name that
  // is no intent yet is offered last as "new intent", and creating it takes a second Enter (a typo makes no intent).
  const INTENT_NAME = /^[a-z0-9_]{1,64}$/;
  function intentPicker(onPick, placeholder) {
    const input = el("input", {class: "picker", placeholder, autocomplete: "off", spellcheck: "false", "aria-label": placeholder});
    const list = el("ul", {class: "suggestions", role: "listbox"});
    const hint = el("small", {class: "muted picker-hint"});
    const p = {options: [], active: 0, confirming: ""};
    function refresh() {
      const q = input.value.trim().toLowerCase();
      const names = q ? state.intents.map((i) => i.name).filter((n) => n.includes(q)) : [];
      names.sort((x, y) => (y === q) - (x === q) || y.startsWith(q) - x.startsWith(q) || x.localeCompare(y));
      p.options = names.slice(0, 8).map((name) => ({name, isNew: false}));
      if (q && !known(q) && INTENT_NAME.test(q)) p.options.push({name: q, isNew: true});
      p.active = 0;
      p.confirming = "";
      draw();
    }
    function draw() {
      list.replaceChildren(...p.options.map((o, i) => el("li", {class: (i === p.active ? "active " : "") + (o.isNew ? "new" : ""),
        role: "option", onmousedown: (event) => { event.preventDefault(); p.active = i; pick(); }},
        o.isNew ? `new intent: ${o.name}` : o.name)));
      const q = input.value.trim();
      hint.textContent = p.confirming ? `Enter again to create the new intent ${p.confirming}` :
        q && !p.options.length ? "an intent name is made of a-z, 0-9 and _" : "";
    }
    function pick() {
      const option = p.options[p.active];
      if (!option) return;
      if (option.isNew && p.confirming !== option.name) { p.confirming = option.name; return draw(); }
      onPick(option.name, option.isNew);
    }
    input.addEventListener("input", refresh);
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const n = Math.max(1, p.options.length);
        p.active = (p.active + (event.key === "ArrowDown" ? 1 : n - 1)) % n;
        p.confirming = "";
        draw();
      } else if (event.key === "Enter") {
        event.preventDefault();
        pick();
      }
    });
    const clear = () => { input.value = ""; refresh(); };
    return {input, clear, node: el("div", {class: "pick"}, input, list, hint)};
  }

  const FALLBACK = "nlu_fallback";
  const teachable = (intent) => intent && intent !== FALLBACK && known(intent);

  function inboxRow(item, index) {
    const picker = intentPicker((name) => decide(index, "intent", name), "Intent for this message (type to find)");
    picker.node.hidden = true;
    return el("tr", {class: "inbox-row" + (index === state.selected ? " selected" : ""), "data-index": index,
                     onclick: () => select(index)},
      el("td", {class: "message"}, el("span", {class: "text"}, item.text)),
      el("td", {}, item.count),
      el("td", {}, item.intent === FALLBACK ? el("span", {class: "muted"}, "none (not understood)") : item.intent || "–",
         item.intent && item.intent !== FALLBACK ? el("small", {class: "muted"}, ` ${score(item.confidence)}`) : null),
      el("td", {}, reasonPills(item.reasons)),
      el("td", {}, el("small", {}, when(item.last_at)),
         item.conversation_id ? el("button", {type: "button", class: "link context-link",
                                              onclick: (event) => { event.stopPropagation(); showContext(item); }}, "conversation") : null),
      el("td", {class: "decide"},
         el("button", {type: "button", class: "correct", disabled: !teachable(item.intent), title: "c: teach it as the bot's guess",
                       onclick: () => decide(index, "correct")}, "Correct"),
         el("button", {type: "button", class: "secondary change", title: "e or /", onclick: () => openPicker(index)}, "Change intent"),
         el("button", {type: "button", class: "secondary ignore", title: "i", onclick: () => decide(index, "ignore")}, "Ignore"),
         picker.node));
  }

  function renderInbox() {
    const {items, total, offset} = state.inbox;
    state.picking = false;
    $("inbox-rows").replaceChildren(...items.map(inboxRow));
    $("inbox-empty").hidden = items.length > 0;
    $("inbox-count").textContent = String(total);
    $("inbox-count").hidden = !total;
    $("inbox-range").textContent = total ? `${offset + 1}–${offset + items.length} of ${total}` : "";
    $("inbox-prev").disabled = offset === 0;
    $("inbox-next").disabled = offset + items.length >= total;
    document.body.dataset.inbox = String(items.length);  // for tests: the rows are drawn
  }

  const rows = () => [...document.querySelectorAll("#inbox-rows tr.inbox-row")];
  function select(index) {
    const all = rows();
    if (!all.length) return;
    state.selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((tr, i) => tr.classList.toggle("selected", i === state.selected));
    all[state.selected].scrollIntoView({block: "nearest"});
  }

  function openPicker(index) {
    select(index);
    const pick = rows()[state.selected].querySelector(".pick");
    pick.hidden = false;
    state.picking = true;
    pick.querySelector(".picker").focus();
  }

  function closePicker() {
    const row = rows()[state.selected];
    if (row) {
      const pick = row.querySelector(".pick"), input = pick.querySelector(".picker");
      input.value = "";
      input.dispatchEvent(new Event("input"));
      pick.hidden = true;
      input.blur();
    }
    state.picking = false;
  }

  async function decide(index, decision, intent) {
    const item = state.inbox.items[index];
    if (!item || state.busy) return;
    if (decision === "intent" && !intent) return flash("Type an intent first.", true);
    if (decision === "correct" && !teachable(item.intent)) return flash("The bot had no intent to confirm: change the intent instead.", true);
    const body = {key: item.key, decision};
    if (decision === "intent") Object.assign(body, {intent, new: !known(intent)});
    state.busy = true;
    try {
      const taught = decision === "correct" ? item.intent : intent;
      const said = await api("POST", "/api/train/inbox/decide", body);
      flash(decision === "ignore" ? "Ignored." : said.change && said.change.kind === "unchanged"
        ? `Already an example of ${taught}.` : `Taught as ${taught}.`);
      if (body.new) await loadIntentNames();
      state.selected = index;
      await loadInbox();
    } catch (err) { flash(err.message, true); } finally { state.busy = false; }
  }

  // the conversation around a message, masked on the server; admins can open it whole in the console
  async function showContext(item) {
    let data;
    try { data = await api("GET", `/api/train/conversations/${encodeURIComponent(item.conversation_id)}`); }
    catch (err) { return flash(`Conversation not read: ${err.message}`, true); }
    const here = (t) => t.sender === "visitor" && t.text === item.text;
    $("context-turns").replaceChildren(...data.transcript.map((t) => el("li", {class: `turn ${t.sender}${here(t) ? " here" : ""}`},
      el("div", {class: "who"}, {visitor: "Visitor", bot: "Bot", agent: "Agent"}[t.sender] || t.sender), el("div", {class: "text"}, t.text))));
    $("context-console").href = `/#/c/${encodeURIComponent(item.conversation_id)}`;
    $("context-console").hidden = state.me.role !== "admin";
    $("context").hidden = false;
    const mark = $("context-turns").querySelector(".here");
    if (mark) mark.scrollIntoView({block: "nearest"});
  }

  // Botfront's keys: j/k (or the arrows) move, c correct, i ignore, e or / change the intent, Enter confirms, Esc cancels
  function onKey(event) {
    if (state.tab !== "inbox" || event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
    if (event.key === "Escape" && state.picking) { event.preventDefault(); return closePicker(); }
    if (typing) return;
    const actions = {j: () => select(state.selected + 1), ArrowDown: () => select(state.selected + 1),
                     k: () => select(state.selected - 1), ArrowUp: () => select(state.selected - 1),
                     c: () => decide(state.selected, "correct"), i: () => decide(state.selected, "ignore"),
                     e: () => openPicker(state.selected), "/": () => openPicker(state.selected)};
    const action = actions[event.key];
    if (!action || !state.inbox.items.length) return;
    event.preventDefault();
    action();
  }

  // --- intents and examples --------------------------------------------------------------
  async function loadIntents() {
    await loadIntentNames();
    await renderIntents();
    if (state.intent) loadExamples(state.intent);
  }

  // the search finds intents by name and by their examples' words (on the server, which reads the files)
  async function renderIntents() {
    const find = $("intent-search").value.trim().toLowerCase();
    let shown = state.intents;
    if (find) {
      try { shown = (await api("GET", `/api/train/intents?search=${encodeURIComponent(find)}`)).intents; }
      catch (err) { return flash(err.message, true); }
    }
    $("intents").replaceChildren(...shown.map((i) => el("li", {class: i.name === state.intent ? "current" : ""},
      el("button", {type: "button", class: "link", onclick: () => loadExamples(i.name)}, i.name),
      el("small", {class: "muted"}, ` ${i.examples} examples${i.matches ? `, ${i.matches} with “${find}”` : ""} · ${i.file}`))));
    if (!shown.length) $("intents").replaceChildren(el("li", {class: "muted"}, "No intent or example has that."));
  }

  async function loadExamples(intent) {
    let data;
    try { data = await api("GET", `/api/train/intents/${encodeURIComponent(intent)}`); } catch (err) { return flash(err.message, true); }
    state.intent = intent;
    renderIntents();
    $("intent-title").textContent = `${intent} (${data.examples.length} examples)`;
    $("example-form").hidden = false;
    $("examples").replaceChildren(...data.examples.map((text) => exampleRow(intent, text)));
  }

  function exampleRow(intent, text) {
    const move = intentPicker((to, isNew) => {
      if (to !== intent) change("POST", "/api/train/examples", {intent: to, text, new: isNew}, `Moved to ${to}.`);
    }, "move to… (type an intent)");
    move.node.classList.add("move");
    const find = $("intent-search").value.trim().toLowerCase();
    return el("li", {class: find && text.toLowerCase().includes(find) ? "match" : ""}, el("span", {class: "text"}, text), " ",
      el("button", {type: "button", class: "link remove", onclick: () => change("POST", "/api/train/examples/remove", {text}, "Removed.")}, "remove"),
      move.node);
  }

  async function change(method, path, body, done) {
    try {
      await api(method, path, body);
      flash(done);
      await loadIntents();
    } catch (err) { flash(err.message, true); }
  }

  $("intent-search").addEventListener("input", () => { clearTimeout(state.findTimer); state.findTimer = setTimeout(renderIntents, 250); });
  $("example-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("example-text").value.trim();
    if (!text || !state.intent) return;
    await change("POST", "/api/train/examples", {intent: state.intent, text}, `Added to ${state.intent}.`);
    $("example-text").value = "";
  });
  $("faq-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const intent = $("faq-intent").value.trim();
    try {
      await api("POST", "/api/train/faq", {intent, examples: $("faq-examples").value, answer: $("faq-answer").value});
    } catch (err) { return flash(`FAQ not added: ${err.message}`, true); }
    flash(`FAQ ${intent} added: train a model to use it.`);
    event.target.reset();
    state.intent = intent;  // shown next, with its examples
    await loadIntents();
  });

  // --- the history -----------------------------------------------------------------------
  function changeText(c) {
    const from = (c.previous_intents || []).join(", ");
    const what = {add: from ? `moved from ${from} to ${c.intent}` : `added to ${c.intent}`,
                  move: `moved from ${from} to ${c.intent}`, remove: `removed from ${from || c.intent}`,
                  faq: `new FAQ ${c.intent}`, undo: `undid change #${c.undo_of}`}[c.kind] || c.kind;
    return [el("q", {}, c.text), ` ${what}`];
  }

  // an undoable change has Undo; an undone one has Redo (it is made again, as a new change); an undo has neither
  function historyAction(c) {
    if (c.undoable) return el("button", {type: "button", class: "secondary undo", onclick: () => undo(c, "undo")}, "Undo");
    if (c.undone_by && ["add", "move", "remove"].includes(c.kind)) {
      return [el("small", {class: "muted"}, `undone by #${c.undone_by} `),
              el("button", {type: "button", class: "secondary redo", onclick: () => undo(c, "redo")}, "Redo")];
    }
    return null;
  }

  async function loadHistory() {
    let data;
    try { data = await api("GET", "/api/train/history?limit=100"); } catch (err) { return flash(`History not loaded: ${err.message}`, true); }
    $("history-rows").replaceChildren(...data.changes.map((c) => el("tr", {"data-id": c.id, class: c.undone_by ? "undone" : ""},
      el("td", {}, when(c.at)), el("td", {}, c.by), el("td", {}, `#${c.id} `, changeText(c)), el("td", {}, c.source),
      el("td", {}, historyAction(c)))));
    $("history-empty").hidden = data.changes.length > 0;
    document.body.dataset.history = String(data.changes.length);  // for tests
  }

  async function undo(c, how) {
    try {
      await api("POST", `/api/train/history/${c.id}/${how}`);
      flash(how === "redo" ? `Change #${c.id} made again.` : `Change #${c.id} undone.`);
    } catch (err) { flash(`Not ${how === "redo" ? "made again" : "undone"}: ${err.message}`, true); }
    loadHistory();
  }

  // --- training --------------------------------------------------------------------------
  const TERMINAL = ["done", "failed", "cancelled"];
  const STAGES = {queued: "Waiting to start", validate: "Checking the data", train: "Training",
                  conversations: "Running the conversation tests", blind: "Scoring the blind sets",
                  cross_validation: "Cross-validating"};
  const running = (job) => job && !TERMINAL.includes(job.stage);
  const minutes = (s) => `${Math.floor((s || 0) / 60)} min ${Math.round((s || 0) % 60)} s`;

  async function loadModel() {
    await Promise.all([loadModels(), loadJob()]);
  }

  async function loadJob(id) {
    let data;
    try { data = await api("GET", id ? `/api/train/jobs/${encodeURIComponent(id)}` : "/api/train/jobs/latest"); }
    catch (err) { stopPolling(); return flash(`Training not read: ${err.message}`, true); }
    state.job = data.job;
    renderJob();
    if (running(state.job)) { if (!state.poll) state.poll = setInterval(() => loadJob(state.job.id), POLL_MS); }
    else { const was = Boolean(state.poll); stopPolling(); if (was) loadModels(); }
  }
  function stopPolling() { clearInterval(state.poll); state.poll = null; }

  function renderJob() {
    const job = state.job;
    $("job").hidden = !job;
    $("train-start").disabled = running(job);
    if (!job) { $("report").hidden = true; return; }
    const stage = {failed: `Failed: ${job.error || ""}`, cancelled: `Cancelled: ${job.error || ""}`, done: "Done"}[job.stage] ||
                  `${STAGES[job.stage] || job.stage}${job.detail ? ` (${job.detail})` : ""} · ${Math.round((job.progress || 0) * 100)}%`;
    $("job-stage").textContent = stage;
    $("job-elapsed").textContent = `${minutes(job.elapsed_seconds)} · started by ${job.by}${job.cross_validate ? " · with cross-validation" : ""}`;
    $("job-progress").value = job.progress || 0;
    $("job-log").textContent = (job.log_tail || []).join("\n");
    $("job-log").scrollTop = $("job-log").scrollHeight;
    $("job-log-box").open = running(job) || job.stage !== "done";  // once done, the report matters more than the log
    document.body.dataset.job = job.stage;  // for tests
    renderReport(job);
  }

  $("train-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = await api("POST", "/api/train/jobs", {cross_validate: $("train-cv").checked});
      flash("Training started: it runs in the background and takes a few minutes.");
      state.job = data.job;
      renderJob();
      stopPolling();
      loadJob(data.job.id);
    } catch (err) { flash(err.message, true); }
  });

  // --- the report: the candidate beside the active model (blind set), the tests, the gate's verdict -------------
  const blindOf = (entry) => ((entry || {}).blind || {}).blind || null;
  const card = (v, k) => el("div", {class: "card"}, el("div", {class: "v"}, v), el("div", {class: "k"}, k));

  function renderReport(job) {
    const report = job.report;
    $("report").hidden = !report;
    if (!report) return;
    const mine = blindOf(report.candidate), theirs = blindOf(report.active), tests = report.conversation_tests;
    $("report-model").textContent = job.candidate || report.candidate.file;
    const cards = [
      card(tests ? `${tests.stories - (tests.failed || []).length} / ${tests.stories}` : "not run", "conversation tests passed"),
      card(score(mine && mine.macro.f1), "macro F1 (blind set), candidate"),
      card(theirs ? score(theirs.macro.f1) : "none", "macro F1, active model")];
    if (report.cross_validation) cards.push(card(score(report.cross_validation.macro_f1), "macro F1, cross-validation"));
    $("report-summary").replaceChildren(...cards);
    renderGate(job);
    $("report-stories").replaceChildren(...storyLines(tests));
    renderIntentTable(report, mine, theirs);
    renderConfusions(mine, theirs);
  }

  function storyLines(tests) {
    if (!tests) return [el("li", {class: "muted"}, "The conversation tests did not run.")];
    const failed = (tests.failed || []).map((name) => el("li", {class: "fail"}, el("span", {class: "pill bad"}, "fail"), ` ${name}`));
    if (tests.error) failed.push(el("li", {class: "fail"}, el("pre", {class: "log"}, tests.error)));
    return failed.length ? failed : [el("li", {class: "pass"}, el("span", {class: "pill ok"}, "pass"), ` all ${tests.stories} stories`)];
  }

  function renderIntentTable(report, mine, theirs) {
    const margin = report.margin || 0;
    const rows = ((report.comparison || {}).blind || []).map((r) => {
      const c = ((mine || {}).intents || {})[r.intent] || {}, a = ((theirs || {}).intents || {})[r.intent] || {};
      const change = r.change === null || r.change === undefined ? null : r.change;
      const cls = change === null ? "" : change < -margin - 1e-9 ? "drop" : change < 0 ? "down" : change > 0 ? "up" : "";
      return el("tr", {class: cls}, el("td", {}, r.intent),
        el("td", {}, score(c.precision)), el("td", {}, score(c.recall)), el("td", {class: "f1"}, score(c.f1)),
        el("td", {}, score(a.precision)), el("td", {}, score(a.recall)), el("td", {class: "f1"}, score(a.f1)),
        el("td", {class: `change ${cls}`}, change === null ? "new" : Math.abs(change) < 0.005 ? "0.00" : `${change > 0 ? "+" : ""}${change.toFixed(2)}`),
        el("td", {}, c.support ?? ""));
    });
    $("report-intents").replaceChildren(...rows);
  }

  function renderConfusions(mine, theirs) {
    const said = (intent) => intent === FALLBACK ? "not understood" : intent;
    const list = (scores) => ((scores || {}).confusions || []).map((c) => el("li", {}, `${c.true} → ${said(c.predicted)}: ${c.count}`));
    $("report-confusions").replaceChildren(
      el("div", {}, el("h4", {}, "Candidate"), el("ul", {class: "plain"}, list(mine))),
      el("div", {}, el("h4", {}, "Active model"), theirs ? el("ul", {class: "plain"}, list(theirs)) : el("p", {class: "muted"}, "none")));
  }

  // the store's verdict when it has this candidate (it also knows whether the active model changed since), else the report's
  function renderGate(job) {
    const candidate = job.candidate;
    const summary = ((state.models || {}).candidates || []).find((c) => c.id === candidate);
    const reasons = summary ? summary.gate : (job.report || {}).gate || [];
    const activatable = job.stage === "done" && candidate && !reasons.length;
    $("gate").replaceChildren(reasons.length
      ? el("div", {class: "refused"}, el("strong", {}, "This model may not be activated:"), el("ul", {}, reasons.map((r) => el("li", {}, r))))
      : el("p", {class: "ok"}, "The gate passes: every conversation test passed and no intent's F1 fell beyond the margin."));
    const forcible = job.stage === "done" && candidate && reasons.length && state.me.role === "admin" &&
                     !(summary && summary.active);
    $("activate").disabled = !activatable;
    $("activate-force").hidden = !forcible;
    $("activate-reason").disabled = !activatable && !forcible;
    $("activate-form").dataset.candidate = candidate || "";
  }

  $("activate-force").addEventListener("click", () => activate(true));
  $("activate-form").addEventListener("submit", (event) => { event.preventDefault(); activate(false); });
  async function activate(force) {
    const reason = $("activate-reason").value.trim();
    if (!reason) return flash("Say why you activate it: the log keeps the reason.", true);
    const candidate = $("activate-form").dataset.candidate;
    $("activate").disabled = true;
    try {
      const data = await api("POST", `/api/train/models/${encodeURIComponent(candidate)}/activate`, {reason, force});
      flash(`Activated ${candidate}. ${replicasText(data.activation)}`);
      $("activate-reason").value = "";
      await loadModels();
    } catch (err) { flash(`Not activated: ${err.message}`, true); $("activate").disabled = false; }
  }

  // --- the active model, rollback and the activation log ------------------------------------
  function replicasText(a) {
    const answers = (a && a.replicas) || [];
    const ok = answers.filter((r) => r.ok).length;
    return answers.length ? `${ok} of ${answers.length} Rasa servers loaded it.` : "";
  }

  async function loadModels() {
    let data;
    try { data = await api("GET", "/api/train/models"); } catch (err) { return flash(`Models not read: ${err.message}`, true); }
    state.models = data;
    const a = data.active;
    $("active-model").classList.remove("muted");
    $("active-model").replaceChildren(a ? el("span", {}, el("strong", {}, a.id || a.name),
      el("br"), el("small", {class: "muted"}, [a.activated_at ? `active since ${when(a.activated_at)}` : "", a.by ? ` by ${a.by}` : ""].join(""))) :
      el("span", {class: "muted"}, "No active model."));
    $("rollback").disabled = !(data.activations[0] && data.activations[0].previous);
    $("rollback-reason").disabled = $("rollback").disabled;
    if (state.job && state.job.report) renderGate(state.job);
    $("activations").replaceChildren(...data.activations.map((x) => el("li", {},
      el("strong", {}, x.kind === "rollback" ? "Rolled back" : "Activated"), ` ${x.model}`,
      el("br"), el("small", {class: "muted"}, `${when(x.at)} · ${x.by}${x.previous ? ` · replaced ${x.previous}` : ""}`),
      x.reason ? [el("br"), el("q", {}, x.reason)] : null,
      x.forced ? [el("br"), el("span", {class: "pill bad"}, `forced past: ${x.gate.join("; ")}`)] : null,
      (x.replicas || []).length ? el("ul", {class: "replicas"}, x.replicas.map((r) => el("li", {class: r.ok ? "ok" : "error"},
        `${r.url}: ${r.ok ? `loaded in ${r.seconds} s` : r.error || "failed"}`))) : null)));
    if (!data.activations.length) $("activations").replaceChildren(el("li", {class: "muted"}, "No activation yet."));
    document.body.dataset.models = String(data.activations.length);  // for tests
  }

  $("rollback-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = $("rollback-reason").value.trim();
    if (!reason) return flash("Say why you roll back: the log keeps the reason.", true);
    try {
      const data = await api("POST", "/api/train/models/rollback", {reason});
      flash(`Rolled back to ${data.activation.model}. ${replicasText(data.activation)}`);
      $("rollback-reason").value = "";
      await loadModels();
    } catch (err) { flash(`Not rolled back: ${err.message}`, true); }
  });

  // --- start -----------------------------------------------------------------------------
  async function start() {
    try { const me = await api("GET", "/api/me"); state.me = me.user; setCsrf(me.csrf); } catch (err) { return; }
    $("me").textContent = `${state.me.name} (${state.me.role})`;
    $("nav-console").hidden = state.me.role !== "admin";
    $("nav-analytics").hidden = state.me.role !== "admin";
    $("logout").addEventListener("click", async () => { try { await api("POST", "/api/logout"); } finally { window.location.href = "/login"; } });
    $("inbox-search").addEventListener("input", () => { clearTimeout(start.search); start.search = setTimeout(() => { state.inbox.offset = 0; loadInbox(); }, 250); });
    $("inbox-order").addEventListener("change", () => { state.inbox.offset = 0; loadInbox(); });
    $("inbox-prev").addEventListener("click", () => { state.inbox.offset = Math.max(0, state.inbox.offset - PAGE_SIZE); loadInbox(); });
    $("inbox-next").addEventListener("click", () => { state.inbox.offset += PAGE_SIZE; loadInbox(); });
    document.addEventListener("keydown", onKey);
    $("context-close").addEventListener("click", () => { $("context").hidden = true; });
    window.addEventListener("hashchange", route);
    await loadIntentNames();
    route();
  }
  start();
})();
