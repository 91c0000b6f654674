// A filtered, paged list whose filters live in the URL's query string.
import { api, query } from "./api.js";
import { h } from "./dom.js";
import { navigate } from "./router.js";

const PAGE_SIZE = 25;

function textFilter(label, key, params, apply) {
  return h(
    "label",
    { className: "filter" },
    h("span", {}, label),
    h("input", {
      type: "text",
      name: key,
      value: params.get(key) || "",
      placeholder: label,
      onchange: (event) => apply({ [key]: event.target.value.trim() }),
    }),
  );
}

export function statusFilter(params, apply) {
  const current = params.get("status") || "";
  const options = [
    ["", "All statuses"],
    ["pending", "Pending"],
    ["running", "Running"],
    ["completed", "Completed"],
    ["blocked", "Blocked"],
  ];
  return h(
    "label",
    { className: "filter" },
    h("span", {}, "Status"),
    h(
      "select",
      { name: "status", onchange: (event) => apply({ status: event.target.value }) },
      options.map(([value, text]) => h("option", { value, selected: value === current ? "selected" : undefined }, text)),
    ),
  );
}

// filters: [{kind: "text", label, key} | {kind: "status"} | {kind: "checkbox", label, key, checkedWhenAbsent, valueWhenUnchecked}
//           | {kind: "extra", render(params)}]
export function listingPage({ path, resource, filters, renderItem, emptyText, signal }) {
  const params = new URLSearchParams(location.search);
  const apply = (changes) => {
    const next = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(changes)) {
      if (value === "" || value === undefined || value === null) next.delete(key);
      else next.set(key, value);
    }
    const search = next.toString();
    navigate(search ? `${path}?${search}` : path);
  };

  const bar = h(
    "div",
    { className: "filters" },
    filters.map((filter) => {
      if (filter.kind === "text") return textFilter(filter.label, filter.key, params, apply);
      if (filter.kind === "status") return statusFilter(params, apply);
      if (filter.kind === "checkbox") {
        const checked = filter.checkedWhenAbsent ? params.get(filter.key) === null : params.get(filter.key) !== null;
        return h(
          "label",
          { className: "filter checkbox" },
          h("input", {
            type: "checkbox",
            name: filter.key,
            checked,
            onchange: (event) =>
              apply({ [filter.key]: event.target.checked === filter.checkedWhenAbsent ? "" : filter.valueWhenUnchecked }),
          }),
          h("span", {}, filter.label),
        );
      }
      return filter.render(params, apply);
    }),
  );

  const list = h("div", { className: "cards" });
  const status = h("p", { className: "muted" }, "Loading...");
  const more = h("button", { type: "button", className: "more", hidden: true }, "Load more");
  let cursor = null;
  let count = 0;

  const filterParams = {};
  for (const [key, value] of params) filterParams[key] = value;

  async function load() {
    more.disabled = true;
    status.hidden = false;
    status.textContent = "Loading...";
    try {
      const page = await api(`${resource}${query({ ...filterParams, limit: PAGE_SIZE, cursor })}`, { signal });
      for (const item of page.items) list.append(renderItem(item, apply));
      count += page.items.length;
      cursor = page.next_cursor;
      status.hidden = count > 0;
      status.textContent = emptyText;
      more.hidden = !cursor;
    } catch (error) {
      if (error.name === "AbortError") return;
      status.hidden = false;
      status.className = "error";
      status.textContent = error.message;
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", load);
  load();
  return h("section", {}, bar, list, status, more);
}

// A card that opens `target` when clicked anywhere but on its own links and buttons.
export function card(target, ...children) {
  return h(
    "article",
    {
      className: "card clickable",
      onclick: (event) => {
        if (event.target instanceof Element && event.target.closest("a, button, input, select, label")) return;
        navigate(target);
      },
    },
    ...children,
  );
}

const FUNNEL = '<svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><path fill="currentColor" d="M1 2h14l-5.5 6.5V14l-3-1.5V8.5z"/></svg>';

export function filterButton(title, onClick) {
  const button = h("button", { type: "button", className: "filter-button", title, "aria-label": title, onclick: onClick });
  button.innerHTML = FUNNEL;
  return button;
}
