// Compares the manifest `credkeep manifest` wrote with the one
// @apollo/generate-persisted-query-manifest wrote for the same folder: the same
// operations, ids and bodies. Usage: node manifests.mjs CREDKEEP.json APOLLO.json
import { readFileSync } from 'node:fs';

const [ours, apollos] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const key = (m) => m.operations.map(({ id, name, type, body }) => JSON.stringify({ id, name, type, body })).sort();
const a = key(ours), b = key(apollos);
const differ = a.length !== b.length || a.some((op, i) => op !== b[i]);
if (differ || a.length === 0) {
  console.log('FAIL credkeep manifest and Apollo\'s generator disagree');
  console.log(`credkeep: ${a.join('\n')}\napollo:   ${b.join('\n')}`);
  process.exit(1);
}
console.log(`ok   credkeep manifest and Apollo's generator give the same ${a.length} ids`);
