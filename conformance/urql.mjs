// Checks credkeep with urql 6 and Graphcache, the normalized cache urql
// offers: entities keyed by their id with no configuration beyond naming the
// value types (connections, page info, permissions…) that have none, partial
// results with FORBIDDEN at the field's path, and automatic persisted queries
// through urql's persisted exchange.
// Usage: node urql.mjs URL OWNER_JWT MEMBER_JWT MEMBER_SUB. Exits 1 on any failure.
import { Client, fetchExchange, gql } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { persistedExchange } from '@urql/exchange-persisted';
import { buildSchema, isObjectType } from 'graphql';
import { readFileSync } from 'node:fs';

const [url, ownerJWT, memberJWT, memberSub] = process.argv.slice(2);
let failures = 0;
const check = (ok, what, got) => {
  console.log(ok ? `ok   ${what}` : `FAIL ${what}: ${JSON.stringify(got)}`);
  if (!ok) failures++;
};
// Graphcache warns about every object it cannot key; collect the warnings.
const warnings = [];
const warn = console.warn;
console.warn = (...args) => { warnings.push(args.join(' ')); };

// Types that are values, not entities (connections, edges, page info,
// permissions…): every object type of the schema without an id.
const schema = buildSchema(readFileSync(new URL('../schema.graphqls', import.meta.url), 'utf8'));
const values = Object.values(schema.getTypeMap())
  .filter((t) => isObjectType(t) && !t.name.startsWith('__') && !t.getFields().id && ![schema.getQueryType(), schema.getMutationType()].includes(t))
  .map((t) => t.name);
const bodies = [];
const clientFor = (jwt) => new Client({
  url,
  fetchOptions: { headers: { Authorization: `Bearer ${jwt}` } },
  fetch: (input, init) => { bodies.push(String(init?.body ?? input)); return fetch(input, init); },
  exchanges: [
    cacheExchange({ keys: Object.fromEntries(values.map((t) => [t, () => null])) }),
    persistedExchange({ preferGetForPersistedQueries: false }),
    fetchExchange,
  ],
});
const owner = clientFor(ownerJWT), member = clientFor(memberJWT);

const ws = (await owner.mutation(gql`mutation { createWorkspace(input: {name: "urql"}) { id name } }`, {}).toPromise()).data.createWorkspace.id;
await owner.mutation(gql`mutation($ws: ID!, $u: ID!) { addMember(workspaceId: $ws, userId: $u, role: MEMBER) { role } }`, { ws, u: memberSub }).toPromise();
const created = await owner.mutation(gql`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id name viewerCan { edit } } }`, {
  in: { workspaceId: ws, type: 'smtp', name: 'Mail', fields: [
    { key: 'host', value: 'smtp.example.com' }, { key: 'username', value: 'mailer' }, { key: 'password', value: 'urql-secret-5150' }] },
}).toPromise();
check(created.data?.createCredential?.viewerCan?.edit === true, 'create through urql', created.error?.message);

const List = gql`query List($ws: ID!) { workspace(id: $ws) { id name viewerCan { readAudit } credentials(first: 10) {
  totalCount edges { cursor node { id name fields { key hint } owner { id name } type { id key } } } pageInfo { hasNextPage endCursor } } } }`;
const list = await owner.query(List, { ws }).toPromise();
const node = list.data?.workspace?.credentials?.edges?.[0]?.node;
check(node?.name === 'Mail' && node.fields.find((f) => f.key === 'password')?.hint === '••••5150', 'a page with masked fields', list.error?.message ?? list.data);
const again = await owner.query(List, { ws }).toPromise();
check(again.operation.context.meta?.cacheOutcome === 'hit', 'the same page comes from the cache', again.operation.context.meta);

const partial = await member.query(gql`query($ws: ID!) { workspace(id: $ws) { id name auditLog { totalCount } } }`, { ws }).toPromise();
check(partial.data?.workspace?.name === 'urql' && partial.data.workspace.auditLog === null, 'the workspace keeps its data when auditLog is forbidden', partial.data);
const errs = partial.error?.graphQLErrors ?? [];
check(errs.length === 1 && errs[0].extensions?.code === 'FORBIDDEN' && errs[0].path?.join('.') === 'workspace.auditLog', 'one FORBIDDEN at workspace.auditLog', errs);

const hashOnly = bodies.filter((b) => b.includes('persistedQuery') && !b.includes('"query"'));
check(hashOnly.length > 0, 'queries go by hash (automatic persisted queries)', bodies.length);
check(!bodies.join().includes('urql-secret-5150') || bodies.filter((b) => b.includes('urql-secret-5150')).length === 1, 'the secret travels once, in the create', null);

console.warn = warn;
check(warnings.length === 0, 'no Graphcache warning (every entity keyed)', warnings);
console.log(`urql: ${failures === 0 ? 'all checks passed' : `${failures} failures`}`);
process.exit(failures === 0 ? 0 : 1);
