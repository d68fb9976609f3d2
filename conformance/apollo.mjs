// Checks credkeep with the real Apollo Client 4 (SPEC.md §9): normalized cache
// ids for Viewer and CredentialType, @defer over multipart/mixed with the
// deferred fields merged in, and a gated field that is null with FORBIDDEN at
// its own path while its parent keeps its data.
// Usage: node apollo.mjs URL OWNER_JWT MEMBER_JWT MEMBER_SUB. Exits 1 on any failure.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';

const [url, ownerJWT, memberJWT, memberSub] = process.argv.slice(2);
const clientFor = (jwt) => new ApolloClient({
  link: new HttpLink({ uri: url, headers: { Authorization: `Bearer ${jwt}` } }),
  cache: new InMemoryCache(),
  incrementalHandler: new Defer20220824Handler(),
});
const owner = clientFor(ownerJWT), member = clientFor(memberJWT);
let failures = 0;
const check = (ok, what, got) => {
  if (ok) { console.log(`ok   ${what}`); return; }
  failures++;
  console.log(`FAIL ${what}: ${JSON.stringify(got)}`);
};

// Objects the cache can key on.
const ids = await owner.query({ query: gql`{ viewer { id user { id } } credentialTypes { id key } }` });
check(owner.cache.identify(ids.data.viewer)?.startsWith('Viewer:viewer:'), 'Viewer is normalized by id', owner.cache.identify(ids.data.viewer));
check(ids.data.credentialTypes.every((t) => owner.cache.identify(t) === `CredentialType:${t.key}`), 'every CredentialType is normalized by id', ids.data.credentialTypes.slice(0, 2));

// A workspace, a member, a credential.
const ws = (await owner.mutate({ mutation: gql`mutation { createWorkspace(input: {name: "apollo"}) { id } }` })).data.createWorkspace.id;
await owner.mutate({ mutation: gql`mutation($ws: ID!, $u: ID!) { addMember(workspaceId: $ws, userId: $u, role: MEMBER) { role } }`, variables: { ws, u: memberSub } });
const cred = (await owner.mutate({
  mutation: gql`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`,
  variables: { in: { workspaceId: ws, type: 'smtp', name: 'Mail', fields: [
    { key: 'host', value: 'smtp.example.com' }, { key: 'username', value: 'mailer' }, { key: 'password', value: 'apollo-secret-4242' }] } },
})).data.createCredential.id;

// @defer: the initial result without the fields, then the fields merged in.
const deferred = owner.watchQuery({
  query: gql`query Deferred($id: ID!) { credential(id: $id) { id name ... @defer { fields { key hint } } } }`,
  variables: { id: cred },
});
const complete = await new Promise((resolve, reject) => {
  const seen = [];
  const sub = deferred.subscribe({
    next: (r) => {
      seen.push(r.dataState);
      if (r.dataState === 'complete') { sub.unsubscribe(); resolve({ r, seen }); }
    },
    error: reject,
  });
  setTimeout(() => reject(new Error(`no complete result; states ${seen}`)), 10000);
});
const fields = complete.r.data.credential.fields ?? [];
check(complete.r.data.credential.name === 'Mail' && fields.length === 6, '@defer result complete with the deferred fields', complete.r.data);
check(fields.find((f) => f.key === 'password')?.hint === '••••4242', '@defer fields masked', fields.find((f) => f.key === 'password'));
check(!JSON.stringify(complete.r.data).includes('apollo-secret-4242'), 'no secret in the deferred result', null);

// A MEMBER asking for the audit log: the workspace stays, auditLog is null with FORBIDDEN at its path.
const partial = await member.query({
  query: gql`query($ws: ID!) { workspace(id: $ws) { id name auditLog { totalCount } } }`,
  variables: { ws }, errorPolicy: 'all',
});
check(partial.data?.workspace?.name === 'apollo' && partial.data.workspace.auditLog === null, 'the workspace keeps its data when auditLog is forbidden', partial.data);
const errs = partial.error?.errors ?? [];
check(errs.length === 1 && errs[0].extensions?.code === 'FORBIDDEN' && errs[0].path?.join('.') === 'workspace.auditLog', 'one FORBIDDEN at workspace.auditLog', errs);

console.log(`apollo client: ${failures === 0 ? 'all checks passed' : `${failures} failures`}`);
process.exit(failures === 0 ? 0 : 1);
