import { useState } from 'preact/hooks';
import { useMutation, useQuery } from '@urql/preact';
import { Link, useLocation } from 'wouter-preact';
import { CreateWorkspaceDocument, ViewerDocument } from '../gql/graphql';
import { Empty, Field, Loading, Page, Problem, fieldErrors } from '../ui';

const roles: Record<string, string> = { OWNER: 'Owner', ADMIN: 'Admin', MEMBER: 'Member' };

export function Workspaces() {
  const [{ data, fetching, error }] = useQuery({ query: ViewerDocument, requestPolicy: 'cache-and-network' });
  const [created, create] = useMutation(CreateWorkspaceDocument);
  const [name, setName] = useState('');
  const [, navigate] = useLocation();
  const errs = fieldErrors(created.error);
  return (
    <Page title="Workspaces">
      {fetching && !data && <Loading what="workspaces" />}
      <Problem error={error} />
      {data && data.workspaces.length === 0 && <Empty><p>You are in no workspace yet. Create one to keep credentials in.</p></Empty>}
      {data && data.workspaces.length > 0 && (
        <ul class="cards">
          {data.workspaces.map((w) => (
            <li key={w.id}><Link href={`/w/${w.id}/credentials`}>{w.name}</Link> <span class="muted">{roles[w.viewerRole]}</span></li>
          ))}
        </ul>
      )}
      <form class="inline-form" onSubmit={async (e) => {
        e.preventDefault();
        const r = await create({ name });
        if (r.data) navigate(`/w/${r.data.createWorkspace.id}/credentials`);
      }}>
        <h2>New workspace</h2>
        <Field id="ws-name" label="Name" required error={errs.byField['name']}>
          {(a) => <input {...a} value={name} maxLength={100} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
        </Field>
        <Problem error={errs.other.join(' ') || null} />
        <button class="primary" disabled={created.fetching}>Create workspace</button>
      </form>
    </Page>
  );
}
