"use strict";
// The analytics dashboard: figures from GET /api/analytics, charts drawn with the vendored Chart.js
// (static/vendor/chart.umd.min.js). Names stored in touchpoints are shown with the labels the JSON carries
// (bot/touchpoints/labels.yml); user text goes in with textContent or onto a canvas, never as HTML.
(() => {
  const {$, el, api, flash, setCsrf} = window.SupportConsole;
  const COLORS = ["#2457c5", "#c0392b", "#1e8a4c", "#e0a030", "#7b4fb8"];
  const state = {charts: [], data: null};

  // --- how numbers read ------------------------------------------------------------------
  const NO_DATA = "no data yet";
  const count = (n) => Number(n).toLocaleString("en");
  const percent = (x) => `${+(x * 100).toFixed(x >= 0.1 ? 0 : 1)}%`;  // 79%, 2.3%, 8% (not 8.0%)
  function duration(seconds) {  // 530 -> "8 min 50 s", 3720 -> "1 h 2 min"
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
    const minutes = Math.round((s % 3600) / 60);
    return minutes ? `${Math.floor(s / 3600)} h ${minutes} min` : `${Math.floor(s / 3600)} h`;
  }
  const FORMATS = {count, percent, duration, score: (x) => x.toFixed(1)};
  const show = (value, kind) => value === null || value === undefined ? NO_DATA : FORMATS[kind](value);
  const dayLabel = (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString("en-GB", {day: "numeric", month: "short", timeZone: "UTC"});

  function label(section, name) {
    const known = ((state.data || {}).labels || {})[section] || {};
    if (known[name]) return known[name];
    const words = String(name).replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  // --- charts ----------------------------------------------------------------------------
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6b7280";
  Chart.defaults.animation = false;  // figures, not a show; also keeps screenshots steady

  // A label axis takes at most this share of a chart's width: longer labels wrap onto a second line, and
  // what still does not fit is shortened (the tooltip has it whole).
  const LABEL_SHARE = 0.42;
  function fitted(scale, text) {
    const ctx = scale.ctx, room = scale.chart.width * LABEL_SHARE;
    ctx.save();
    ctx.font = Chart.helpers.toFont(scale.options.ticks.font).string;
    const fits = (line) => ctx.measureText(line).width <= room;
    const lines = [""];
    for (const word of text.split(" ")) {
      const longer = lines[lines.length - 1] ? `${lines[lines.length - 1]} ${word}` : word;
      if (fits(longer) || !lines[lines.length - 1]) lines[lines.length - 1] = longer;
      else lines.push(word);
    }
    const shown = lines.slice(0, 2);
    if (lines.length > 2) shown[1] = `${shown[1]} ${lines.slice(2).join(" ")}`;
    shown.forEach((line, i) => {
      while (line.length > 4 && !fits(line)) line = `${line.slice(0, -2)}…`;
      shown[i] = line;
    });
    ctx.restore();
    return shown.length === 1 ? shown[0] : shown;
  }

  // Steps a person counts in: 10 s, 30 s, 1 min, 5 min... (Chart.js would pick 100 s)
  const DURATION_STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  function axis(kind, extra, values) {
    const ticks = {callback: (v) => FORMATS[kind](v), precision: kind === "count" ? 0 : undefined, maxTicksLimit: 6};
    if (kind === "duration") {
      const top = Math.max(1, ...(values || []).filter((v) => v !== null));
      ticks.stepSize = DURATION_STEPS.find((step) => top / step <= 5) || 86400;
    }
    return {beginAtZero: true, ticks, ...(kind === "percent" ? {suggestedMax: 0.1} : {}), ...extra};
  }

  function lineChart(days, series, kind) {
    return {type: "line",
      data: {labels: days.map(dayLabel), datasets: series.map(([name, values], i) => ({
        label: name, data: values, borderColor: COLORS[i], backgroundColor: COLORS[i], pointRadius: 2, borderWidth: 2, spanGaps: false}))},
      options: {maintainAspectRatio: false, interaction: {mode: "index", intersect: false},
        scales: {y: axis(kind, {}, series.flatMap(([, values]) => values)), x: {ticks: {maxRotation: 0, autoSkipPadding: 12}}},
        plugins: {tooltip: {callbacks: {label: (c) => `${c.dataset.label}: ${show(c.parsed.y, kind)}`}}}}};
  }

  function barChart(items, {horizontal = false, kind = "count", tooltip} = {}) {
    const valueAxis = axis(kind, {grid: {display: !horizontal}});
    const labelAxis = {grid: {display: false}, ticks: {autoSkip: false,
      callback(value) { return fitted(this, this.getLabelForValue(value)); }}};
    return {type: "bar",
      data: {labels: items.map((x) => x.label), datasets: [{data: items.map((x) => x.value), backgroundColor: COLORS[0],
        borderRadius: 3, maxBarThickness: horizontal ? 18 : 40}]},
      options: {indexAxis: horizontal ? "y" : "x", maintainAspectRatio: false,
        scales: horizontal ? {x: valueAxis, y: labelAxis} : {y: valueAxis, x: labelAxis},
        plugins: {legend: {display: false}, tooltip: {callbacks: {
          title: (c) => items[c[0].dataIndex].label,
          label: (c) => tooltip ? tooltip(items[c.dataIndex]) : show(items[c.dataIndex].value, kind)}}}}};
  }

  const demoNote = (x) => x.demo ? ` (${count(x.demo)} in demo conversations)` : "";
  // a row that is all demo data says so in its label; the tooltip gives the share
  const ranked = (rows, section, key) => rows.map((r) => ({
    label: (section ? label(section, r[key]) : r[key]) + (r.demo && r.demo === r.count ? " (demo)" : ""),
    value: r.count, demo: r.demo || 0}));

  // One entry per chart panel: a title, what it shows in words, and its Chart.js config (null: no data).
  const PANELS = [
    {id: "conversations", title: "Conversations per day", chart: (d) => d.daily.length && lineChart(
      d.daily.map((x) => x.day), [["conversations", d.daily.map((x) => x.conversations)],
                                  ["handed to a person", d.daily.map((x) => x.handoffs)]], "count")},
    {id: "containment", title: "Contained by the bot / handed to a person", chart: (d) => d.daily.length && lineChart(
      d.daily.map((x) => x.day), [["contained", d.daily.map((x) => x.containment)],
                                  ["handed to a person", d.daily.map((x) => x.handoff_rate)]], "percent")},
    {id: "frustration", title: "Frustrated / not understood (share of messages)", chart: (d) => d.daily.length && lineChart(
      d.daily.map((x) => x.day), [["frustrated", d.daily.map((x) => x.frustration_rate)],
                                  ["not understood", d.daily.map((x) => x.fallback_rate)]], "percent")},
    {id: "wait", title: "Wait for a person (median, 90th percentile)", chart: (d) => d.handoffs.wait_by_day.length && lineChart(
      d.handoffs.wait_by_day.map((x) => x.day), [["median", d.handoffs.wait_by_day.map((x) => x.p50)],
                                                 ["90th percentile", d.handoffs.wait_by_day.map((x) => x.p90)]], "duration")},
    {id: "reasons", title: "Why a person was asked for", rows: (d) => Object.keys(d.handoffs.reasons).length,
     chart: (d) => Object.keys(d.handoffs.reasons).length && barChart(Object.entries(d.handoffs.reasons).map(
       ([reason, n]) => ({label: label("reasons", reason), value: n})), {horizontal: true})},
    {id: "csat", title: "CSAT: how happy (1-5)", chart: (d) => d.ratings.csat_count && barChart(
      Object.entries(d.ratings.csat_distribution).map(([k, n]) => ({label: k, value: n})))},
    {id: "nps", title: "NPS: would recommend (0-10)", chart: (d) => d.ratings.nps_count && barChart(
      Object.entries(d.ratings.nps_distribution).map(([k, n]) => ({label: k, value: n})))},
    {id: "funnel", title: "Journey funnel: conversations that got this far",
     note: "A conversation counts at the furthest stage its visitor reached and at every stage before it.",
     rows: (d) => d.funnel.length, chart: (d) => d.totals.conversations && barChart(d.funnel.map((x) => ({
       label: label("stages", x.stage), value: x.conversations, touched: x.touched, share: x.conversations / (d.funnel[0].conversations || 1)})),
     {horizontal: true, tooltip: (x) => `${count(x.value)} conversations, ${percent(x.share)} of all (${count(x.touched)} asked about this stage itself)`})},
    {id: "intents", title: "What visitors asked about most", note: "Small talk (greetings, thanks, yes and no) is left out.", rows: (d) => d.top.intents.length,
     chart: (d) => d.top.intents.length && barChart(ranked(d.top.intents, "intents", "intent"),
       {horizontal: true, tooltip: (x) => `${count(x.value)} messages${demoNote(x)}`})},
    {id: "unanswered", title: "Questions the bot did not understand", rows: (d) => d.top.unanswered.length,
     chart: (d) => d.top.unanswered.length && barChart(ranked(d.top.unanswered, null, "text"),
       {horizontal: true, tooltip: (x) => `${count(x.value)} times${demoNote(x)}`})},
  ];

  function drawCharts(d) {
    state.charts.forEach((c) => c.destroy());
    state.charts = [];
    const box = $("charts");
    box.replaceChildren();
    for (const p of PANELS) {
      const config = p.chart(d);
      const panel = el("div", {class: "panel chart-panel", id: `panel-${p.id}`}, el("h2", {}, p.title),
                       p.note ? el("p", {class: "muted note"}, p.note) : null);
      box.appendChild(panel);
      if (!config) { panel.appendChild(el("p", {class: "muted empty"}, "No data in this range.")); continue; }
      const rows = p.rows ? p.rows(d) : 0;
      const holder = el("div", {class: "chart-box"}, el("canvas", {role: "img", "aria-label": p.title}));
      if (rows) holder.style.height = `${Math.max(140, 40 + rows * 34)}px`;
      panel.appendChild(holder);
      state.charts.push(new Chart(holder.firstChild, config));
    }
  }

  // --- cards, agents, demo ---------------------------------------------------------------
  function drawCards(d) {
    const t = d.totals, h = d.handoffs, r = d.ratings;
    const waits = h.wait_p50 === null ? NO_DATA : `${duration(h.wait_p50)} / ${duration(h.wait_p90)}`;
    const cards = [
      ["Conversations", show(t.conversations, "count")], ["Contained by the bot", show(t.containment, "percent")],
      ["Handed to a person", show(t.handoff_rate, "percent")], ["Wait for a person (median / 90th percentile)", waits],
      ["First agent response (median)", show(h.first_response_p50, "duration")],
      ["Handling time (median)", show(h.handling_p50, "duration")],
      [`CSAT (${count(r.csat_count)} ratings)`, r.csat_average === null ? NO_DATA : `${r.csat_average.toFixed(1)} / 5`],
      [`NPS (${count(r.nps_count)} answers)`, show(r.nps, "score")],
      ["Frustrated messages", show(t.frustration_rate, "percent")], ["Not understood", show(t.fallback_rate, "percent")],
    ];
    $("cards").replaceChildren(...cards.map(([k, v]) => el("div", {class: "card"}, el("div", {class: "v"}, v), el("div", {class: "k"}, k))));
  }

  function drawLowRatings(d) {
    const score = (v, of) => v === null || v === undefined ? "skipped" : `${v}/${of}`;
    const rows = (d.low_ratings || []).map((r) => el("tr", {},
      el("td", {}, r.created_at.slice(0, 16).replace("T", " ")), el("td", {}, score(r.csat, 5)), el("td", {}, score(r.nps, 10)),
      el("td", {}, r.agent_id || NO_DATA), el("td", {class: "comment"}, r.comment),
      el("td", {}, el("a", {href: `/#/c/${encodeURIComponent(r.conversation_id)}`}, "open"))));
    $("low-ratings").replaceChildren(...(rows.length ? rows :
      [el("tr", {}, el("td", {colspan: "6", class: "muted"}, "No low rating with a comment in this range."))]));
  }

  function drawAgents(d) {
    const rows = d.agents.map((a) => el("tr", {class: a.demo_conversations ? "demo" : null},
      el("td", {}, a.agent_id, a.demo_conversations ? el("span", {class: "pill demo", title:
        `${count(a.demo_conversations)} of these conversations are demo data`}, "demo") : null),
      el("td", {}, count(a.conversations)), el("td", {}, show(a.handling_p50, "duration")),
      el("td", {}, show(a.first_response_p50, "duration")),
      el("td", {}, a.csat_average === null ? NO_DATA : a.csat_average.toFixed(1)), el("td", {}, count(a.ratings))));
    $("agents").replaceChildren(...(rows.length ? rows :
      [el("tr", {}, el("td", {colspan: "6", class: "muted"}, "No agent handled a conversation in this range."))]));
  }

  function drawDemo(d) {
    const demo = d.demo, banner = $("demo-banner");
    banner.hidden = !demo.total;
    if (!demo.total) return;
    $("demo-text").textContent = demo.conversations
      ? `These figures include ${count(demo.conversations)} demo conversations (of ${count(d.totals.conversations)} in this range): ` +
        "made-up data so a new install shows a living dashboard. Rows marked demo come from them."
      : `The figures below have no demo data, but ${count(demo.total)} demo conversations are stored on other days.`;
  }

  async function removeDemo() {
    const button = $("demo-remove");
    button.disabled = true;
    try {
      const done = await api("DELETE", "/api/analytics/demo-data");
      flash(`Removed the demo data (${count(done.removed)} touchpoints).`);
      await load();
    } catch (err) {
      flash(`Could not remove the demo data: ${err.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  // --- the range and loading -------------------------------------------------------------
  function query() {
    const params = new URLSearchParams(window.location.search), out = new URLSearchParams();
    for (const key of ["from", "to"]) if (params.get(key)) out.set(key, params.get(key));
    return out.toString();
  }

  function showRange(d) {
    const last = new Date(new Date(d.end).getTime() - 86400000).toISOString().slice(0, 10);
    $("range-from").value = d.start.slice(0, 10);
    $("range-to").value = last;
    const q = `from=${d.start.slice(0, 10)}&to=${last}`;
    $("export-csv").href = `/api/analytics/touchpoints.csv?${q}`;
    $("export-json").href = `/api/analytics?${q}`;
  }

  async function load() {
    $("analytics-error").hidden = true;
    let d;
    try {
      d = await api("GET", `/api/analytics?${query()}`);
    } catch (err) {
      $("analytics-loading").hidden = true;
      $("analytics-error").textContent = `Could not show the figures: ${err.message}`;
      $("analytics-error").hidden = false;
      return;
    }
    state.data = d;
    showRange(d);
    drawDemo(d);
    drawCards(d);
    drawCharts(d);
    drawAgents(d);
    drawLowRatings(d);
    $("analytics-loading").hidden = true;
    document.body.dataset.loaded = "1";  // for tests: everything is drawn
  }

  async function start() {
    $("demo-remove").addEventListener("click", removeDemo);
    try { setCsrf((await api("GET", "/api/me")).csrf); } catch (err) { return; }
    await load();
  }
  start();
})();
