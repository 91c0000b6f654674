import { h } from "./dom.js";
import { href } from "./router.js";

const STATUSES = ["pending", "running", "completed", "blocked"];
const UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function statusBadge(status) {
  const known = STATUSES.includes(status) ? status : "unknown";
  return h("span", { className: `badge badge-${known}` }, status);
}

export function relativeText(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const [unit, size] = UNITS.find(([, size]) => Math.abs(seconds) >= size) || UNITS[UNITS.length - 1];
  return relative.format(Math.round(seconds / size), unit);
}

export function relativeTime(iso) {
  return h("time", { datetime: iso, title: absolute.format(new Date(iso)) }, relativeText(iso));
}

export function absoluteTime(iso) {
  return absolute.format(new Date(iso));
}

export function preview(value) {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function jsonView(value) {
  return h("pre", { className: "json" }, value === undefined ? "null" : JSON.stringify(value, null, 2));
}

export function routeLink(path, ...children) {
  return h("a", { href: href(path), "data-route": path }, ...children);
}

export function chainLink(chainId, label = `chain ${chainId}`) {
  return routeLink(`/chains/${encodeURIComponent(chainId)}`, h("span", { className: "mono" }, label));
}

export function blockerList(chains) {
  return h(
    "ul",
    { className: "blockers" },
    chains.map((chain) => h("li", {}, statusBadge(chain.status), " ", chain.type_name, " ", chainLink(chain.id))),
  );
}
