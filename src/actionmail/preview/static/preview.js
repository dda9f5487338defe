// The preview page: no build step, no libraries, nothing fetched but from the preview server itself.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { id: null, variant: "", member: "", width: "both", dark: false, tab: "email", loads: 0 };

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  state.id = params.get("id");
  state.variant = params.get("variant") || "";
  state.member = params.get("member") || "";
}

function writeHash() {
  const params = new URLSearchParams();
  if (state.id) params.set("id", state.id);
  if (state.variant) params.set("variant", state.variant);
  if (state.member) params.set("member", state.member);
  history.replaceState(null, "", "#" + params);
}

function query(extra = {}) {
  const params = new URLSearchParams({ id: state.id, ...extra });
  if (state.member) params.set("member", state.member);
  else if (state.variant) params.set("variant", state.variant);
  return params;
}

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json();
  return { ok: response.ok, status: response.status, body };
}

function clear(element) {
  while (element.firstChild) element.removeChild(element.firstChild);
}

function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") element.textContent = value;
    else element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

// The list of newsletters, newest first

async function loadList() {
  const { body } = await getJSON("/api/newsletters");
  const list = $("#newsletters");
  clear(list);
  for (const item of body.newsletters) {
    const button = el("button", { type: "button", "data-id": item.id },
      el("span", { class: "date", text: item.date || item.name }),
      item.subject === null ? `${item.name}` : item.subject);
    button.addEventListener("click", () => select(item.id));
    list.append(el("li", item.problems ? { class: "bad" } : {}, button));
  }
  // Some still loading, many newsletters at once: ask again in a moment.
  clearTimeout(state.listAgain);
  if (body.newsletters.some((n) => n.loading)) state.listAgain = setTimeout(loadList, 1000);
  const before = state.id;
  if (!state.id || !body.newsletters.some((n) => n.id === state.id)) {
    state.id = body.newsletters.length ? body.newsletters[0].id : null;
  }
  markCurrent();
  return state.id !== before;
}

function markCurrent() {
  for (const button of document.querySelectorAll("#newsletters button")) {
    button.setAttribute("aria-current", String(button.dataset.id === state.id));
  }
}

function select(id) {
  state.id = id;
  state.variant = "";
  markCurrent();
  loadView();
}

// The selected newsletter: frames, tabs, size, headers, check

function frameUrl(extra = {}) {
  return "/email?" + query({ frame: "1", dark: state.dark ? "1" : "0", load: String(state.loads), ...extra });
}

function showProblems(problems) {
  const list = $("#problem-list");
  clear(list);
  for (const problem of problems) list.append(el("li", { class: problem.severity, text: problem.text }));
  $("#problems").hidden = problems.length === 0;
}

function showError(message) {
  $("#error").textContent = message || "";
  $("#error").hidden = !message;
}

async function loadView() {
  if (!state.id) return;
  writeHash();
  const mine = ++state.loads;
  const { ok, body } = await getJSON("/api/view?" + query());
  if (mine !== state.loads) return; // a newer choice was made while this one loaded
  if (!ok) {
    showProblems(body.problems || []);
    showError(body.problems ? "" : body.error);
    for (const section of document.querySelectorAll("[role=tabpanel], .facts")) section.classList.add("stale");
    return;
  }
  showProblems([]);
  showError("");
  for (const section of document.querySelectorAll("[role=tabpanel], .facts")) section.classList.remove("stale");
  $("#title").textContent = body.subject;
  const select = $("#variant");
  clear(select);
  for (const variant of body.variants) {
    select.append(el("option", { value: variant.id, text: variant.label + (variant.names ? " — " + variant.names : "") }));
  }
  select.value = body.variant;
  select.disabled = Boolean(body.member);
  $("#member-clear").hidden = !body.member;
  showFrames();
  $("#open-tab").href = "/email?" + query({ dark: state.dark ? "1" : "0" });
  $("#text").textContent = body.text;
  $("#html").textContent = body.html;
  $("#mjml").textContent = body.mjml;
  const headers = $("#headers");
  clear(headers);
  for (const [name, value] of Object.entries(body.headers)) {
    headers.append(el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: value })));
  }
  const kb = (bytes) => (bytes / 1000).toFixed(1);
  $("#size").value = body.size.bytes;
  $("#size").max = body.size.clip;
  $("#size").high = body.size.warning;
  $("#size-text").textContent = `${kb(body.size.bytes)} KB of the ${kb(body.size.clip)} KB where Gmail clips`;
  $("#send-test").hidden = !body.send_test;
  document.body.dataset.loads = String(state.loads);
  // The check renders every variant: ask for it once the frames have their email, so they don't wait behind it.
  const framed = [...document.querySelectorAll(".frames figure:not([hidden]) iframe")];
  const loaded = framed.map((frame) => new Promise((done) => frame.addEventListener("load", done, { once: true })));
  Promise.race([Promise.all(loaded), new Promise((done) => setTimeout(done, 1000))]).then(() => {
    if (mine === state.loads) loadCheck();
  });
  if (state.tab === "sheet") loadSheet();
}

async function loadCheck() {
  $("#check-summary").textContent = "checking…";
  const { ok, body } = await getJSON("/api/check?" + new URLSearchParams({ id: state.id }));
  const list = $("#check-list");
  clear(list);
  if (!ok) {
    $("#check-summary").textContent = body.error || "failed";
    return;
  }
  for (const problem of body.problems) list.append(el("li", { class: problem.severity, text: problem.text }));
  const count = (severity, noun) => {
    const n = body.problems.filter((p) => p.severity === severity).length;
    return n ? `${n} ${noun}${n === 1 ? "" : "s"}` : "";
  };
  const found = [count("error", "error"), count("warning", "warning")].filter(Boolean);
  $("#check-summary").textContent = found.length ? found.join(", ") : "no problems";
}

async function loadSheet() {
  const sheet = $("#sheet");
  const { ok, body } = await getJSON("/api/sheet?" + new URLSearchParams({ id: state.id }));
  if (!ok) return;
  clear(sheet);
  for (const variant of body.variants) {
    const members = variant.members === null ? "" : ` · ${variant.members.toLocaleString()} members`;
    const src = "/email?" + new URLSearchParams({ id: state.id, variant: variant.id, frame: "1",
      dark: state.dark ? "1" : "0", load: String(state.loads) });
    const frame = el("iframe", { src, width: "375", title: "Email: " + variant.label, loading: "lazy" });
    frame.addEventListener("load", () => showWhom(frame, variant.names));
    sheet.append(el("article", { "data-variant": variant.id },
      el("h3", { text: variant.label + members }),
      el("p", { class: "names", text: variant.names || "names the same officials as every other variant" }),
      frame));
  }
}

// In each variant's frame, scroll to where it names whom only it names ("Kshama Sawant (206) 684-8803" → the
// paragraph with "Kshama Sawant"), and mark it: that is the part to compare across variants.
function showWhom(frame, names) {
  const whom = (names || "").split(";")[0].replace(/\s*\(.*$/, "").split(":")[0].trim().toLowerCase();
  const body = frame.contentDocument && frame.contentDocument.body;
  if (!whom || !body) return;
  // The innermost element of the first that names them, preferring one that starts with the name (a heading, an
  // entry in a list of officials) to one that mentions it in passing.
  const innermost = (matches) => {
    const walker = frame.contentDocument.createTreeWalker(body, NodeFilter.SHOW_ELEMENT);
    let found = null;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if ((found === null || found.contains(node)) && matches(node.textContent.trim().toLowerCase())) found = node;
    }
    return found && found.closest("p, li, h2, h3, h4");
  };
  const found = innermost((text) => text.startsWith(whom)) || innermost((text) => text.includes(whom));
  if (found) {
    found.style.outline = "3px solid #f0b400";
    found.dataset.whom = "";
    // The frame's own scroll only (scrollIntoView would scroll the page around the frame too).
    const view = frame.contentWindow;
    view.scrollTo(0, found.getBoundingClientRect().top + view.scrollY - frame.clientHeight / 3);
  }
}

// Controls

// Only the frames shown load the email: a hidden one loads when it is shown.
function showFrames() {
  for (const figure of document.querySelectorAll(".frames figure")) {
    const width = figure.dataset.width;
    figure.hidden = state.width === "both" ? width === "wide" : width !== state.width;
    const frame = figure.querySelector("iframe");
    if (!figure.hidden && state.id && frame.dataset.loads !== String(state.loads)) {
      frame.dataset.loads = String(state.loads);
      frame.src = frameUrl();
    }
  }
}

function showTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll("[role=tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = panel.id !== "tab-" + tab;
  if (tab === "sheet") loadSheet();
}

$("#variant").addEventListener("change", (event) => {
  state.variant = event.target.value;
  loadView();
});
$("#member-go").addEventListener("click", () => {
  state.member = $("#member").value.trim();
  loadView();
});
$("#member-clear").addEventListener("click", () => {
  state.member = "";
  $("#member").value = "";
  loadView();
});
for (const radio of document.querySelectorAll("input[name=width]")) {
  radio.addEventListener("change", () => {
    state.width = radio.value;
    showFrames();
  });
}
$("#dark").addEventListener("change", (event) => {
  state.dark = event.target.checked;
  document.body.classList.toggle("dark-frames", state.dark);
  loadView();
});
for (const button of document.querySelectorAll("[role=tab]")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
}
for (const frame of document.querySelectorAll("iframe")) {
  // Same origin: fit each frame to its email, so the page scrolls rather than the frame.
  frame.addEventListener("load", () => {
    const root = frame.contentDocument && frame.contentDocument.documentElement;
    if (root) frame.style.height = Math.max(400, root.scrollHeight) + "px";
  });
}
$("#send-test").addEventListener("submit", async () => {
  $("#send-result").textContent = "sending…";
  const payload = { id: state.id, variant: state.variant, member: state.member, to: $("#send-to").value };
  const { body } = await getJSON("/api/send-test", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
  });
  $("#send-result").textContent = body.message
    || body.error
    || (body.problems || []).map((p) => p.text).join("\n");
});

// Live: the server says which newsletters changed; only their views reload.

function listen() {
  const events = new EventSource("/events");
  const status = $("#status");
  events.addEventListener("open", () => {
    status.textContent = "live";
    status.className = "status live";
  });
  events.addEventListener("error", () => {
    // Closed for good when the server refused it: the preview was started again, with a new secret.
    const closed = events.readyState === EventSource.CLOSED;
    status.textContent = closed ? "stopped: open the address actionmail preview printed" : "reconnecting…";
    status.className = "status down";
  });
  events.addEventListener("change", async (event) => {
    const change = JSON.parse(event.data);
    if (change.shared || change.ids.includes(state.id)) {
      await loadView(); // first what the organizer is looking at, then the list
      loadList();
    } else if (await loadList()) {
      loadView(); // the newsletter shown went away: show another
    }
  });
}

// The secret in the address the preview printed is a cookie now: out of the address bar, the history, a copied link.
if (new URLSearchParams(location.search).has("token")) {
  history.replaceState(null, "", location.pathname + location.hash);
}
readHash();
showFrames();
loadList().then(loadView);
listen();
