// Client-side routing under the page's <base href>: "/" is the base itself.

const basePath = new URL(document.baseURI).pathname.replace(/\/$/, "");
const listeners = [];

export function currentPath() {
  const path = location.pathname.startsWith(basePath) ? location.pathname.slice(basePath.length) : location.pathname;
  return path === "" ? "/" : path;
}

export function href(path) {
  return `${basePath}${path}`;
}

export function navigate(path, { replace = false } = {}) {
  const target = href(path);
  if (replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  notify();
}

export function onRoute(listener) {
  listeners.push(listener);
}

function notify() {
  for (const listener of listeners) listener();
}

window.addEventListener("popstate", notify);

// Links rendered with data-route navigate without a reload (a modified click still opens a tab).
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-route]") : null;
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("data-route"));
});
