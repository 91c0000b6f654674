import "./style.css";
import { h } from "./dom.js";
import { chainDetailPage, chainListPage, jobDetailPage, jobListPage } from "./pages.js";
import { currentPath, href, onRoute } from "./router.js";

const app = document.getElementById("app");
let controller = null;

function navLink(path, label, active) {
  return h("a", { href: href(path), "data-route": path, "aria-current": active ? "page" : undefined }, label);
}

function render() {
  // Whatever the previous page still loads is of no use now.
  controller?.abort();
  controller = new AbortController();
  const path = currentPath();
  const onChains = path === "/" || path.startsWith("/chains");
  const onJobs = path.startsWith("/jobs");
  let page;
  let match;
  if ((match = path.match(/^\/chains\/([^/]+)\/?$/))) page = chainDetailPage(controller.signal, decodeURIComponent(match[1]));
  else if ((match = path.match(/^\/jobs\/([^/]+)\/?$/))) page = jobDetailPage(controller.signal, decodeURIComponent(match[1]));
  else if (onJobs) page = jobListPage(controller.signal);
  else page = chainListPage(controller.signal);
  app.replaceChildren(
    h(
      "nav",
      { className: "top" },
      h("span", { className: "title" }, "Queuert"),
      navLink("/", "Chains", onChains),
      navLink("/jobs", "Jobs", onJobs),
    ),
    h("main", {}, page),
  );
}

onRoute(render);
render();
