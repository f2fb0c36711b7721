/** Light / dark theme: kept in localStorage, applied as <html data-theme>, toggled from the top bar. */
import { h } from "./dom";

const KEY = "label360:theme";

export type Theme = "dark" | "light";

export function currentTheme(): Theme {
  try {
    return localStorage.getItem(KEY) === "light" ? "light" : "dark";
  } catch {
    return "dark";
  }
}

export function applyTheme(theme: Theme = currentTheme()): void {
  document.documentElement.dataset.theme = theme;
}

export function setTheme(theme: Theme): void {
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    /* private mode: the theme holds for this page only */
  }
  applyTheme(theme);
  window.dispatchEvent(new CustomEvent("label360:theme", { detail: theme }));
}

/** The top bar's ☀ / ☾ button. */
export function themeToggle(): HTMLElement {
  const button = h("button", { class: "btn btn-ghost theme-toggle", id: "theme-toggle", type: "button" });
  const label = () => {
    const light = currentTheme() === "light";
    button.textContent = light ? "☾" : "☀";
    button.title = light ? "Dark theme" : "Light theme";
  };
  button.addEventListener("click", () => (setTheme(currentTheme() === "light" ? "dark" : "light"), label()));
  label();
  return button;
}
