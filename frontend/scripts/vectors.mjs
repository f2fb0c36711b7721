// Writes build/sphere_vectors.json with the Python geometry core (python -m label360.sphere.parity).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = dirname(here);
const out = join(here, "build", "sphere_vectors.json");
mkdirSync(dirname(out), { recursive: true });
const candidates = [process.env.PYTHON, join(repo, ".venv", "bin", "python"), "python3", "python"].filter(Boolean);
const python = candidates.find((p) => !p.includes("/") || existsSync(p));
const result = spawnSync(python, ["-m", "label360.sphere.parity", out], { cwd: repo, stdio: "inherit" });
if (result.status !== 0) {
  console.error(`could not generate ${out} with ${python} -m label360.sphere.parity`);
  process.exit(result.status ?? 1);
}
