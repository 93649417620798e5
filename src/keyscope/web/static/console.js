// keyscope console: sign-in, instances, analyses, results. Plain ES module, no framework.
//
// The secret key is sent once, in the JSON body of POST /console/api/session; what the page
// keeps (sessionStorage, this tab only) is the short-lived bearer token the server returns.
// Every other call is one of the DCS routes the SDK uses, with "Authorization: Bearer <token>".

const V = window.KeyscopeView;
const { el } = V;
const SESSION_KEY = "keyscope.console.session";
const app = document.getElementById("app");

const KINDS = {
  bigkey: {
    label: "Big keys", list: "bigkey-tasks", create: "bigkey-task", detail: "bigkey-task",
    schedule: "bigkey/autoscan", records: (r) => r.records, total: (r) => r.count,
  },
  hotkey: {
    label: "Hot keys", list: "hotkey-tasks", create: "hotkey-task", detail: "hotkey-task",
    schedule: "hotkey/autoscan", records: (r) => r.records, total: (r) => r.count,
  },
  expire: {
    label: "Expired keys", list: "auto-expire/histories", create: "scan-expire-keys-task",
    detail: null, fromHistory: true, schedule: "scan-expire-keys/autoscan-config",
    records: (r) => r.records, total: (r) => r.total,
  },
  offline: {
    label: "Offline (RDB)", list: "offline/key-analysis", create: "offline/key-analysis",
    detail: "offline/key-analysis", schedule: null, records: (r) => r.records, total: (r) => r.total,
  },
};

let session = loadSession();
let project = session ? session.projects[0] : null;
let pollTimer = null;
let notice = null;

function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (saved && Date.parse(saved.expires_at) > Date.now()) return saved;
  } catch (_) { /* a damaged entry is the same as none */ }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

function signOut(message) {
  session = null;
  project = null;
  sessionStorage.removeItem(SESSION_KEY);
  notice = message;
  if (location.hash === "#/signin") render();
  else location.hash = "#/signin";  // the hashchange renders the sign-in
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.error_msg || body.detail && JSON.stringify(body.detail))) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${session.token}`, "Content-Type": "application/json" };
  const response = await fetch(`/v2/${encodeURIComponent(project)}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401) {
    signOut("Your session has ended; sign in again.");
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function statusBadge(status) {
  return el("span", { class: `status status-${status}`, "data-testid": "status", text: status || "" });
}

function errorBox() {
  return el("div", { class: "error", role: "alert" });
}

function showError(box, err) {
  box.textContent = err instanceof Error ? err.message : String(err);
}

function time(value) {
  return value ? value.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC") : "";
}

/* Seconds between two API times, shown as "4.2 s" or "3 min 05 s"; "" when either is missing. */
function duration(from, to) {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? seconds(ms / 1000) : "";
}

function seconds(s) {
  if (s < 60) return `${s.toFixed(s < 1 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - m * 60)).padStart(2, "0")} s`;
}

function stat(value, label, testid) {
  return el("div", { class: "stat" }, [
    el("span", { class: "stat-value", "data-testid": testid || null, text: value }),
    el("span", { class: "stat-label", text: label }),
  ]);
}

function nodeAddress(n) {
  return n ? `${n.node_ip}:${n.node_port}` : "";
}

// ---- sign-in -------------------------------------------------------------------------------

function renderSignIn(message) {
  const error = errorBox();
  if (message) error.textContent = message;
  const ak = el("input", { name: "access_key", autocomplete: "username", required: "", "data-testid": "access-key" });
  const sk = el("input", { name: "secret_key", type: "password", autocomplete: "current-password", required: "", "data-testid": "secret-key" });
  const form = el("form", { class: "stack", method: "post", action: "/console/api/session" }, [
    el("label", {}, ["Access key (AK)", ak]),
    el("label", {}, ["Secret key (SK)", sk]),
    error,
    el("button", { type: "submit", "data-testid": "sign-in" }, ["Sign in"]),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const response = await fetch("/console/api/session", {
        method: "POST", headers: { "Content-Type": "application/json" }, cache: "no-store",
        body: JSON.stringify({ access_key: ak.value.trim(), secret_key: sk.value }),
      });
      const data = await response.json();
      if (!response.ok) throw new ApiError(response.status, data);
      sk.value = "";
      session = { token: data.token, expires_at: data.expires_at, projects: data.projects, access_key: data.access_key };
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      project = session.projects[0];
      if (location.hash === "#/instances") render();
      else location.hash = "#/instances";
    } catch (err) {
      showError(error, err);
    }
  });
  app.replaceChildren(el("div", { class: "card signin" }, [
    el("h1", { text: "Sign in to keyscope" }),
    el("p", { class: "muted", text: "Use an access key and secret key from the server's credentials file. The secret key is exchanged for a short-lived token and is not kept by this page." }),
    form,
  ]));
  ak.focus();
}

// ---- instances -----------------------------------------------------------------------------

async function renderInstances() {
  const error = errorBox();
  const listBox = el("div", {}, [el("p", { class: "muted", text: "Loading instances…" })]);
  const name = el("input", { name: "name", required: "", placeholder: "cache-eu-1", "data-testid": "instance-name" });
  const mode = el("select", { name: "mode", "data-testid": "instance-mode" }, [
    el("option", { value: "single", text: "standalone" }),
    el("option", { value: "ha", text: "master/replica" }),
    el("option", { value: "cluster", text: "Redis Cluster" }),
  ]);
  const addresses = el("input", { name: "addresses", required: "", placeholder: "10.0.0.5:6379, 10.0.0.6:6379", size: 34, "data-testid": "instance-addresses" });
  const username = el("input", { name: "username", autocomplete: "off", placeholder: "default", size: 10, "data-testid": "instance-username" });
  const password = el("input", { name: "password", type: "password", autocomplete: "new-password", "data-testid": "instance-password" });
  const submit = el("button", { type: "submit", "data-testid": "register-instance" }, ["Register"]);
  const form = el("form", { class: "inline", method: "post", action: "#" }, [
    el("label", {}, ["Name", name]), el("label", {}, ["Mode", mode]),
    el("label", {}, ["Addresses (host:port, comma-separated)", addresses]),
    el("label", {}, ["ACL user (optional)", username]),
    el("label", {}, ["Password (optional)", password]), submit,
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      const body = {
        name: name.value.trim(), mode: mode.value,
        addresses: addresses.value.split(/[\s,]+/).filter(Boolean),
      };
      if (username.value.trim()) body.username = username.value.trim();
      if (password.value) body.password = password.value;
      const created = await api("POST", "/instances", body);
      password.value = "";
      location.hash = `#/i/${created.instance_id}/bigkey`;
    } catch (err) {
      showError(error, err);
    } finally {
      submit.disabled = false;
    }
  });
  app.replaceChildren(
    el("h1", { text: "Instances" }), listBox,
    el("div", { class: "card" }, [el("h2", { text: "Register an instance" }), form, error]),
  );
  try {
    const data = await api("GET", "/instances?limit=1000");
    if (!data.instances.length) {
      listBox.replaceChildren(el("p", { class: "muted", text: "No instance yet: register one below." }));
      return;
    }
    const rows = data.instances.map((i) => el("tr", {}, [
      el("td", {}, [el("a", { href: `#/i/${i.instance_id}/bigkey`, "data-testid": "instance-link", text: i.name })]),
      el("td", { text: i.mode }), el("td", { text: i.addresses.join(", ") }),
      el("td", { text: `${i.engine} ${i.engine_version}` }), el("td", { class: "num", text: i.node_count }),
      el("td", { text: time(i.created_at) }),
    ]));
    listBox.replaceChildren(el("table", { class: "data card", "data-testid": "instances-table" }, [
      el("thead", {}, [el("tr", {}, ["Name", "Mode", "Addresses", "Engine", "Nodes", "Registered"].map((h) => el("th", { text: h })))]),
      el("tbody", {}, rows),
    ]));
  } catch (err) {
    listBox.replaceChildren();
    showError(error, err);
  }
}

// ---- one instance --------------------------------------------------------------------------

async function renderInstance(instanceId, kind) {
  const error = errorBox();
  const header = el("div", {}, [el("p", { class: "muted", text: "Loading…" })]);
  const nodesBox = el("div", { class: "card" }, [el("h2", { text: "Shards and nodes" })]);
  const tabs = el("nav", { class: "tabs" }, Object.entries(KINDS).map(([key, k]) =>
    el("a", { href: `#/i/${instanceId}/${key}`, class: key === kind ? "active" : null, "data-testid": `tab-${key}`, text: k.label }))
    .concat([el("a", { href: `#/i/${instanceId}/trends`, class: kind === "trends" ? "active" : null, "data-testid": "tab-trends", text: "Trends" })]));
  const kindBox = el("div");
  app.replaceChildren(el("p", {}, [el("a", { href: "#/instances", text: "← Instances" })]), header, error, nodesBox, tabs, kindBox);
  let instance;
  let nodes;
  let groups;
  try {
    [instance, nodes, groups] = await Promise.all([
      api("GET", `/instances/${instanceId}`),
      api("GET", `/instances/${instanceId}/logical-nodes`),
      api("GET", `/instance/${instanceId}/groups`),
    ]);
  } catch (err) {
    header.replaceChildren();
    showError(error, err);
    return;
  }
  header.replaceChildren(
    el("h1", { text: instance.name }),
    el("dl", { class: "kv" }, [
      el("dt", { text: "Mode" }), el("dd", { text: instance.mode }),
      el("dt", { text: "Engine" }), el("dd", { text: `${instance.engine} ${instance.engine_version}` }),
      el("dt", { text: "Addresses" }), el("dd", { text: instance.addresses.join(", ") }),
      el("dt", { text: "Instance id" }), el("dd", { text: instance.instance_id }),
    ]),
  );
  nodesBox.appendChild(shardsTable(groups, nodes));
  const nodeRows = [];
  nodes.nodes.forEach((n) => nodeRows.push(el("tr", {}, [
    el("td", { text: n.group_name }), el("td", { text: n.node_type }),
    el("td", { text: `${n.node_ip}:${n.node_port}` }), el("td", { text: n.status }), el("td", { class: "muted", text: n.node_id }),
  ])));
  nodesBox.appendChild(el("table", { class: "data", "data-testid": "nodes-table" }, [
    el("thead", {}, [el("tr", {}, ["Shard", "Role", "Address", "Status", "Node id"].map((h) => el("th", { text: h })))]),
    el("tbody", {}, nodeRows),
  ]));
  if (kind === "trends") await renderTrends(kindBox, instanceId);
  else await renderKind(kindBox, instanceId, kind, nodes);
}

/* One row per shard (DCS group): its master and replicas, from ListGroupReplicationInfo. */
function shardsTable(groups, nodes) {
  const byId = new Map(nodes.nodes.map((n) => [n.node_id, n]));
  const address = (r) => {
    const n = byId.get(r.node_id);
    return n ? `${n.node_ip}:${n.node_port}` : r.replication_ip;
  };
  const rows = groups.group_list.map((g) => {
    const masters = g.replication_list.filter((r) => r.replication_role === "master");
    const replicas = g.replication_list.filter((r) => r.replication_role !== "master");
    return el("tr", { "data-testid": "shard-row" }, [
      el("td", { text: g.group_name }), el("td", { text: masters.map(address).join(", ") }),
      el("td", { text: replicas.map(address).join(", ") || "—" }),
      el("td", { class: "num", text: g.replication_list.length }), el("td", { class: "muted", text: g.group_id }),
    ]);
  });
  return el("div", {}, [
    el("p", { class: "muted", "data-testid": "shards-summary", text: `${groups.group_count} shard${groups.group_count === 1 ? "" : "s"}, ${nodes.total} node${nodes.total === 1 ? "" : "s"}` }),
    el("table", { class: "data", "data-testid": "shards-table" }, [
      el("thead", {}, [el("tr", {}, ["Shard", "Master", "Replicas", "Nodes", "Shard id"].map((h) => el("th", { text: h })))]),
      el("tbody", {}, rows),
    ]),
    el("h3", { text: "Nodes" }),
  ]);
}

/* The history as the API lists it, every plain field a CSV column (in the order the API gives
 * them); nested ones (an expired-key scan's per-node rows) are in the JSON only. */
function historyDownloads(kind, instanceId, page, records) {
  const keys = [];
  records.forEach((r) => Object.keys(r).forEach((key) => {
    if (!keys.includes(key) && (r[key] === null || typeof r[key] !== "object")) keys.push(key);
  }));
  return V.downloadButtons(`keyscope-${kind}-history-${instanceId}`, page, keys.map((key) => ({ key })), records, "history-");
}

function hasResultPage(k, record) {
  return (k.detail || k.fromHistory) && record.status === "success";
}

async function renderKind(box, instanceId, kind, nodes) {
  const k = KINDS[kind];
  const base = `/instances/${instanceId}`;
  const error = errorBox();
  const history = el("div", {}, [el("p", { class: "muted", text: "Loading history…" })]);
  const runBox = el("div", { class: "card" }, [el("h2", { text: "Run one now" })]);
  const scheduleBox = el("div", { class: "card" }, [el("h2", { text: "Schedule" })]);
  box.replaceChildren(el("div", { class: "row" }, [runBox, scheduleBox]), error, el("h2", { text: "History" }), history);

  const runButton = el("button", { type: "button", "data-testid": `run-${kind}` }, [`Run ${k.label.toLowerCase()} analysis`]);
  let picker = null;
  if (kind === "offline") {
    const node = el("select", { name: "node_id", "data-testid": "offline-node" });
    nodes.nodes.forEach((n) =>
      node.appendChild(el("option", { value: n.node_id, text: `${n.group_name} ${n.node_type} ${nodeAddress(n)}` })));
    picker = backupPicker(base, nodes, node, error);
    runBox.appendChild(el("div", { class: "inline" }, [el("label", {}, ["Node ", node]), el("label", {}, [" Backup ", picker.select])]));
    runBox.appendChild(picker.table);
    runButton.onclick = () => run({ node_id: node.value, ...(picker.select.value ? { backup_id: picker.select.value } : {}) });
  } else {
    runButton.onclick = () => run(undefined);
  }
  runBox.appendChild(el("p", {}, [runButton]));

  async function run(body) {
    error.textContent = "";
    runButton.disabled = true;
    try {
      await api("POST", `${base}/${k.create}`, body);
      await loadHistory();
    } catch (err) {
      showError(error, err);
    } finally {
      runButton.disabled = false;
    }
  }

  async function loadHistory() {
    clearTimeout(pollTimer);
    const page = await api("GET", `${base}/${k.list}?limit=20&offset=0`);
    const records = k.records(page);
    const withCounts = await Promise.all(records.map(async (r) => {
      if (r.num !== undefined || !k.detail || r.status !== "success") return r;
      try {
        const detail = await api("GET", `${base}/${k.detail}/${r.id}`);
        return { ...r, num: detail.num !== undefined ? detail.num : detail.total_num };
      } catch (_) { return r; }
    }));
    const rows = withCounts.map((r) => el("tr", { "data-testid": "history-row" }, [
      el("td", {}, [statusBadge(r.status)]), el("td", { text: r.scan_type || "manual" }),
      el("td", { text: time(r.created_at) }), el("td", { text: time(r.started_at) }), el("td", { text: time(r.finished_at) }),
      el("td", { class: "num", text: r.num === undefined || r.num === null ? "" : V.formatNumber(r.num) }),
      el("td", {}, [hasResultPage(k, r)
        ? el("a", { href: `#/i/${instanceId}/${kind}/${r.id}`, "data-testid": "result-link", text: "View result" })
        : el("span", { class: "muted", text: r.reason || "" })]),
    ]));
    const countLabel = { offline: "Keys", expire: "Keys reclaimed" }[kind] || "Keys found";
    history.replaceChildren(...(rows.length
      ? [historyDownloads(kind, instanceId, page, records), el("table", { class: "data card", "data-testid": "history-table" }, [
        el("thead", {}, [el("tr", {}, ["Status", "Scan type", "Created", "Started", "Finished", countLabel, ""].map((h) => el("th", { text: h })))]),
        el("tbody", {}, rows),
      ])]
      : [el("p", { class: "muted", text: `${V.formatNumber(k.total(page))} analyses so far.` })]));
    const busy = records.some((r) => r.status === "waiting" || r.status === "running");
    if (picker && (busy || picker.wasBusy)) picker.reload();  // a backup an analysis took
    if (picker) picker.wasBusy = busy;
    if (busy) {
      pollTimer = setTimeout(() => loadHistory().catch((err) => showError(error, err)), 1000);
    }
  }

  renderSchedule(scheduleBox, base, kind, error).catch((err) => showError(error, err));
  try {
    await loadHistory();
  } catch (err) {
    history.replaceChildren();
    showError(error, err);
  }
}

/* The backups of the chosen node, newest first, each with what it holds: node, size, time
 * and status. Only finished ones can be analysed; the first choice takes a new backup. */
function backupPicker(base, nodes, nodeSelect, error) {
  const byId = new Map(nodes.nodes.map((n) => [n.node_id, n]));
  const select = el("select", { name: "backup_id", "data-testid": "offline-backup" });
  const tbody = el("tbody");
  const table = el("table", { class: "data backups", "data-testid": "backups-table" }, [
    el("thead", {}, [el("tr", {}, ["Backup", "Holds", "Size", "Taken", "Status"].map((h) => el("th", { text: h })))]),
    tbody,
  ]);
  let backups = [];
  // The files a backup holds (one per shard; an older record names only its node).
  const files = (b) => (b.nodes && b.nodes.length ? b.nodes : [{ node_id: b.node_id, node_ip: null }]);
  // As the API reads it: the node's own file, else its shard's, else an upload's one file.
  const holds = (b, node) => files(b).some((f) => f.node_id === node.node_id
    || (f.node_id && f.group_id && f.group_id === node.group_id)) || (files(b).length === 1 && !files(b)[0].node_id);
  const held = (b) => files(b).map((f) => {
    const n = byId.get(f.node_id);
    const where = f.node_ip ? `${f.node_ip}:${f.node_port}` : nodeAddress(n) || "uploaded file";
    return [f.group_name || (n && n.group_name), where].filter(Boolean).join(" ");
  }).join(", ");
  function fill() {
    const node = byId.get(nodeSelect.value);
    const mine = node ? backups.filter((b) => holds(b, node)) : [];
    select.replaceChildren(el("option", { value: "", text: "take a new backup now" }), ...mine.map((b) => el("option", {
      value: b.backup_id, disabled: b.status === "succeed" ? null : "",
      text: `${time(b.created_at)} · ${V.formatBytes(b.size)} · ${b.status}`,
    })));
    tbody.replaceChildren(...(mine.length ? mine.map((b) => el("tr", { "data-testid": "backup-row" }, [
      el("td", { text: b.backup_name }), el("td", { text: held(b) }),
      el("td", { class: "num", text: V.formatBytes(b.size) }), el("td", { text: time(b.created_at) }),
      el("td", {}, [el("span", { class: `status status-${b.status === "succeed" ? "success" : b.status === "failed" ? "failed" : "running"}`, text: b.status })]),
    ])) : [el("tr", {}, [el("td", { colspan: 5, class: "muted", text: "No backup of this node yet: the analysis takes one." })])]));
  }
  nodeSelect.addEventListener("change", fill);
  function reload() {
    const chosen = select.value;
    return api("GET", `${base}/backups?limit=1000`)
      .then((page) => { backups = page.backup_record_response; fill(); select.value = chosen; if (select.value !== chosen) select.value = ""; })
      .catch((err) => showError(error, err));
  }
  fill();
  reload();
  return { select, table, reload };
}

async function renderSchedule(box, base, kind, error) {
  const k = KINDS[kind];
  if (!k.schedule) {
    box.appendChild(el("p", { class: "muted", text: "Offline analyses run on demand, on a node's backup; they have no schedule." }));
    return;
  }
  const config = await api("GET", `${base}/${k.schedule}`);
  const enabled = el("input", { type: "checkbox", name: "enable_auto_scan", "data-testid": "schedule-enabled" });
  enabled.checked = config.enable_auto_scan;
  const saved = el("span", { class: "muted" });
  const fields = [el("label", {}, [enabled, " Automatic scans"])];
  let collect;
  if (kind === "expire") {
    const first = el("input", { name: "first_scan_at", value: config.first_scan_at || "", placeholder: "2026-01-01T03:00:00.000", size: 24 });
    const interval = el("input", { name: "interval", type: "number", min: 1, value: config.interval ?? 86400 });
    const timeout = el("input", { name: "timeout", type: "number", min: 1, value: config.timeout ?? 172800 });
    const count = el("input", { name: "scan_keys_count", type: "number", min: 1, value: config.scan_keys_count ?? 10 });
    fields.push(el("label", {}, ["First scan (UTC)", first]), el("label", {}, ["Interval (s)", interval]),
      el("label", {}, ["Timeout (s)", timeout]), el("label", {}, ["Keys per SCAN", count]));
    collect = () => ({
      enable_auto_scan: enabled.checked, first_scan_at: first.value.trim() || undefined,
      interval: Number(interval.value), timeout: Number(timeout.value), scan_keys_count: Number(count.value),
    });
  } else {
    const times = el("input", { name: "schedule_at", value: (config.schedule_at || []).join(", "), placeholder: "21:00, 09:30", "data-testid": "schedule-times" });
    fields.push(el("label", {}, ["Daily at (UTC, HH:MM)", times]));
    collect = () => ({ enable_auto_scan: enabled.checked, schedule_at: times.value.split(/[\s,]+/).filter(Boolean) });
  }
  const form = el("form", { class: "inline", method: "post", action: "#" }, [...fields, el("button", { type: "submit", class: "secondary", "data-testid": "save-schedule" }, ["Save"]), saved]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const updated = await api("PUT", `${base}/${k.schedule}`, collect());
      saved.textContent = `Saved ${time(updated.updated_at)}`;
    } catch (err) {
      showError(error, err);
    }
  });
  box.appendChild(form);
}

// ---- results -------------------------------------------------------------------------------

async function renderResult(instanceId, kind, taskId) {
  const k = KINDS[kind];
  const error = errorBox();
  const body = el("div", { "data-testid": "result" });
  app.replaceChildren(el("p", {}, [el("a", { href: `#/i/${instanceId}/${kind}`, text: `← ${k.label} history` })]), error, body);
  try {
    if (k.fromHistory) {
      await renderHistoryResult(body, instanceId, kind, taskId);
      return;
    }
    const [result, nodes] = await Promise.all([
      api("GET", `/instances/${instanceId}/${k.detail}/${taskId}`),
      kind === "offline" ? api("GET", `/instances/${instanceId}/logical-nodes`) : null,
    ]);
    const node = nodes && nodes.nodes.find((n) => n.node_id === result.node_id);
    body.appendChild(el("h1", { text: `${k.label} analysis` }));
    body.appendChild(el("dl", { class: "kv" }, [
      el("dt", { text: "Status" }), el("dd", {}, [statusBadge(result.status)]),
      el("dt", { text: "Started" }), el("dd", { text: time(result.started_at) }),
      el("dt", { text: "Finished" }), el("dd", { text: time(result.finished_at) }),
      el("dt", { text: "Duration" }), el("dd", { "data-testid": "result-duration", text: duration(result.started_at, result.finished_at) }),
      ...(kind === "offline"
        ? [el("dt", { text: "Node" }), el("dd", { "data-testid": "result-node", text: [result.group_name, result.node_type, node ? nodeAddress(node) : result.node_ip].filter(Boolean).join(" ") })]
        : [el("dt", { text: "Keys found" }), el("dd", { "data-testid": "result-num", text: V.formatNumber(result.num) })]),
    ]));
    if (kind === "offline") V.renderOfflineReport(body, result, result.id);
    else V.renderScanResult(body, result, kind);
  } catch (err) {
    showError(error, err);
  }
}

/* An expired-key scan has no detail operation in DCS: its result is its history record,
 * with keyscope's keys-scanned figure and each master's part where the scan recorded them. */
async function renderHistoryResult(body, instanceId, kind, taskId) {
  const k = KINDS[kind];
  const page = await api("GET", `/instances/${instanceId}/${k.list}?limit=1000&offset=0`);
  const record = k.records(page).find((r) => r.id === taskId);
  if (!record) throw new Error(`analysis ${taskId} is not in the last 1,000 of this instance`);
  body.appendChild(el("h1", { text: `${k.label} scan` }));
  body.appendChild(el("dl", { class: "kv" }, [
    el("dt", { text: "Status" }), el("dd", {}, [statusBadge(record.status)]),
    el("dt", { text: "Scan type" }), el("dd", { text: record.scan_type }),
    el("dt", { text: "Started" }), el("dd", { text: time(record.started_at) }),
    el("dt", { text: "Finished" }), el("dd", { text: time(record.finished_at) }),
  ]));
  const nodes = record.nodes || [];
  body.appendChild(el("div", { class: "totals" }, [
    stat(V.formatNumber(record.num), "keys reclaimed", "result-num"),
    stat(record.scanned_keys === undefined ? "—" : V.formatNumber(record.scanned_keys), "keys scanned", "result-scanned"),
    stat(duration(record.started_at, record.finished_at), "duration", "result-duration"),
    stat(nodes.length ? V.formatNumber(nodes.length) : "—", nodes.length === 1 ? "master" : "masters"),
  ]));
  const rows = nodes.map((n) => ({ ...n }));
  const columns = [
    { key: "node", label: "Node" },
    { key: "expired_keys", label: "Keys reclaimed", numeric: true },
    { key: "scanned_keys", label: "Keys scanned", numeric: true },
    { key: "seconds", label: "Duration", numeric: true, format: (v) => (typeof v === "number" ? seconds(v) : "") },
  ];
  body.appendChild(el("section", { class: "result-section", "data-testid": "nodes-section" }, [
    el("h3", { text: "Per node" }),
    el("p", { class: "muted", text: "Reclaimed: the growth of the master's own expired_keys counter while the scan ran (it also counts what the server expired by itself meanwhile)." }),
    V.downloadButtons(`keyscope-${kind}-${record.id}`, record, columns, rows),
    rows.length
      ? V.sortableTable(columns, rows, "expire-nodes-table")
      : el("p", { class: "muted", text: "This scan kept no per-node figures." }),
  ]));
}

// ---- trends and diffs ----------------------------------------------------------------------

function lineOption(labels, series, bytes) {
  return {
    tooltip: { trigger: "axis", valueFormatter: (v) => (bytes ? V.formatBytes(v) : V.formatNumber(v)) },
    legend: { type: "scroll", bottom: 0 },
    grid: { left: 70, right: 20, top: 20, bottom: 90 },
    xAxis: { type: "category", data: labels, axisLabel: { rotate: 20 } },
    yAxis: { type: "value", axisLabel: { formatter: (v) => (bytes ? V.formatBytes(v) : V.formatNumber(v)) } },
    series: series.map((s) => ({ type: "line", name: s.name, data: s.data, connectNulls: false, symbolSize: 8 })),
  };
}

function perKey(points, field) {
  const names = [];
  points.forEach((p) => Object.keys(p[field] || {}).forEach((n) => { if (!names.includes(n)) names.push(n); }));
  return names.map((n) => ({ name: n, data: points.map((p) => (p[field] || {})[n] ?? 0) }));
}

/* A chart whose points, clicked, pick the two analyses the diff compares. */
function pickable(card, points, pick) {
  const box = card.querySelector(".chart");
  const instance = box && window.echarts ? window.echarts.getInstanceByDom(box) : null;
  if (instance) instance.on("click", (info) => { if (points[info.dataIndex]) pick(points[info.dataIndex].id); });
}

async function renderTrends(box, instanceId) {
  const error = errorBox();
  const grid = el("div", { class: "chart-grid" });
  const pickers = el("div", { class: "card", "data-testid": "diff-pickers" }, [el("h2", { text: "Compare two analyses" })]);
  box.replaceChildren(error, el("p", { class: "muted", text: "The history of successful analyses, oldest first. Click two points of a chart, or pick them below, to open their diff." }), grid, pickers);
  let trends;
  try {
    trends = await api("GET", `/instances/${instanceId}/analysis-trends?points=100`);
  } catch (err) {
    showError(error, err);
    return;
  }
  const label = (p) => time(p.finished_at);
  const selects = {};
  function picker(kind) {
    const points = trends[kind];
    const options = () => points.slice().reverse().map((p) => el("option", { value: p.id, text: `${label(p)} (${p.scan_type})` }));
    const from = el("select", { "data-testid": `diff-${kind}-base` }, options());
    const to = el("select", { "data-testid": `diff-${kind}-task` }, options());
    if (points.length > 1) from.value = points[points.length - 2].id;
    const open = el("button", { type: "button", "data-testid": `diff-${kind}-open`, disabled: points.length < 2 ? "disabled" : null }, ["Open diff"]);
    open.onclick = () => { location.hash = `#/i/${instanceId}/${kind}/diff/${to.value}/${from.value}`; };
    let next = "base";
    selects[kind] = (id) => {
      if (next === "base") from.value = id; else to.value = id;
      next = next === "base" ? "task" : "base";
    };
    pickers.appendChild(el("div", { class: "inline" }, [
      el("strong", { text: KINDS[kind].label }), el("label", {}, [" from ", from]), el("label", {}, [" to ", to]), open,
    ]));
  }
  const offline = trends.offline || [];
  if (offline.length) {
    const labels = offline.map(label);
    pickable(V.chart(grid, "Memory per type (offline analyses)", lineOption(labels, perKey(offline, "type_bytes"), true), "chart-trend-memory"), offline, (id) => selects.offline(id));
    pickable(V.chart(grid, "Keys per type (offline analyses)", lineOption(labels, perKey(offline, "type_num"), false), "chart-trend-keys"), offline, (id) => selects.offline(id));
    const names = [];
    offline.forEach((p) => p.top_prefixes.forEach((x) => { const n = `${x.key_prefix} (${x.type})`; if (!names.includes(n)) names.push(n); }));
    const prefixSeries = names.map((n) => ({ name: n, data: offline.map((p) => {
      const hit = p.top_prefixes.find((x) => `${x.key_prefix} (${x.type})` === n);
      return hit ? hit.bytes : null;
    }) }));
    V.chart(grid, "Top prefixes by memory", lineOption(labels, prefixSeries, true), "chart-trend-prefixes", true);
  }
  const scans = [["bigkey", "Big keys found"], ["hotkey", "Hot keys found"]].filter(([k]) => (trends[k] || []).length);
  scans.forEach(([kind, title]) => {
    const points = trends[kind];
    pickable(V.chart(grid, title, lineOption(points.map(label), [{ name: title, data: points.map((p) => p.num) }], false), `chart-trend-${kind}`), points, (id) => selects[kind](id));
  });
  const expire = trends.expire || [];
  if (expire.length) {
    V.chart(grid, "Expired keys reclaimed per scan", lineOption(expire.map(label), [{ name: "reclaimed", data: expire.map((p) => p.expired_keys) }], false), "chart-trend-expire");
  }
  ["offline", "bigkey", "hotkey"].forEach((kind) => { if ((trends[kind] || []).length) picker(kind); });
  if (!grid.children.length) grid.appendChild(el("p", { class: "muted", text: "No successful analysis yet." }));
}

function diffTable(title, columns, rows, testid) {
  return el("section", { class: "result-section", "data-testid": testid }, [
    el("h3", { text: title }), rows.length ? V.sortableTable(columns, rows, `${testid}-table`) : el("p", { class: "muted", text: "None." }),
  ]);
}

async function renderDiff(instanceId, kind, taskId, baseId) {
  const k = KINDS[kind];
  const error = errorBox();
  const body = el("div", { "data-testid": "diff" });
  app.replaceChildren(el("p", {}, [el("a", { href: `#/i/${instanceId}/trends`, text: "← Trends" })]), error, body);
  let diff;
  try {
    diff = await api("GET", `/instances/${instanceId}/${k.detail}/${encodeURIComponent(taskId)}/diff?base=${encodeURIComponent(baseId)}`);
  } catch (err) {
    showError(error, err);
    return;
  }
  body.appendChild(el("h1", { text: `${k.label}: what changed` }));
  const num = (key, label) => ({ key, label, numeric: true });
  const bytes = (key, label) => ({ key, label, numeric: true, format: (v) => (v === null || v === undefined ? "?" : V.formatBytes(v)) });
  if (kind === "offline") {
    const t = diff.total;
    body.appendChild(el("p", { "data-testid": "diff-total", text: `${V.formatNumber(t.num_before)} → ${V.formatNumber(t.num_after)} keys, ${V.formatBytes(t.bytes_before)} → ${V.formatBytes(t.bytes_after)}` }));
    body.appendChild(diffTable("Types", [{ key: "type", label: "Type" }, bytes("bytes_before", "Before"), bytes("bytes_after", "After"), bytes("bytes_change", "Change"),
      num("num_before", "Keys before"), num("num_after", "Keys after"), num("num_change", "Change")], diff.types, "diff-types"));
    const prefixColumns = [{ key: "key_prefix", label: "Prefix" }, { key: "type", label: "Type" }, bytes("bytes_before", "Before"), bytes("bytes_after", "After"),
      num("num_before", "Keys before"), num("num_after", "Keys after")];
    [["prefixes_grown_by_bytes", "Prefixes grown most (bytes)"], ["prefixes_shrunk_by_bytes", "Prefixes shrunk most (bytes)"],
      ["prefixes_grown_by_keys", "Prefixes grown most (keys)"], ["prefixes_shrunk_by_keys", "Prefixes shrunk most (keys)"]].forEach(([field, title]) =>
      body.appendChild(diffTable(title, prefixColumns, diff[field], `diff-${field.replace(/_/g, "-")}`)));
    const keyColumns = [{ key: "key", label: "Key" }, { key: "type", label: "Type" }, bytes("bytes_before", "Before"), bytes("bytes_after", "After")];
    [["entered", "Keys that entered the largest"], ["left", "Keys that left the largest"], ["grown", "Largest keys that grew most"]].forEach(([field, title]) =>
      body.appendChild(diffTable(title, keyColumns, diff.largest_keys[field], `diff-keys-${field}`)));
    body.appendChild(diffTable("TTL", [{ key: "bucket", label: "Bucket" }, num("num_before", "Keys before"), num("num_after", "Keys after"), num("num_change", "Change")],
      diff.ttl_distribution, "diff-ttl"));
    if (!diff.prefixes_exact) body.appendChild(el("p", { class: "muted", text: "Figures shown as ? were not listed on that side: approximate." }));
  } else {
    const measure = kind === "hotkey" ? "freq" : "size";
    body.appendChild(el("p", { "data-testid": "diff-total", text: `${V.formatNumber(diff.num_before)} → ${V.formatNumber(diff.num_after)} keys found` }));
    body.appendChild(diffTable("Types", [{ key: "type", label: "Type" }, num("num_before", "Before"), num("num_after", "After"), num("num_change", "Change")], diff.types, "diff-types"));
    const columns = [{ key: "name", label: "Key" }, { key: "type", label: "Type" }, num("db", "DB"), num(`${measure}_before`, "Before"), num(`${measure}_after`, "After")];
    [["entered", "Keys that entered"], ["left", "Keys that left"], ["grown", "Keys that grew most"]].forEach(([field, title]) =>
      body.appendChild(diffTable(title, columns, diff[field], `diff-keys-${field}`)));
  }
}

// ---- routing -------------------------------------------------------------------------------

function renderNav() {
  const nav = document.getElementById("session-nav");
  nav.hidden = !session;
  if (!session) return;
  const select = document.getElementById("project-select");
  select.replaceChildren(...session.projects.map((p) => el("option", { value: p, text: p })));
  select.value = project;
  document.getElementById("who").textContent = session.access_key;
}

function render() {
  clearTimeout(pollTimer);
  V.disposeCharts();
  renderNav();
  if (!session) {
    renderSignIn(notice);
    notice = null;
    return;
  }
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "i" && parts[1] && parts[2] === "trends") {
    renderInstance(parts[1], "trends");
  } else if (parts[0] === "i" && parts[1]) {
    const kind = KINDS[parts[2]] ? parts[2] : "bigkey";
    if (parts[3] === "diff" && parts[4] && parts[5] && KINDS[kind].detail) renderDiff(parts[1], kind, parts[4], parts[5]);
    else if (parts[3] && (KINDS[kind].detail || KINDS[kind].fromHistory)) renderResult(parts[1], kind, parts[3]);
    else renderInstance(parts[1], kind);
  } else {
    renderInstances();
  }
}

document.getElementById("project-select").addEventListener("change", (event) => {
  project = event.target.value;
  location.hash = "#/instances";
  render();
});
document.getElementById("sign-out").addEventListener("click", () => {
  // The server ends the session, so the token stops working everywhere, not only in this tab.
  if (session) {
    fetch("/console/api/session", {
      method: "DELETE", headers: { Authorization: `Bearer ${session.token}` }, cache: "no-store",
    }).catch(() => {});
  }
  signOut("Signed out.");
});
window.addEventListener("hashchange", () => render());
render();
