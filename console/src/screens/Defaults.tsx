import { useMutation, useQuery } from '@urql/preact';
import { DefaultsDocument, SetDefaultCredentialDocument } from '../gql/graphql';
import { Loading, Page, Problem } from '../ui';

const purposes: [string, string][] = [
  ['email', 'Sending e-mail'], ['spreadsheets', 'Spreadsheets'], ['payments', 'Payments'],
  ['ai', 'AI models'], ['sms', 'SMS'], ['messaging', 'Messaging'],
];

/** Defaults: the credential a workspace's bots use for a purpose when they name none. */
export function Defaults(props: { workspaceId: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: DefaultsDocument, variables: { id: props.workspaceId }, requestPolicy: 'cache-and-network' });
  const [set, setDefault] = useMutation(SetDefaultCredentialDocument);
  const ws = data?.workspace;
  return (
    <Page title="Defaults">
      <p class="muted">Bots that ask for a purpose instead of a credential get the default chosen here.</p>
      {fetching && !data && <Loading what="defaults" />}
      <Problem error={error ?? set.error} />
      {ws && (
        <dl class="config">
          {purposes.map(([key, label]) => {
            const current = (ws as unknown as Record<string, { id: string; name: string } | null>)[key];
            return (
              <div key={key}>
                <dt><label for={`default-${key}`}>{label}</label></dt>
                <dd>{ws.viewerCan.setDefaults ? (
                  <select id={`default-${key}`} value={current?.id ?? ''} onChange={async (e) => {
                    const v = (e.target as HTMLSelectElement).value;
                    await setDefault({ workspaceId: props.workspaceId, purpose: key, credentialId: v || null });
                    refetch({ requestPolicy: 'network-only' });
                  }}>
                    <option value="">None</option>
                    {ws.credentials.edges.map(({ node }) => <option key={node.id} value={node.id}>{node.name} ({node.type.name})</option>)}
                  </select>) : (current?.name ?? 'None')}</dd>
              </div>
            );
          })}
        </dl>
      )}
    </Page>
  );
}
