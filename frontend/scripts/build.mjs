// Bundles the UI into ../static/dist/ (and, with --tests, the node tests into build/tests/).
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const tests = process.argv.includes("--tests");

if (tests) {
  const dir = join(here, "tests");
  const entries = readdirSync(dir).filter((f) => f.endsWith(".test.ts")).map((f) => join(dir, f));
  // a test renamed or removed must not keep running from an old bundle
  rmSync(join(here, "build", "tests"), { recursive: true, force: true });
  await build({
    entryPoints: entries,
    outdir: join(here, "build", "tests"),
    bundle: true,
    platform: "node",
    format: "esm",
    outExtension: { ".js": ".mjs" },
    target: "node20",
    logLevel: "warning",
  });
} else {
  await build({
    entryPoints: [join(here, "src", "main.ts")],
    outfile: join(here, "..", "static", "dist", "label360.js"),
    bundle: true,
    format: "iife",
    target: "es2020",
    minify: true,
    sourcemap: true,
    logLevel: "warning",
  });
  await build({
    entryPoints: [join(here, "src", "styles.css")],
    outfile: join(here, "..", "static", "dist", "label360.css"),
    bundle: true,
    minify: true,
    logLevel: "warning",
  });
  console.log("built static/dist/label360.{js,css}");
}
