// Tillbridge operator console: plain browser JavaScript over the /api/v1 endpoints.

const state = { key: sessionStorage.getItem("tillbridge-key"), store: null };
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${state.key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

async function health() {
  try {
    const h = await (await fetch("/healthz")).json();
    $("#health").textContent = `${h.status} · ${h.database}`;
    $("#health").className = `pill ${h.status === "ok" ? "ok" : "bad"}`;
  } catch {
    $("#health").textContent = "unreachable";
    $("#health").className = "pill bad";
  }
}

async function loadStores() {
  const { items } = await api("GET", "/api/v1/stores");
  $("#stores-empty").hidden = items.length > 0;
  const rows = await Promise.all(
    items.map(async (s) => {
      let push = {};
      try {
        push = await api("GET", `/api/v1/stores/${encodeURIComponent(s.domain)}/inventory/status`);
      } catch {}
      const flow = push.flow ?? s.flows?.inventory_push ?? "disabled";
      const toggle =
        flow === "enabled"
          ? el("button", { onclick: () => setFlow(s.domain, "pause") }, "Pause")
          : flow === "paused"
            ? el("button", { onclick: () => setFlow(s.domain, "resume") }, "Resume")
            : el("button", { onclick: () => setFlow(s.domain, "enable") }, "Enable");
      const drift = push.lastDriftCheck;
      return el(
        "tr",
        { "data-store": s.domain },
        el(
          "td",
          {},
          el(
            "a",
            {
              href: "#",
              onclick: (e) => {
                e.preventDefault();
                openStore(s.domain);
              },
            },
            s.domain,
          ),
        ),
        el("td", {}, el("span", { class: `status-${s.status}` }, s.status)),
        el("td", {}, s.inventoryMode ?? push.mode ?? ""),
        el("td", {}, el("span", { class: `state-${flow}` }, flow), " ", toggle),
        el("td", {}, push.waitingVariants ?? ""),
        el("td", {}, push.batches?.failed ?? 0),
        el(
          "td",
          {},
          drift
            ? drift.status !== "done"
              ? `${drift.status}${drift.error ? `: ${drift.error}` : ""}`
              : drift.drifted === 0
                ? `${drift.checked} checked, all right`
                : `${drift.checked} checked, ${drift.drifted} differed, ${drift.fixed} corrected`
            : "never",
        ),
        el("td", {}, el("button", { onclick: () => openStore(s.domain) }, "Details")),
      );
    }),
  );
  fill($("#stores tbody"), rows);
}

async function loadProblems() {
  const [problems, dead] = await Promise.all([
    api("GET", "/api/v1/order-problems?limit=100").catch(() => ({ items: [] })),
    api("GET", "/api/v1/outbound/dead").catch(() => ({ items: [] })),
  ]);
  $("#order-problems-empty").hidden = problems.items.length > 0;
  fill(
    $("#order-problems tbody"),
    problems.items.map((o) =>
      el(
        "tr",
        {},
        el("td", {}, o.store),
        el("td", {}, o.name),
        el("td", {}, o.status),
        el("td", {}, o.reason ?? ""),
        el("td", {}, el("button", { type: "button", onclick: () => reprocess(o.store) }, "Re-process")),
      ),
    ),
  );
  $("#dead-empty").hidden = dead.items.length > 0;
  fill(
    $("#dead tbody"),
    dead.items.map((d) =>
      el(
        "tr",
        { "data-dead": d.id },
        el("td", {}, d.type),
        el("td", {}, d.orderId ?? ""),
        el("td", {}, d.attempts),
        el("td", {}, d.lastError ?? ""),
        el("td", {}, el("button", { type: "button", onclick: () => replay(d.id) }, "Replay")),
      ),
    ),
  );
}

async function reprocess(domain) {
  try {
    await api("POST", `/api/v1/stores/${encodeURIComponent(domain)}/orders/reprocess`);
  } catch (err) {
    $("#action-result").textContent = err.message;
  }
  await loadProblems();
}

async function replay(id) {
  try {
    await api("POST", `/api/v1/outbound/${id}/replay`);
  } catch (err) {
    $("#action-result").textContent = err.message;
  }
  await loadProblems();
}

async function setFlow(domain, action) {
  try {
    await api("POST", `/api/v1/stores/${encodeURIComponent(domain)}/flows/inventory_push/${action}`);
    $("#action-result").textContent = `Inventory push: ${action} done`;
  } catch (err) {
    $("#action-result").textContent = err.message;
  }
  await loadStores();
}

async function openStore(domain) {
  state.store = domain;
  $("#store-detail").hidden = false;
  $("#store-title").textContent = domain;
  $("#dry-run").hidden = true;
  await refreshStore();
}

async function refreshStore() {
  const d = encodeURIComponent(state.store);
  const [problems, activity, push, rules] = await Promise.all([
    api("GET", `/api/v1/stores/${d}/link-problems`).catch(() => ({ items: [] })),
    api("GET", `/api/v1/stores/${d}/activity?limit=50`).catch(() => ({ items: [] })),
    api("GET", `/api/v1/stores/${d}/inventory/status`).catch(() => ({})),
    api("GET", `/api/v1/stores/${d}/fulfillment-settings`).catch(() => null),
  ]);
  if (rules) {
    state.rules = rules;
    $("#rule-shopify-fulfillments").value = rules.shopifyFulfillments;
    $("#rule-restock").value = rules.restockRule;
    $("#rule-returns-warehouse").value = rules.returnsWarehouse ?? "";
  }
  await refreshJobs();
  const refused = push.failingItems ?? [];
  $("#refused-empty").hidden = refused.length > 0;
  fill(
    $("#refused tbody"),
    refused.map((f) =>
      el(
        "tr",
        { "data-refused": `${f.sku}|${f.location}` },
        el("td", {}, f.sku),
        el("td", {}, f.location),
        el("td", {}, f.error),
        el("td", {}, f.attempts),
        el("td", {}, f.retryAt ? new Date(f.retryAt).toLocaleString() : ""),
      ),
    ),
  );
  fill(
    $("#link-problems tbody"),
    (problems.items ?? []).map((p) =>
      el(
        "tr",
        {},
        el("td", {}, p.kind),
        el("td", {}, p.sku ?? ""),
        el("td", {}, p.barcode ?? ""),
        el("td", {}, p.detail),
      ),
    ),
  );
  fill(
    $("#activity tbody"),
    (activity.items ?? []).map((a) =>
      el(
        "tr",
        { class: `level-${a.level}` },
        el("td", {}, new Date(a.createdAt).toLocaleString()),
        el("td", {}, a.flow),
        el("td", {}, a.level),
        el("td", {}, a.message),
      ),
    ),
  );
}

const JOB_KINDS = {
  "dry-run": "dry_run",
  "drift-check": "drift_check",
  link: "link",
  "initial-sync": "initial_sync",
};
const JOB_NAMES = {
  dry_run: "Dry run",
  drift_check: "Drift check",
  link: "Linking",
  initial_sync: "Initial sync",
};

/** Long work runs as a job in the store's worker: start it, then follow its progress here. */
async function storeAction(action) {
  const d = encodeURIComponent(state.store);
  const kind = JOB_KINDS[action];
  $("#action-result").textContent = `${JOB_NAMES[kind]}: starting…`;
  try {
    let job = await api("POST", `/api/v1/stores/${d}/jobs`, { kind });
    while (job.status === "queued" || job.status === "running") {
      $("#action-result").textContent =
        `${JOB_NAMES[kind]}: ${job.status === "queued" ? "waiting for the store's worker" : (job.progress?.phase ?? "running")}…`;
      await new Promise((r) => setTimeout(r, 1000));
      job = await api("GET", `/api/v1/jobs/${job.id}`);
      await refreshJobs();
    }
    if (job.status !== "done") {
      $("#action-result").textContent = `${JOB_NAMES[kind]} ${job.status}: ${job.error ?? ""}`;
    } else if (kind === "dry_run") {
      const report = job.result;
      $("#dry-run").hidden = false;
      fill(
        $("#dry-run tbody"),
        report.rows.map((r) =>
          el(
            "tr",
            {},
            el("td", {}, r.sku),
            el("td", {}, r.location),
            el("td", {}, `${r.shopify.onHand} / ${r.shopify.available} / ${r.shopify.committed}`),
            el("td", {}, `${r.hub.onHand} / ${r.hub.available} / ${r.hub.committed}`),
            el("td", {}, r.difference),
            el("td", {}, r.cause ?? ""),
          ),
        ),
      );
      $("#action-result").textContent =
        report.keptByDelta > 0
          ? `Dry run: ${report.checked} checked; delta mode keeps Shopify's own count at ${report.keptByDelta} (use Initial sync to send the hub's values once).`
          : `Dry run: ${report.checked} checked, ${report.wouldChange} would change${report.rowsOmitted ? ` (first ${report.rows.length} shown)` : ""}.`;
    } else if (kind === "drift_check") {
      const s = job.result;
      $("#action-result").textContent =
        s.drifted === 0
          ? `Drift check: ${s.checked} checked, all as the hub says.`
          : `Drift check: ${s.checked} checked, ${s.drifted} differed from the hub, ${s.fixed} corrected (see Activity for each one and its likely cause).`;
    } else if (kind === "link") {
      const s = job.result;
      $("#action-result").textContent =
        `Linked ${s.linked} variants (${s.bySku} by SKU, ${s.byBarcode} by barcode); ${s.problems} problems.`;
    } else if (kind === "initial_sync") {
      const s = job.result;
      $("#action-result").textContent =
        `Initial sync: read ${s.read} levels; the hub's value goes out once at ${s.toSend}.`;
    }
  } catch (err) {
    $("#action-result").textContent = err.message;
  }
  await Promise.all([refreshStore(), loadStores()]);
}

async function refreshJobs() {
  const d = encodeURIComponent(state.store);
  const { items } = await api("GET", `/api/v1/stores/${d}/jobs`).catch(() => ({ items: [] }));
  $("#jobs-empty").hidden = items.length > 0;
  fill(
    $("#jobs tbody"),
    items.map((j) =>
      el(
        "tr",
        { "data-job": j.id },
        el("td", {}, JOB_NAMES[j.kind] ?? j.kind),
        el("td", {}, j.status),
        el(
          "td",
          {},
          j.status === "failed" || j.status === "cancelled" ? (j.error ?? "") : (j.progress?.phase ?? ""),
        ),
        el("td", {}, new Date(j.createdAt).toLocaleString()),
        el(
          "td",
          {},
          j.status === "queued" || j.status === "running"
            ? el(
                "button",
                {
                  onclick: async () => {
                    await api("POST", `/api/v1/jobs/${j.id}/cancel`);
                    await refreshJobs();
                  },
                },
                "Cancel",
              )
            : "",
        ),
      ),
    ),
  );
}

async function saveRules(event) {
  event.preventDefault();
  const d = encodeURIComponent(state.store);
  const warehouse = $("#rule-returns-warehouse").value.trim();
  try {
    const saved = await api("PUT", `/api/v1/stores/${d}/fulfillment-settings`, {
      notifyCustomer: state.rules?.notifyCustomer ?? false,
      restockRule: $("#rule-restock").value,
      returnsWarehouse: warehouse === "" ? null : warehouse,
      shopifyFulfillments: $("#rule-shopify-fulfillments").value,
    });
    state.rules = saved;
    $("#rules-result").textContent = "Saved.";
  } catch (err) {
    $("#rules-result").textContent = err.message;
  }
}

async function lookupStock(event) {
  event.preventDefault();
  const sku = $("#stock-sku").value.trim();
  const { items } = await api(
    "GET",
    `/api/v1/stock?limit=200${sku ? `&sku=${encodeURIComponent(sku)}` : ""}`,
  );
  fill(
    $("#stock tbody"),
    items.map((r) =>
      el(
        "tr",
        {},
        el("td", {}, r.sku),
        el("td", {}, r.warehouse),
        el("td", {}, r.onHand),
        el("td", {}, r.reserved),
        el("td", {}, r.safetyStock),
        el("td", {}, r.sellable),
      ),
    ),
  );
}

async function start() {
  await health();
  if (!state.key) {
    $("#login").hidden = false;
    return;
  }
  try {
    await loadStores();
    await loadProblems();
    $("#login").hidden = true;
    $("#app").hidden = false;
    $("#logout").hidden = false;
  } catch (err) {
    if (err.status === 401) {
      sessionStorage.removeItem("tillbridge-key");
      state.key = null;
      $("#login").hidden = false;
      $("#login-error").textContent = "That key was not accepted.";
    } else {
      $("#login-error").textContent = err.message;
      $("#login").hidden = false;
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.key = $("#api-key").value.trim();
    sessionStorage.setItem("tillbridge-key", state.key);
    $("#login-error").textContent = "";
    start();
  });
  $("#logout").addEventListener("click", () => {
    sessionStorage.removeItem("tillbridge-key");
    location.reload();
  });
  for (const b of document.querySelectorAll("[data-action]"))
    b.addEventListener("click", () => storeAction(b.dataset.action));
  $("#stock-form").addEventListener("submit", lookupStock);
  $("#stock-rules").addEventListener("submit", saveRules);
  start();
  setInterval(() => {
    if (state.key && !$("#app").hidden) Promise.all([loadStores(), loadProblems()]).catch(() => {});
  }, 5000);
});
