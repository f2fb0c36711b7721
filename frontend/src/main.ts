/** Entry point: picks the page from <div id="app" data-page=...>. */
import { agreementPage } from "./pages/agreement";
import { exportsPage } from "./pages/exports";
import { navigatorPage } from "./pages/navigator";
import { dashboardPage } from "./pages/dashboard";
import { projectsPage } from "./pages/projects";
import { settingsPage } from "./pages/settings";
import { uploadPage } from "./pages/upload";
import { applyTheme } from "./ui/theme";
import { workspacePage } from "./pages/workspace";
import { h } from "./ui/dom";

applyTheme();

async function boot(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  const d = root.dataset;
  const username = d.username || "";
  try {
    if (d.page === "projects") await projectsPage(root, username, d.canCreate === "1");
    else if (d.page === "settings") await settingsPage(root, Number(d.project), username);
    else if (d.page === "upload") await uploadPage(root, Number(d.project), username);
    else if (d.page === "dashboard") await dashboardPage(root, Number(d.project), username);
    else if (d.page === "navigator") await navigatorPage(root, Number(d.project), username);
    else if (d.page === "exports") await exportsPage(root, Number(d.project), username);
    else if (d.page === "agreement") await agreementPage(root, Number(d.project), username);
    else if (d.page === "workspace") await workspacePage(root, { panoramaId: Number(d.panorama), projectId: d.project ? Number(d.project) : null, username });
  } catch (err) {
    console.error(err);
    root.replaceChildren(h("div", { class: "fatal" }, h("h2", {}, "Something went wrong"), h("p", {}, String((err as Error).message || err)), h("a", { href: "/" }, "Back to projects")));
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else void boot();
