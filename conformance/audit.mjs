// Audits a running credkeep with graphql-http's auditServer (the GraphQL over
// HTTP spec). Usage: node audit.mjs URL JWT. Prints each result and a summary
// line; exits 1 on any MUST failure.
import { auditServer } from 'graphql-http';

const [url, jwt] = process.argv.slice(2);
const fetchWithAuth = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${jwt}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn: fetchWithAuth });
let errors = 0, warnings = 0, notices = 0, ok = 0;
for (const r of results) {
  if (r.status === 'ok') { ok++; continue; }
  if (r.status === 'error') errors++; else if (r.status === 'warn') warnings++; else notices++;
  console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}`);
}
console.log(`graphql-http audit: ${ok} ok, ${errors} MUST failures, ${warnings} SHOULD warnings, ${notices} MAY notices`);
process.exit(errors > 0 ? 1 : 0);
