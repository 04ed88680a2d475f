// The stackferry dashboard: three pages on one HTML file, chosen by the URL's #fragment.
// Everything comes from /api/v1; a migration's page follows its event stream live.
"use strict";

const API = "/api/v1/migrations";
const ENDED = ["COMPLETED", "FAILED", "CANCELLED", "ROLLED_BACK"];
let listTimer = null;
let stream = null;

const $ = (id) => document.getElementById(id);

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function row(cells, attrs) {
  const tr = el("tr", null, attrs);
  for (const cell of cells) tr.appendChild(el("td", cell));
  return tr;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

async function call(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) { window.location = "/login"; throw new Error("sign in first"); }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(data && data.message ? data.message : response.statusText);
  return data;
}

function show(page) {
  for (const id of ["page-list", "page-new", "page-migration"]) $(id).hidden = id !== page;
}

// -- the list ------------------------------------------------------------------------------

async function renderList() {
  const page = await call("GET", `${API}?page_size=100`);
  const body = $("migrations").querySelector("tbody");
  body.replaceChildren();
  const now = Date.now() / 1000;
  for (const m of page.migrations) {
    const steps = m.steps.length ? ` · ${stepSummary(m)}` : "";
    const progress = `${m.progress_percentage.toFixed(1)} %${steps}`;
    const tr = row(
      [m.status, m.project_name || m.name, `${m.spec.source_agent} → ${m.spec.target_host}`,
        progress, seconds(m.downtime_seconds), seconds(now - m.created_at)],
      { class: "link", "data-id": m.id },
    );
    tr.addEventListener("click", () => { window.location.hash = `#/m/${m.id}`; });
    body.appendChild(tr);
  }
  $("no-migrations").hidden = page.migrations.length > 0;
}

function stepSummary(m) {
  const done = m.steps.filter((s) => s.status === "done").length;
  return `${done}/${m.steps.length} steps`;
}

// -- the new-migration form ----------------------------------------------------------------

function formBody() {
  const body = { options: {} };
  for (const input of $("new-form").querySelectorAll("input")) {
    if (input.value === "") continue;
    if (input.name === "bandwidth_limit_bytes_per_second") {
      body.options[input.name] = Number(input.value);
    } else {
      body[input.name] = input.value;
    }
  }
  return body;
}

async function withForm(action) {
  $("form-error").hidden = true;
  try {
    await action();
  } catch (error) {
    $("form-error").textContent = error.message;
    $("form-error").hidden = false;
  }
}

async function validate() {
  const report = await call("POST", `${API}/validate`, formBody());
  const list = $("checks");
  list.replaceChildren();
  for (const check of report.checks) {
    const li = el("li", null, { class: check.ok ? "ok" : "fail", "data-check": check.name });
    li.appendChild(el("span", check.ok ? "✓" : "✗", { class: "mark" }));
    li.appendChild(el("b", check.name));
    li.appendChild(document.createTextNode(` — ${check.detail}`));
    list.appendChild(li);
  }
  $("validation").hidden = false;
  $("validation").dataset.ok = String(report.ok);
}

async function plan() {
  const result = await call("POST", `${API}/plan`, formBody());
  const datasets = $("plan-datasets").querySelector("tbody");
  datasets.replaceChildren(...result.datasets.map((d) => row(
    [d.source_dataset, d.target_dataset, d.target_mountpoint, bytes(d.estimated_bytes)])));
  const mounts = $("plan-mounts").querySelector("tbody");
  mounts.replaceChildren(...result.rewrites.map((r) => row(
    [r.location, r.before, r.after, r.reason])));
  $("plan-diff").textContent = result.compose_diff || "(the compose file does not change)";
  $("plan-result").hidden = false;
}

async function startNew() {
  const migration = await call("POST", API, { ...formBody(), start: true });
  window.location.hash = `#/m/${migration.id}`;
}

// -- one migration -------------------------------------------------------------------------

function renderStatus(status) {
  $("m-state").textContent = status.status;
  $("m-state").className = `state ${status.status}`;
  const percent = status.progress_percentage;
  $("m-bar").style.width = `${percent}%`;
  $("m-bar").setAttribute("aria-valuenow", String(percent));
  $("m-percent").textContent = `${percent.toFixed(1)} %`;
  $("m-bytes").textContent = `${bytes(status.bytes_done)} of ${bytes(status.bytes_expected)}`;
  $("m-rate").textContent = `${bytes(status.rate_bytes_per_second)}/s`;
  $("m-eta").textContent = seconds(status.estimated_remaining_seconds);
  $("m-downtime").textContent = seconds(status.downtime_seconds);
  $("m-error").textContent = status.error;
  $("m-error").hidden = !status.error;
  const now = Date.now() / 1000;
  $("m-steps").querySelector("tbody").replaceChildren(...status.steps.map((s) => {
    const duration = s.duration_seconds ?? (s.started_at ? now - s.started_at : null);
    const moved = s.bytes_expected ? `${bytes(s.bytes_done)} / ${bytes(s.bytes_expected)}` : "";
    return row([s.name, s.status, seconds(duration), moved], { "data-step": s.name });
  }));
  const ended = ENDED.includes(status.status);
  $("cancel").disabled = ended || status.status === "CANCELLING";
  $("delete").disabled = !ended;
  $("resume").hidden = status.status !== "NEEDS_ATTENTION";
}

function logEvent(event) {
  const when = new Date(event.time * 1000).toLocaleTimeString();
  const where = event.step ? ` ${event.step}` : "";
  $("m-log").appendChild(el("li", `${when} ${event.status}${where}: ${event.message}`,
    { "data-kind": event.kind, "data-event-id": String(event.id) }));
}

async function renderMigration(id) {
  const migration = await call("GET", `${API}/${id}`);
  $("main").dataset.migration = id;
  $("m-name").textContent = migration.name;
  $("m-route").textContent =
    `${migration.spec.compose_stack_path}: ${migration.spec.source_agent} → ` +
    `${migration.spec.target_host} (${migration.spec.target_dataset})`;
  $("m-log").replaceChildren();
  renderStatus(await call("GET", `${API}/${id}/status`));
  // EventSource reconnects by itself and sends Last-Event-ID: the stream resumes after it.
  stream = new EventSource(`${API}/${id}/events`);
  stream.addEventListener("migration", (message) => {
    const event = JSON.parse(message.data);
    logEvent(event);
    renderStatus(event.progress);
  });
  stream.addEventListener("end", () => {
    stream.close();
    $("main").dataset.streamEnded = "true";
  });
}

async function cancelShown() {
  if (!window.confirm("Cancel this migration? The source stack keeps (or goes back to) running."))
    return;
  await call("POST", `${API}/${$("main").dataset.migration}/cancel`);
}

async function resumeShown() {
  if (!window.confirm("Run the rollback again? Check the target first (see the error above)."))
    return;
  await call("POST", `${API}/${$("main").dataset.migration}/resume`);
  await route(); // the stream ended when the migration halted: follow it anew
}

async function deleteShown() {
  if (!window.confirm("Delete this migration and its history?")) return;
  await call("DELETE", `${API}/${$("main").dataset.migration}`);
  window.location.hash = "#/";
}

// -- routing -------------------------------------------------------------------------------

async function route() {
  clearInterval(listTimer);
  if (stream) { stream.close(); stream = null; }
  delete $("main").dataset.streamEnded;
  const hash = window.location.hash || "#/";
  try {
    if (hash === "#/new") {
      show("page-new");
    } else if (hash.startsWith("#/m/")) {
      show("page-migration");
      await renderMigration(hash.slice(4));
    } else {
      show("page-list");
      await renderList();
      listTimer = setInterval(() => renderList().catch(() => {}), 2000);
    }
  } catch (error) {
    document.title = `stackferry: ${error.message}`;
  }
}

$("validate").addEventListener("click", () => withForm(validate));
$("plan").addEventListener("click", () => withForm(plan));
$("start").addEventListener("click", () => withForm(startNew));
function failed(error) {
  $("m-error").textContent = error.message;
  $("m-error").hidden = false;
}

$("cancel").addEventListener("click", () => cancelShown().catch(failed));
$("delete").addEventListener("click", () => deleteShown().catch(failed));
$("resume").addEventListener("click", () => resumeShown().catch(failed));
window.addEventListener("hashchange", route);
route();
