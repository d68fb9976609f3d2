// A settings page's operations, built the way a frontend team builds them:
// documents typed by GraphQL Codegen's client preset (checked by tsc --strict),
// sent by Apollo Client 4 through the persisted-query link with ids from the
// manifest @apollo/generate-persisted-query-manifest wrote. The server trusts
// the manifest `credkeep manifest` wrote for the same folder, so every request
// here goes by id alone; one that had to fall back to the query text is a
// failure.
// Usage: node build/settings.js URL OWNER_JWT MEMBER_JWT MEMBER_SUB APOLLO_MANIFEST
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import {
  generatePersistedQueryIdsAtRuntime,
  generatePersistedQueryIdsFromManifest,
  type PersistedQueryManifestForGeneratingPersistedQueryIds,
} from '@apollo/persisted-query-lists';
import { useFragment } from './gql/fragment-masking.js';
import {
  AddMemberDocument,
  ApiTokensDocument,
  CreateApiTokenDocument,
  CreateCredentialDocument,
  CreateWorkspaceDocument,
  CredentialDetailDocument,
  CredentialListDocument,
  CredentialRowFragmentDoc,
  PersonFragmentDoc,
  ShareCredentialDocument,
  TokenRowFragmentDoc,
  type CredentialListQueryVariables,
} from './gql/graphql.js';

const args = process.argv.slice(2);
if (args.length !== 5) {
  throw new Error('usage: node build/settings.js URL OWNER_JWT MEMBER_JWT MEMBER_SUB APOLLO_MANIFEST');
}
const [url, ownerJWT, memberJWT, memberSub, manifestPath] = args as [string, string, string, string, string];
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PersistedQueryManifestForGeneratingPersistedQueryIds;

let failures = 0;
function check(ok: boolean, what: string, got?: unknown): void {
  if (ok) {
    console.log(`ok   ${what}`);
    return;
  }
  failures++;
  console.log(`FAIL ${what}: ${JSON.stringify(got)}`);
}
function must<T>(value: T | null | undefined, what: string): T {
  if (value == null) throw new Error(`${what} is missing`);
  return value;
}

// Every request body, to prove that none carried the query text.
const sentText: string[] = [];
const recordingFetch: typeof fetch = (input, init) => {
  if (typeof init?.body === 'string' && init.body.includes('"query"')) sentText.push(init.body.slice(0, 120));
  return fetch(input, init);
};

type IDs = ReturnType<typeof generatePersistedQueryIdsFromManifest>;
function client(authorization: string, ids: IDs): ApolloClient {
  return new ApolloClient({
    link: new PersistedQueryLink(ids).concat(
      new HttpLink({ uri: url, headers: { Authorization: authorization }, fetch: recordingFetch }),
    ),
    cache: new InMemoryCache(),
  });
}
const fromManifest = generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest });
const owner = client(`Bearer ${ownerJWT}`, fromManifest);
const member = client(`Bearer ${memberJWT}`, fromManifest);

// A workspace with a member and five credentials, every other one for production.
const created = await owner.mutate({ mutation: CreateWorkspaceDocument, variables: { name: 'settings page' } });
const workspaceId = must(created.data, 'createWorkspace').createWorkspace.id;
await owner.mutate({ mutation: AddMemberDocument, variables: { workspaceId, userId: memberSub } });
const secret = 'settings-secret-7731';
const ids: string[] = [];
for (let i = 1; i <= 5; i++) {
  const res = await owner.mutate({
    mutation: CreateCredentialDocument,
    variables: {
      input: {
        workspaceId, type: 'smtp', name: `Mail ${i}`, tags: [i % 2 === 1 ? 'env:prod' : 'env:dev'],
        fields: [{ key: 'host', value: 'smtp.example.com' }, { key: 'username', value: `mailer${i}` }, { key: 'password', value: secret }],
      },
    },
  });
  const row = useFragment(CredentialRowFragmentDoc, must(res.data, 'createCredential').createCredential);
  ids.push(row.id);
  if (i === 1) check(row.name === 'Mail 1' && row.viewerCan.edit && row.tags[0] === 'env:prod', 'create returns the new row', row);
}

// A form with three mistakes: one round trip, one error per field, each with a reason to word.
const bad = await owner.mutate({
  mutation: CreateCredentialDocument,
  variables: { input: { workspaceId, type: 'smtp', name: ' ', tags: ['Prod!'], fields: [{ key: 'port', value: '99999' }, { key: 'host', value: 'h' }, { key: 'username', value: 'u' }, { key: 'password', value: 'p' }] } },
  errorPolicy: 'all',
});
const formErrors = CombinedGraphQLErrors.is(bad.error) ? bad.error.errors : [];
const byField = Object.fromEntries(formErrors.map((e) => [String(e.extensions?.field), e.extensions ?? {}]));
check(formErrors.length === 3 && formErrors.every((e) => e.extensions?.code === 'BAD_USER_INPUT'), 'three BAD_USER_INPUT errors in one answer', formErrors);
check(byField['name']?.reason === 'REQUIRED' && byField['tags']?.reason === 'INVALID_FORMAT' &&
  byField['fields.port']?.reason === 'OUT_OF_RANGE' && (byField['fields.port']?.params as { max?: number })?.max === 65535,
'each error has its field, reason and params', byField);
check(formErrors.find((e) => e.extensions?.field === 'name')?.message.startsWith('Name ') ?? false, 'messages use the label', formErrors.map((e) => e.message));

// The list: a filter, an order, both directions.
const page = async (v: Omit<CredentialListQueryVariables, 'workspaceId'>) => {
  const res = await owner.query({ query: CredentialListDocument, variables: { workspaceId, ...v }, fetchPolicy: 'network-only' });
  const conn = must(must(res.data, 'list').workspace, 'workspace').credentials;
  return { conn, names: conn.edges.map((e) => useFragment(CredentialRowFragmentDoc, e.node).name) };
};
const prod = { filter: { tags: ['env:prod'] }, orderBy: { field: 'NAME' as const, direction: 'DESC' as const } };
const first = await page({ ...prod, first: 2 });
check(first.conn.totalCount === 3 && first.names.join() === 'Mail 5,Mail 3' && first.conn.pageInfo.hasNextPage, 'first page, newest name first', first);
const next = await page({ ...prod, first: 2, after: first.conn.pageInfo.endCursor });
check(next.names.join() === 'Mail 1' && !next.conn.pageInfo.hasNextPage && next.conn.pageInfo.hasPreviousPage, 'next page', next);
const last = await page({ ...prod, last: 2 });
check(last.names.join() === 'Mail 3,Mail 1' && last.conn.pageInfo.hasPreviousPage && !last.conn.pageInfo.hasNextPage, 'last page, backwards', last);
const before = await page({ ...prod, last: 2, before: last.conn.pageInfo.startCursor });
check(before.names.join() === 'Mail 5' && !before.conn.pageInfo.hasPreviousPage, 'the page before it', before);

// The detail page: masked values, and what the owner may do.
const detail = must((await owner.query({ query: CredentialDetailDocument, variables: { id: must(ids[0], 'id') } })).data?.credential, 'credential');
const password = detail.fields?.find((f) => f.key === 'password');
check(password?.secret === true && password.hint === '••••7731', 'the password is a hint', password);
check(detail.viewerCan.use && detail.viewerCan.edit && detail.viewerCan.share && detail.viewerCan.delete && detail.grants !== null, 'the owner may do everything', detail.viewerCan);

// Share at VIEW; the member sees hints, no grants, and no edit action.
const shared = await owner.mutate({ mutation: ShareCredentialDocument, variables: { input: { credentialId: detail.id, granteeKind: 'USER', userId: memberSub, level: 'VIEW' } } });
const grant = must(shared.data, 'share').shareCredential.grants?.find((g) => useFragment(PersonFragmentDoc, g.user)?.id === memberSub);
check(grant?.level === 'VIEW', 'shared at VIEW', shared.data);
const seen = await member.query({ query: CredentialDetailDocument, variables: { id: detail.id }, errorPolicy: 'all' });
const asMember = seen.data?.credential;
const memberErrors = CombinedGraphQLErrors.is(seen.error) ? seen.error.errors : [];
check(asMember?.fields?.find((f) => f.key === 'password')?.hint === '••••7731', 'the member sees the hint', asMember?.fields);
check(asMember?.grants === null && memberErrors.length === 1 && memberErrors[0]?.path?.join('.') === 'credential.grants' &&
  memberErrors[0]?.extensions?.code === 'FORBIDDEN', 'grants are null with FORBIDDEN at their path; the rest stays', memberErrors);
check(asMember?.viewerCan.view === true && !asMember.viewerCan.edit && !asMember.viewerCan.share && !asMember.viewerCan.delete, 'the member is offered no edit, share or delete', asMember?.viewerCan);

// An API token: the secret is shown once, in the creation answer only.
const made = await owner.mutate({
  mutation: CreateApiTokenDocument,
  variables: { input: { name: 'partner', scopes: ['CREDENTIALS_READ'], workspaceId, persistedQueriesOnly: true } },
});
const token = must(made.data, 'createApiToken').createApiToken;
const tokenRow = useFragment(TokenRowFragmentDoc, token.token);
check(token.secret.startsWith(tokenRow.prefix) && token.secret.length > tokenRow.prefix.length + 16, 'the secret starts with the shown prefix', tokenRow);
const listed = await owner.query({ query: ApiTokensDocument, fetchPolicy: 'network-only' });
const rows = must(listed.data, 'apiTokens').apiTokens.map((t) => useFragment(TokenRowFragmentDoc, t));
check(rows.some((r) => r.id === tokenRow.id) && !JSON.stringify(listed.data).includes(token.secret), 'the token list never holds the secret', rows);

// The partner's token may run trusted documents only; Apollo's runtime ids
// (the SHA-256 of the printed document) must name them.
const partner = client(`Bearer ${token.secret}`, generatePersistedQueryIdsAtRuntime({
  sha256: (text: string) => createHash('sha256').update(text).digest('hex'),
}));
const partnerList = await partner.query({ query: CredentialListDocument, variables: { workspaceId, filter: { tags: ['env:prod'] } } });
check(must(partnerList.data, 'partner list').workspace?.credentials.totalCount === 3, 'the restricted token lists by hash', partnerList.data);
const text = await fetch(url, {
  method: 'POST', headers: { Authorization: `Bearer ${token.secret}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ query: '{ viewer { id } }' }),
});
const refused = (await text.json()) as { errors?: { extensions?: { code?: string } }[] };
check(refused.errors?.[0]?.extensions?.code === 'PERSISTED_QUERY_REQUIRED', 'the restricted token may not send text', refused);

check(sentText.length === 0, 'every request went by id, none fell back to the query text', sentText);
const everything = JSON.stringify([owner.cache.extract(), member.cache.extract(), partner.cache.extract()]);
check(!everything.includes(secret), 'no credential secret in any cache', null);

console.log(`settings page: ${failures === 0 ? 'all checks passed' : `${failures} failures`}`);
process.exit(failures === 0 ? 0 : 1);
