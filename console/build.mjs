// Bundles the console into ../httpapi/console/ (committed and embedded by the
// server): app.js, app.css, index.html, icon.svg. The operations' document
// ids come from the manifest `credkeep manifest` wrote there first, so the
// console sends ids only; the value types (object types without an id, which
// Graphcache must not try to key) come from the schema.
import { build } from 'esbuild';
import { copyFileSync, readFileSync } from 'node:fs';
import { buildSchema, isObjectType } from 'graphql';

const out = '../httpapi/console';
const manifest = JSON.parse(readFileSync(`${out}/manifest.json`, 'utf8'));
const documentIds = Object.fromEntries(manifest.operations.map((op) => [op.name, op.id]));
const schema = buildSchema(readFileSync('../schema.graphqls', 'utf8'));
const valueTypes = Object.values(schema.getTypeMap())
  .filter((t) => isObjectType(t) && !t.name.startsWith('__') && !t.getFields().id)
  .map((t) => t.name);

const generated = {
  name: 'credkeep-generated',
  setup(b) {
    b.onResolve({ filter: /^credkeep:generated$/ }, () => ({ path: 'generated', namespace: 'credkeep' }));
    b.onLoad({ filter: /.*/, namespace: 'credkeep' }, () => ({
      contents: `export const documentIds = ${JSON.stringify(documentIds)};\nexport const valueTypes = ${JSON.stringify(valueTypes)};`,
      loader: 'js',
    }));
  },
};

const result = await build({
  entryPoints: ['src/main.tsx'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  outfile: `${out}/app.js`,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [generated],
  metafile: true,
  legalComments: 'none',
});
copyFileSync('public/index.html', `${out}/index.html`);
copyFileSync('public/icon.svg', `${out}/icon.svg`);
const bytes = Object.fromEntries(Object.entries(result.metafile.outputs).map(([f, o]) => [f.replace(/.*\//, ''), o.bytes]));
console.log(`console: ${Object.keys(documentIds).length} operations; ${JSON.stringify(bytes)}`);
