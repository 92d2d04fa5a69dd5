// Bundles the viewer into dist/ (served by the MineTwin server at /): one ES module, its CSS,
// the page, and the Draco decoder three.js ships (loaded only for Draco-compressed assets).
// No CDN: everything comes from node_modules.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
const dist = process.argv[2] ?? `${here}dist`;   // a folder of its own for the tests
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [`${here}src/main.js`],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outdir: dist,
  logLevel: "warning",
});
cpSync(`${here}src/index.html`, `${dist}/index.html`);
cpSync(`${here}src/style.css`, `${dist}/style.css`);
cpSync(`${here}node_modules/three/examples/jsm/libs/draco/gltf`, `${dist}/draco`, { recursive: true });
console.log(`viewer built in ${dist}`);
