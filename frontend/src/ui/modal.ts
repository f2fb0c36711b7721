/** A modal dialog with a body, an error line and actions; resolves with the chosen value. */
import { h } from "./dom";

export interface Dialog<T> {
  el: HTMLElement;
  error(message: string | null): void;
  close(value: T | null): void;
  busy(on: boolean): void;
  result: Promise<T | null>;
}

/**
 * Open a dialog. ``submit`` runs on the primary button (or Enter in a single-line input); it
 * returns the value to resolve with, or throws to show its message and keep the dialog open.
 */
export function openDialog<T>(opts: {
  title: string;
  body: (HTMLElement | string | null)[];
  okLabel?: string;
  danger?: boolean;
  wide?: boolean;
  id?: string;
  submit: () => Promise<T> | T;
}): Dialog<T> {
  let resolve!: (v: T | null) => void;
  const result = new Promise<T | null>((r) => (resolve = r));
  const errorLine = h("div", { class: "form-error", hidden: true, role: "alert" });
  const ok = h("button", { class: `btn ${opts.danger ? "btn-danger" : "btn-primary"}`, "data-testid": "dialog-ok", type: "submit" }, opts.okLabel ?? "OK");
  const cancel = h("button", { class: "btn", type: "button", "data-testid": "dialog-cancel", onclick: () => dialog.close(null) }, "Cancel");
  const form = h("form", { class: `modal${opts.wide ? " modal-wide" : ""}`, id: opts.id, novalidate: true },
    h("h3", {}, opts.title), ...opts.body.filter((b): b is HTMLElement | string => b !== null), errorLine, h("div", { class: "modal-actions" }, cancel, ok));
  const overlay = h("div", { class: "modal-backdrop" }, form);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") dialog.close(null);
  };
  const dialog: Dialog<T> = {
    el: form,
    result,
    error(message) {
      errorLine.hidden = !message;
      errorLine.textContent = message ?? "";
    },
    busy(on) {
      ok.disabled = on;
    },
    close(value) {
      overlay.remove();
      document.removeEventListener("keydown", onKey);
      resolve(value);
    },
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    dialog.error(null);
    dialog.busy(true);
    try {
      const value = await opts.submit();
      dialog.close(value);
    } catch (err) {
      dialog.error(String((err as Error)?.message ?? err));
      dialog.busy(false);
    }
  });
  document.addEventListener("keydown", onKey);
  document.body.appendChild(overlay);
  const first = form.querySelector<HTMLElement>("input, textarea, select");
  first?.focus();
  return dialog;
}

/** A labelled form field. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), control, hint ? h("span", { class: "hint" }, hint) : null);
}
