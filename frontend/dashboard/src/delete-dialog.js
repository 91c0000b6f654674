import { api } from "./api.js";
import { h } from "./dom.js";

// The confirmation for deleting a chain: type its id, optionally cascade to its blockers.
export function deleteDialog(chainId, onDeleted) {
  let deleting = false;
  const input = h("input", { type: "text", placeholder: "Type chain ID...", "aria-label": "Chain ID" });
  const cascade = h("input", { type: "checkbox", name: "cascade" });
  const error = h("p", { className: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "button", className: "danger", disabled: true }, "Delete");
  const cancel = h("button", { type: "button" }, "Cancel");

  const ready = () => input.value === chainId && !deleting;
  const refresh = () => {
    submit.disabled = !ready();
    submit.textContent = deleting ? "Deleting..." : "Delete";
    cancel.disabled = deleting;
    cascade.disabled = deleting;
  };
  const close = () => overlay.remove();

  async function remove() {
    if (!ready()) return;
    deleting = true;
    error.hidden = true;
    refresh();
    try {
      await api(`chains/${encodeURIComponent(chainId)}${cascade.checked ? "?cascade=true" : ""}`, { method: "DELETE" });
      close();
      onDeleted();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      deleting = false;
      refresh();
    }
  }

  input.addEventListener("input", refresh);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") remove();
  });
  submit.addEventListener("click", remove);
  cancel.addEventListener("click", () => {
    error.hidden = true;
    close();
  });

  const dialog = h(
    "div",
    { className: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "delete-title" },
    h("h3", { id: "delete-title" }, "Delete chain"),
    h(
      "p",
      {},
      "This permanently deletes the chain and all its jobs. Type the chain ID to confirm:",
    ),
    h("code", { className: "code-box" }, chainId),
    input,
    h("label", { className: "checkbox" }, cascade, " Cascade delete (include all blocker chains)"),
    error,
    h("div", { className: "actions" }, cancel, submit),
  );
  const overlay = h(
    "div",
    {
      className: "overlay",
      onclick: (event) => {
        if (event.target === overlay && !deleting) close();
      },
    },
    dialog,
  );
  queueMicrotask(() => input.focus());
  return overlay;
}
