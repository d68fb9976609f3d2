import { useState } from 'preact/hooks';
import { useQuery } from '@urql/preact';
import { Link, useSearch, useLocation } from 'wouter-preact';
import { CredentialTypesDocument, CredentialsDocument, type CredentialOrderField, type CredentialStatus, type OrderDirection, type SharingScope } from '../gql/graphql';
import { Empty, Loading, Page, Problem, Status, TypeBadge, person, when } from '../ui';

const pageSize = 50;
const sorts: [string, string][] = [
  ['NAME:ASC', 'Name A–Z'], ['NAME:DESC', 'Name Z–A'], ['LAST_USED_AT:DESC', 'Recently used'],
  ['UPDATED_AT:DESC', 'Recently changed'], ['CREATED_AT:DESC', 'Newest'], ['EXPIRES_AT:ASC', 'Expiring first'],
  ['STATUS:ASC', 'Status'], ['TYPE:ASC', 'Type'],
];

/** Credentials is the list: filters, search and order live in the URL, so a view can be linked. */
export function Credentials(props: { workspaceId: string }) {
  const search = new URLSearchParams(useSearch());
  const [location, navigate] = useLocation();
  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) v ? next.set(k, v) : next.delete(k);
    if (!('after' in changes) && !('before' in changes)) { next.delete('after'); next.delete('before'); }
    navigate(`${location}${next.toString() ? `?${next}` : ''}`);
  };
  const [text, setText] = useState(search.get('q') ?? '');
  const [field, direction] = (search.get('sort') ?? 'NAME:ASC').split(':') as [CredentialOrderField, OrderDirection];
  const after = search.get('after'), before = search.get('before');
  const [types] = useQuery({ query: CredentialTypesDocument });
  const [{ data, fetching, error }] = useQuery({
    query: CredentialsDocument,
    requestPolicy: 'cache-and-network',
    variables: {
      workspaceId: props.workspaceId,
      filter: {
        search: search.get('q') || null,
        type: search.get('type') || null,
        status: (search.get('status') || null) as CredentialStatus | null,
        sharing: (search.get('sharing') || null) as SharingScope | null,
      },
      orderBy: { field, direction },
      ...(before ? { last: pageSize, before } : { first: pageSize, after }),
    },
  });
  const ws = data?.workspace;
  const conn = ws?.credentials;
  const filtered = ['q', 'type', 'status', 'sharing'].some((k) => search.get(k));
  return (
    <Page title="Credentials" actions={ws?.viewerCan.createCredentials &&
      <Link class="button primary" href={`/w/${props.workspaceId}/credentials/new`}>New credential</Link>}>
      <form class="filters" role="search" onSubmit={(e) => { e.preventDefault(); set({ q: text }); }}>
        <label><span>Search</span>
          <input type="search" value={text} placeholder="Name, description, type or tag" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <label><span>Type</span>
          <select value={search.get('type') ?? ''} onChange={(e) => set({ type: (e.target as HTMLSelectElement).value })}>
            <option value="">All types</option>
            {types.data?.credentialTypes.map((t) => <option key={t.key} value={t.key}>{t.name}</option>)}
          </select>
        </label>
        <label><span>Status</span>
          <select value={search.get('status') ?? ''} onChange={(e) => set({ status: (e.target as HTMLSelectElement).value })}>
            <option value="">Any status</option><option value="ACTIVE">Active</option><option value="EXPIRED">Expired</option><option value="ERROR">Error</option>
          </select>
        </label>
        <label><span>Shared</span>
          <select value={search.get('sharing') ?? ''} onChange={(e) => set({ sharing: (e.target as HTMLSelectElement).value })}>
            <option value="">Personal and shared</option><option value="PERSONAL">Personal</option><option value="SHARED">Shared</option>
          </select>
        </label>
        <label><span>Order</span>
          <select value={`${field}:${direction}`} onChange={(e) => set({ sort: (e.target as HTMLSelectElement).value })}>
            {sorts.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {fetching && !data && <Loading what="credentials" />}
      <Problem error={error} />
      {conn && conn.totalCount === 0 && (
        <Empty>{filtered ? <p>No credential matches. <button type="button" class="link" onClick={() => { setText(''); navigate(location); }}>Clear the filters</button></p>
          : <p>No credentials yet.{ws?.viewerCan.createCredentials && <> <Link href={`/w/${props.workspaceId}/credentials/new`}>Add the first one</Link>.</>}</p>}</Empty>
      )}
      {conn && conn.totalCount > 0 && (
        <>
          <p class="muted" aria-live="polite">{conn.totalCount} credential{conn.totalCount === 1 ? '' : 's'}</p>
          <div class="table-wrap">
            <table class="list">
              <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Last used</th><th scope="col">Shared</th><th scope="col">Owner</th></tr></thead>
              <tbody>
                {conn.edges.map(({ node: c }) => (
                  <tr key={c.id}>
                    <td><TypeBadge typeKey={c.type.key} name={c.type.name} /> <Link href={`/w/${props.workspaceId}/credentials/${c.id}`}>{c.name}</Link>
                      {c.tags.length > 0 && <span class="tags">{c.tags.map((t) => <span key={t} class="tag">{t}</span>)}</span>}</td>
                    <td>{c.type.name}</td>
                    <td><Status status={c.status} /></td>
                    <td>{when(c.lastUsedAt)}</td>
                    <td>{c.sharing === 'SHARED' ? 'Shared' : 'Personal'}</td>
                    <td>{person(c.owner)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="pager">
            <button type="button" disabled={!conn.pageInfo.hasPreviousPage} onClick={() => set({ before: conn.pageInfo.startCursor ?? '', after: '' })}>Previous</button>
            <button type="button" disabled={!conn.pageInfo.hasNextPage} onClick={() => set({ after: conn.pageInfo.endCursor ?? '', before: '' })}>Next</button>
          </div>
        </>
      )}
    </Page>
  );
}
