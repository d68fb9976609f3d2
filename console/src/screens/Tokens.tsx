import { useState } from 'preact/hooks';
import { useMutation, useQuery } from '@urql/preact';
import { ApiTokensDocument, CreateApiTokenDocument, RevokeApiTokenDocument, type TokenScope } from '../gql/graphql';
import { Dialog, Empty, Field, Loading, Page, Problem, fieldErrors, when } from '../ui';

const scopes: [TokenScope, string][] = [
  ['CREDENTIALS_USE', 'Use credentials (fetch secrets with useCredential)'],
  ['CREDENTIALS_READ', 'Read credentials (settings and hints, never secrets)'],
  ['CREDENTIALS_WRITE', 'Create and change credentials'],
  ['AUDIT_READ', 'Read the audit log'],
  ['WORKSPACES_ADMIN', 'Administer workspaces'],
];

export function Tokens() {
  const [{ data, fetching, error }] = useQuery({ query: ApiTokensDocument, requestPolicy: 'cache-and-network' });
  const [creating, create] = useMutation(CreateApiTokenDocument);
  const [revoking, revoke] = useMutation(RevokeApiTokenDocument);
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<TokenScope[]>(['CREDENTIALS_USE']);
  const [workspaceId, setWorkspaceId] = useState('');
  const [expires, setExpires] = useState('');
  const [persistedOnly, setPersistedOnly] = useState(false);
  const [shown, setShown] = useState<{ name: string; secret: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const [confirm, setConfirm] = useState<{ id: string; name: string } | null>(null);
  const errs = fieldErrors(creating.error);
  return (
    <Page title="API tokens">
      <p class="muted">Tokens let bots and scripts call credkeep. Each belongs to you and can do at most what you can.</p>
      {shown && (
        <div class="once" role="alert">
          <h2>Copy the token for {shown.name} now</h2>
          <p>It is shown this once: credkeep keeps only its hash. Store it in your bot's secret store.</p>
          <p class="secret-box"><code>{shown.secret}</code></p>
          <div class="actions">
            <button type="button" class="primary" onClick={() => navigator.clipboard.writeText(shown.secret).then(() => setCopied(true), () => setCopied(false))}>Copy token</button>
            <button type="button" onClick={() => { setShown(null); setCopied(false); }}>I have stored it</button>
            {copied && <span role="status">Copied.</span>}
          </div>
        </div>
      )}
      {fetching && !data && <Loading what="tokens" />}
      <Problem error={error ?? revoking.error} />
      {data && data.apiTokens.length === 0 && <Empty><p>No tokens yet.</p></Empty>}
      {data && data.apiTokens.length > 0 && (
        <div class="table-wrap"><table class="list">
          <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Scopes</th><th scope="col">Workspace</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {data.apiTokens.map((t) => (
              <tr key={t.id}>
                <td>{t.name}{t.persistedQueriesOnly && <span class="tag">trusted documents only</span>}</td>
                <td><code>{t.prefix}…</code></td>
                <td>{t.scopes.map((s) => s.toLowerCase().replace('_', ' ')).join(', ')}</td>
                <td>{t.workspace?.name ?? 'All of yours'}</td>
                <td>{when(t.createdAt)}</td>
                <td>{when(t.lastUsedAt)}</td>
                <td>{t.expiresAt ? new Date(t.expiresAt).toLocaleDateString() : 'Never'}</td>
                <td><button type="button" class="danger" onClick={() => setConfirm({ id: t.id, name: t.name })}>Revoke<span class="visually-hidden"> {t.name}</span></button></td>
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
      <form class="form" noValidate onSubmit={async (e) => {
        e.preventDefault();
        const r = await create({ input: {
          name, scopes: chosen, workspaceId: workspaceId || null, persistedQueriesOnly: persistedOnly,
          expiresAt: expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null,
        } });
        if (r.data) {
          setShown({ name: r.data.createApiToken.token.name, secret: r.data.createApiToken.secret });
          setName('');
        }
      }}>
        <h2>New token</h2>
        <Field id="token-name" label="Name" required error={errs.byField['name']} help="Say which bot or script holds it.">
          {(a) => <input {...a} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
        </Field>
        <fieldset>
          <legend>Scopes</legend>
          {scopes.map(([s, label]) => (
            <label key={s} class="choice"><input type="checkbox" checked={chosen.includes(s)} onChange={(e) =>
              setChosen((e.target as HTMLInputElement).checked ? [...chosen, s] : chosen.filter((x) => x !== s))} /> {label}</label>
          ))}
          {errs.byField['scopes'] && <p class="error">{errs.byField['scopes']}</p>}
        </fieldset>
        <Field id="token-workspace" label="Workspace" error={errs.byField['workspaceId']} help="Limit the token to one workspace (recommended).">
          {(a) => <select {...a} value={workspaceId} onChange={(e) => setWorkspaceId((e.target as HTMLSelectElement).value)}>
            <option value="">All my workspaces</option>
            {data?.workspaces.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
          </select>}
        </Field>
        <Field id="token-expires" label="Expires on" error={errs.byField['expiresAt']}>
          {(a) => <input {...a} type="date" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} />}
        </Field>
        <label class="choice"><input type="checkbox" checked={persistedOnly} onChange={(e) => setPersistedOnly((e.target as HTMLInputElement).checked)} /> Trusted documents only (for partners)</label>
        <Problem error={errs.other.join(' ') || null} />
        <button class="primary" disabled={creating.fetching}>Create token</button>
      </form>
      {confirm && (
        <Dialog title={`Revoke ${confirm.name}?`} onClose={() => setConfirm(null)}>
          <p>Anything using this token stops working at once.</p>
          <div class="actions">
            <button type="button" class="danger" onClick={async () => { await revoke({ id: confirm.id }); setConfirm(null); }}>Revoke token</button>
            <button type="button" onClick={() => setConfirm(null)}>Cancel</button>
          </div>
        </Dialog>
      )}
    </Page>
  );
}
