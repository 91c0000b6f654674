import { api } from "./api.js";
import { h } from "./dom.js";
import {
  absoluteTime,
  blockerList,
  chainLink,
  jsonView,
  preview,
  relativeTime,
  routeLink,
  statusBadge,
} from "./format.js";
import { card, filterButton, listingPage, statusFilter } from "./listing.js";
import { navigate } from "./router.js";
import { deleteDialog } from "./delete-dialog.js";

const STATUS_FILTER_WARNING =
  "Filtering chains by status alone is not optimized. Combine with a type name filter.";
const QUERY_PERFORMANCE_DOCS = "https://pypi.org/project/queuert-dashboard/#query-performance";

function inputPreview(value) {
  return value === null || value === undefined ? null : h("code", { className: "preview" }, preview(value));
}

function header(typeName, id, createdAt, apply, idKey) {
  return h(
    "header",
    { className: "card-header" },
    h("strong", {}, typeName),
    filterButton(`Show only ${typeName}`, () => apply({ typeName })),
    h("span", { className: "mono muted" }, id),
    filterButton(`Show only ${id}`, () => apply({ [idKey]: id })),
    h("span", { className: "spacer" }),
    relativeTime(createdAt),
  );
}

// --- lists ------------------------------------------------------------------------------

export function chainListPage(signal) {
  return listingPage({
    path: "/",
    resource: "chains",
    signal,
    emptyText: "No chains found",
    filters: [
      { kind: "text", label: "Chain ID", key: "id" },
      { kind: "text", label: "Job ID", key: "jobId" },
      { kind: "text", label: "Type name", key: "typeName" },
      {
        kind: "extra",
        render: (params, apply) =>
          h(
            "span",
            { className: "filter-group" },
            statusFilter(params, apply),
            h("a", { className: "warning", href: QUERY_PERFORMANCE_DOCS, title: STATUS_FILTER_WARNING, target: "_blank" }, "⚠"),
          ),
      },
      { kind: "checkbox", label: "Hide blockers", key: "root", checkedWhenAbsent: true, valueWhenUnchecked: "false" },
    ],
    renderItem: (chain, apply) =>
      card(
        `/chains/${encodeURIComponent(chain.id)}`,
        header(chain.type_name, chain.id, chain.created_at, apply, "id"),
        h("div", { className: "meta" }, statusBadge(chain.status)),
        inputPreview(chain.input),
      ),
  });
}

export function jobListPage(signal) {
  return listingPage({
    path: "/jobs",
    resource: "jobs",
    signal,
    emptyText: "No jobs found",
    filters: [
      { kind: "text", label: "Job ID", key: "id" },
      { kind: "text", label: "Chain ID", key: "chainId" },
      { kind: "text", label: "Type name", key: "typeName" },
      { kind: "status" },
    ],
    renderItem: (job, apply) =>
      card(
        `/jobs/${encodeURIComponent(job.id)}`,
        header(job.type_name, job.id, job.created_at, apply, "id"),
        h(
          "div",
          { className: "meta" },
          statusBadge(job.status),
          job.attempt > 0 ? h("span", {}, `attempt #${job.attempt}`) : null,
          job.status === "running" && job.leased_by ? h("span", { className: "mono" }, job.leased_by) : null,
          chainLink(job.chain_id),
        ),
        inputPreview(job.input),
      ),
  });
}

// --- details ----------------------------------------------------------------------------

function loading(container, signal, load, render) {
  container.append(h("p", { className: "muted" }, "Loading..."));
  load()
    .then((data) => container.replaceChildren(...[render(data)].flat().filter(Boolean)))
    .catch((error) => {
      if (error.name === "AbortError" || signal.aborted) return;
      container.replaceChildren(h("p", { className: "error" }, error.message));
    });
  return container;
}

function jobCard(job, index, blockers) {
  const error = job.last_attempt_error;
  return card(
    `/jobs/${encodeURIComponent(job.id)}`,
    h("header", { className: "card-header" }, h("strong", {}, `${index + 1}. ${job.type_name}`), statusBadge(job.status)),
    h(
      "div",
      { className: "meta" },
      job.attempt > 0 ? h("span", {}, `attempt #${job.attempt}`) : null,
      job.leased_by ? h("span", { className: "mono" }, job.leased_by) : null,
      relativeTime(job.created_at),
    ),
    job.input !== null ? h("div", {}, h("h4", {}, "Input"), jsonView(job.input)) : null,
    job.output !== null && job.output !== undefined ? h("div", {}, h("h4", {}, "Output"), jsonView(job.output)) : null,
    error ? h("p", { className: "error" }, error.length > 200 ? `${error.slice(0, 200)}...` : error) : null,
    blockers.length > 0 ? h("div", {}, h("h4", {}, "Blockers"), blockerList(blockers)) : null,
  );
}

export function chainDetailPage(signal, chainId) {
  const id = encodeURIComponent(chainId);
  const container = h("section", {});
  return h(
    "div",
    {},
    routeLink("/", "← Back to chains"),
    loading(
      container,
      signal,
      () => Promise.all([api(`chains/${id}`, { signal }), api(`chains/${id}/blocking`, { signal })]),
      ([detail, blocking]) => {
        const chain = detail.chain;
        const open = () =>
          document.body.append(deleteDialog(chain.id, () => navigate("/")));
        return [
          h(
            "header",
            { className: "page-header" },
            h("h2", {}, chain.type_name, " ", statusBadge(chain.status)),
            h("div", { className: "mono" }, `chain ${chain.id}`),
            h("div", { className: "muted" }, "Created ", relativeTime(chain.created_at)),
            h("button", { type: "button", className: "danger", onclick: open }, "Delete chain"),
          ),
          h(
            "section",
            {},
            h("h3", {}, `Jobs (${detail.jobs.length})`),
            h(
              "div",
              { className: "cards" },
              detail.jobs.map((job, index) => jobCard(job, index, detail.job_blockers[job.id] || [])),
            ),
          ),
          blocking.items.length > 0
            ? h(
                "section",
                {},
                h("h3", {}, "Blocking"),
                h("p", { className: "muted" }, "Jobs depending on this chain as a blocker:"),
                h(
                  "ul",
                  { className: "blockers" },
                  blocking.items.map((job) =>
                    h("li", {}, statusBadge(job.status), " ", job.type_name, " ", chainLink(job.chain_id)),
                  ),
                ),
              )
            : null,
        ];
      },
    ),
  );
}

function row(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function jobDetail(data, rerender) {
  const { job, continuation, blockers } = data;
  const scheduledLater = job.status === "pending" && new Date(job.scheduled_at).getTime() > Date.now();
  const trigger = h("button", { type: "button" }, "Trigger now");
  trigger.addEventListener("click", async () => {
    trigger.disabled = true;
    trigger.textContent = "Triggering...";
    try {
      const result = await api(`jobs/${encodeURIComponent(job.id)}/trigger`, { method: "POST" });
      rerender({ ...data, job: result.job });
    } catch (error) {
      trigger.disabled = false;
      trigger.textContent = "Trigger now";
      trigger.after(h("span", { className: "error" }, ` ${error.message}`));
    }
  });
  return [
    h(
      "header",
      { className: "page-header" },
      h("h2", {}, job.type_name, " ", statusBadge(job.status)),
      h("div", { className: "mono" }, `job ${job.id}`),
      routeLink(`/chains/${encodeURIComponent(job.chain_id)}`, `${job.chain_type_name} (${job.chain_id})`),
    ),
    h(
      "section",
      {},
      h("h3", {}, "Info"),
      h(
        "dl",
        { className: "info" },
        row("Status", statusBadge(job.status)),
        row("Attempt", `#${job.attempt}`),
        row("Created", absoluteTime(job.created_at), " (", relativeTime(job.created_at), ")"),
        job.scheduled_at
          ? row(
              "Scheduled",
              absoluteTime(job.scheduled_at),
              " (",
              relativeTime(job.scheduled_at),
              ")",
              scheduledLater ? [" ", trigger] : null,
            )
          : null,
        job.completed_at ? row("Completed", absoluteTime(job.completed_at), " (", relativeTime(job.completed_at), ")") : null,
        job.completed_by ? row("Completed by", h("span", { className: "mono" }, job.completed_by)) : null,
        job.leased_by ? row("Leased by", h("span", { className: "mono" }, job.leased_by)) : null,
        job.leased_until ? row("Lease until", absoluteTime(job.leased_until), " (", relativeTime(job.leased_until), ")") : null,
      ),
    ),
    blockers.length > 0 ? h("section", {}, h("h3", {}, "Blockers"), blockerList(blockers)) : null,
    job.input !== null ? h("section", {}, h("h3", {}, "Input"), jsonView(job.input)) : null,
    job.output !== null && job.output !== undefined ? h("section", {}, h("h3", {}, "Output"), jsonView(job.output)) : null,
    continuation
      ? h(
          "section",
          {},
          h("h3", {}, "Continuation"),
          routeLink(`/jobs/${encodeURIComponent(continuation.id)}`, continuation.type_name, " ", statusBadge(continuation.status)),
        )
      : null,
    job.last_attempt_error ? h("section", {}, h("h3", {}, "Error"), h("pre", { className: "error" }, job.last_attempt_error)) : null,
  ];
}

export function jobDetailPage(signal, jobId) {
  const container = h("section", {});
  const rerender = (data) => container.replaceChildren(...jobDetail(data, rerender).filter(Boolean));
  return h(
    "div",
    {},
    routeLink("/jobs", "← Back to jobs"),
    loading(
      container,
      signal,
      () => api(`jobs/${encodeURIComponent(jobId)}`, { signal }),
      (data) => jobDetail(data, rerender),
    ),
  );
}
