/** Tiny DOM helpers. */
import { themeToggle } from "./theme";

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, any> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "class") el.className = v;
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k in el && typeof v !== "string") (el as any)[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

export function clear(el: HTMLElement): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function toast(message: string, kind: "info" | "error" = "info"): void {
  let host = document.getElementById("toasts");
  if (!host) {
    host = h("div", { id: "toasts" });
    document.body.appendChild(host);
  }
  const t = h("div", { class: `toast toast-${kind}` }, message);
  host.appendChild(t);
  window.setTimeout(() => t.remove(), 4000);
}

/** A modal asking for text (e.g. a rejection comment); resolves null when cancelled. */
export function askText(title: string, label: string, required: boolean): Promise<string | null> {
  return new Promise((resolve) => {
    const area = h("textarea", { class: "modal-text", rows: 4, placeholder: label });
    const done = (value: string | null) => {
      overlay.remove();
      resolve(value);
    };
    const ok = h("button", { class: "btn btn-primary", onclick: () => {
      if (required && !area.value.trim()) {
        area.classList.add("invalid");
        return;
      }
      done(area.value);
    } }, "OK");
    const overlay = h("div", { class: "modal-backdrop" },
      h("div", { class: "modal" }, h("h3", {}, title), area,
        h("div", { class: "modal-actions" }, h("button", { class: "btn", onclick: () => done(null) }, "Cancel"), ok)));
    document.body.appendChild(overlay);
    area.focus();
  });
}

export function confirmBox(title: string, message: string, okLabel = "OK"): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      overlay.remove();
      resolve(v);
    };
    const overlay = h("div", { class: "modal-backdrop" },
      h("div", { class: "modal" }, h("h3", {}, title), h("p", {}, message),
        h("div", { class: "modal-actions" },
          h("button", { class: "btn", onclick: () => done(false) }, "Cancel"),
          h("button", { class: "btn btn-danger", "data-testid": "confirm-ok", onclick: () => done(true) }, okLabel))));
    document.body.appendChild(overlay);
  });
}

export const STATUS_LABELS: Record<string, string> = {
  new: "New",
  in_progress: "In progress",
  submitted: "Submitted",
  approved: "Approved",
  rejected: "Rejected",
};

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge status-${status}`, "data-status": status }, STATUS_LABELS[status] ?? status);
}

/** POST to Django's logout view (it requires POST). */
export function signOut(): void {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  const token = match ? decodeURIComponent(match[1]) : "";
  const form = h("form", { method: "post", action: "/accounts/logout/" }, h("input", { type: "hidden", name: "csrfmiddlewaretoken", value: token }));
  document.body.appendChild(form);
  form.submit();
}

export function topbar(crumbs: (HTMLElement | string)[], username: string, extra: HTMLElement[] = []): HTMLElement {
  const parts: (HTMLElement | string)[] = [];
  crumbs.forEach((c, i) => {
    if (i) parts.push(h("span", { class: "sep" }, "/"));
    parts.push(typeof c === "string" ? h("span", { class: "crumb-current" }, c) : c);
  });
  return h("header", { class: "topbar" },
    h("a", { class: "brand", href: "/" }, h("span", { class: "brand-mark" }, "◐"), "Label360"),
    h("nav", { class: "crumbs" }, ...parts),
    h("span", { class: "spacer" }),
    ...extra,
    themeToggle(),
    h("span", { class: "user" }, username),
    h("a", { class: "btn btn-ghost", href: "#", onclick: (e: Event) => (e.preventDefault(), signOut()) }, "Sign out"));
}
