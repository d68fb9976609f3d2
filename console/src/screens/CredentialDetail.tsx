import { useState } from 'preact/hooks';
import { useMutation, useQuery } from '@urql/preact';
import { useLocation, useSearch } from 'wouter-preact';
import {
  CredentialAuditDocument, CredentialDocument, DeleteCredentialDocument, RefreshCredentialDocument, ShareCredentialDocument,
  StartOAuthAuthorizationDocument, TestCredentialDocument, UnshareCredentialDocument, UpdateCredentialDocument,
  type AccessLevel, type CredentialQuery,
} from '../gql/graphql';
import { Dialog, Field, Loading, Page, Problem, Status, TypeBadge, fieldErrors, levelHelp, person, when } from '../ui';
import { FieldInputs, fieldValues } from './FieldInputs';
import { AuditTable } from './Audit';

type Credential = NonNullable<CredentialQuery['credential']>;

const connectionState: Record<string, string> = {
  NOT_CONNECTED: 'Not connected: authorize it to use it.', CONNECTED: 'Connected', NEEDS_REAUTHORIZATION: 'Needs to be authorized again',
};

export function CredentialDetail(props: { workspaceId: string; id: string }) {
  const [{ data, fetching, error }] = useQuery({ query: CredentialDocument, variables: { id: props.id }, requestPolicy: 'cache-and-network' });
  const [dialog, setDialog] = useState<'share' | 'delete' | 'edit' | null>(null);
  const [tested, test] = useMutation(TestCredentialDocument);
  const [refreshed, refresh] = useMutation(RefreshCredentialDocument);
  const [authorizing, authorize] = useMutation(StartOAuthAuthorizationDocument);
  if (fetching && !data) return <Loading what="the credential" />;
  const c = data?.credential;
  if (!c) {
    return <Page title="Credential"><Problem error={error} />{!error && <p>This credential does not exist, or you have no access to it.</p>}</Page>;
  }
  const can = c.viewerCan;
  const oauthFlow = c.connection?.grantType === 'authorization_code';
  return (
    <Page title={c.name} actions={<>
      {can.test && c.type.testable && <button type="button" disabled={tested.fetching} onClick={() => test({ id: c.id })}>Test connection</button>}
      {can.authorize && oauthFlow && (
        <button type="button" disabled={authorizing.fetching} onClick={async () => {
          const back = new URL(window.location.href);
          for (const k of ['credkeep_oauth', 'credentialId', 'reason']) back.searchParams.delete(k);
          const r = await authorize({ credentialId: c.id, returnTo: back.toString() });
          if (r.data) window.location.assign(r.data.startOAuthAuthorization.authorizationUrl);
        }}>{c.connection?.state === 'CONNECTED' ? 'Re-authorize' : 'Connect'}</button>
      )}
      {can.refresh && c.connection && c.connection.grantType !== 'static_token' &&
        <button type="button" disabled={refreshed.fetching} onClick={() => refresh({ id: c.id })}>Refresh token</button>}
      {can.edit && <button type="button" onClick={() => setDialog('edit')}>Edit</button>}
      {can.share && <button type="button" onClick={() => setDialog('share')}>Share</button>}
      {can.delete && <button type="button" class="danger" onClick={() => setDialog('delete')}>Delete</button>}
    </>}>
      <p class="subtitle"><TypeBadge typeKey={c.type.key} name={c.type.name} /> {c.type.name} · <Status status={c.status} />
        {' '}· {c.sharing === 'SHARED' ? 'Shared' : 'Personal'} · owner {person(c.owner)}</p>
      {c.statusMessage && <p class="problem" role="status">{c.statusMessage}</p>}
      <OAuthOutcome />
      {tested.data && <p class={tested.data.testCredential.ok ? 'ok' : 'problem'} role="status">{tested.data.testCredential.message}</p>}
      <Problem error={tested.error ?? refreshed.error ?? authorizing.error} />
      {c.description && <p>{c.description}</p>}
      {c.tags.length > 0 && <p class="tags">{c.tags.map((t) => <span key={t} class="tag">{t}</span>)}</p>}

      <h2>Configuration</h2>
      {c.fields ? (
        <dl class="config">
          {c.fields.map((f) => (
            <div key={f.key}><dt>{f.label}</dt><dd>{f.secret ? (f.isSet ? <span class="hint">{f.hint ?? 'set (too short to hint)'}</span> : <em>not set</em>) : (f.value || <em>not set</em>)}</dd></div>
          ))}
        </dl>
      ) : <p class="muted">Your access ({c.viewerAccess === 'USE' ? 'Use only' : c.viewerAccess}) does not show the settings.</p>}

      {c.connection && (
        <>
          <h2>Connection</h2>
          <dl class="config">
            <div><dt>State</dt><dd>{connectionState[c.connection.state]}</dd></div>
            {c.connection.account && <div><dt>Account</dt><dd>{c.connection.account}</dd></div>}
            <div><dt>Connected</dt><dd>{when(c.connection.connectedAt, 'Not yet')}{c.connection.connectedBy && ` by ${person(c.connection.connectedBy)}`}</dd></div>
            <div><dt>Token expires</dt><dd>{c.connection.expiresAt ? new Date(c.connection.expiresAt).toLocaleString() : '—'}</dd></div>
            <div><dt>Scopes</dt><dd>{c.connection.scopes.join(' ') || '—'}</dd></div>
          </dl>
        </>
      )}

      <h2>Usage</h2>
      <p>Used {c.useCount} time{c.useCount === 1 ? '' : 's'}, last {when(c.lastUsedAt, 'never')}. Last tested {when(c.lastTestedAt, 'never')}.</p>
      {c.usages && c.usages.length > 0 ? (
        <div class="table-wrap"><table class="list">
          <caption>Connected bots and workflows</caption>
          <thead><tr><th scope="col">Consumer</th><th scope="col">Kind</th><th scope="col">Uses</th><th scope="col">Last used</th></tr></thead>
          <tbody>{c.usages.map((u) => <tr key={u.consumerKind + u.consumerId}><td>{u.consumerName || u.consumerId}</td><td>{u.consumerKind.toLowerCase()}</td><td>{u.useCount}</td><td>{when(u.lastUsedAt)}</td></tr>)}</tbody>
        </table></div>
      ) : c.usages && <p class="muted">No bot or workflow uses it yet.</p>}

      {c.grants && (
        <>
          <h2>Sharing</h2>
          {c.grants.length === 0 ? <p class="muted">Personal: only the owner and workspace admins see it.</p> : <Grants credential={c} />}
        </>
      )}

      {can.readAudit && <><h2>History</h2><CredentialHistory id={c.id} /></>}

      {dialog === 'edit' && <EditDialog credential={c} onClose={() => setDialog(null)} />}
      {dialog === 'share' && <ShareDialog credential={c} onClose={() => setDialog(null)} />}
      {dialog === 'delete' && <DeleteDialog credential={c} workspaceId={props.workspaceId} onClose={() => setDialog(null)} />}
    </Page>
  );
}

// OAuthOutcome tells how an authorization ended when the provider sent the
// person back here (credkeep_oauth, reason: codes, never the provider's text).
const oauthReasons: Record<string, string> = {
  exchange_failed: 'the provider did not accept the code', provider_refused: 'the provider did not authorize',
  access_denied: 'access was denied at the provider', no_code: 'the provider sent no code',
  not_allowed: 'you no longer manage this credential', credential_deleted: 'the credential was deleted', bad_state: 'the link expired',
};

function OAuthOutcome() {
  const q = new URLSearchParams(useSearch());
  const outcome = q.get('credkeep_oauth');
  if (!outcome) return null;
  if (outcome === 'connected') return <p class="ok" role="status">Connected.</p>;
  const reason = q.get('reason') ?? '';
  return <p class="problem" role="status">Not connected: {oauthReasons[reason] ?? reason}.</p>;
}

function Grants(props: { credential: Credential }) {
  const c = props.credential;
  const [removed, unshare] = useMutation(UnshareCredentialDocument);
  return (
    <>
      <ul class="grants">
        {(c.grants ?? []).map((g) => (
          <li key={g.id}>
            <span>{g.granteeKind === 'WORKSPACE' ? 'Everyone in the workspace' : person(g.user)}</span>
            <span class="level">{g.level === 'USE' ? 'Use only' : g.level === 'VIEW' ? 'View' : 'Manage'}</span>
            {c.viewerCan.share && <button type="button" class="link" onClick={() => unshare({ credentialId: c.id, grantId: g.id })}>Remove<span class="visually-hidden"> access of {g.granteeKind === 'WORKSPACE' ? 'the workspace' : person(g.user)}</span></button>}
          </li>
        ))}
      </ul>
      <Problem error={removed.error} />
    </>
  );
}

function CredentialHistory(props: { id: string }) {
  const [{ data, fetching, error }] = useQuery({ query: CredentialAuditDocument, variables: { id: props.id, first: 20 }, requestPolicy: 'network-only' });
  if (fetching && !data) return <Loading what="history" />;
  const trail = data?.credential?.auditTrail;
  if (error) return <Problem error={error} />;
  if (!trail || trail.totalCount === 0) return <p class="muted">Nothing recorded yet.</p>;
  return <AuditTable entries={trail.edges.map((e) => e.node)} />;
}

function EditDialog(props: { credential: Credential; onClose: () => void }) {
  const c = props.credential;
  const [name, setName] = useState(c.name);
  const [description, setDescription] = useState(c.description ?? '');
  const [tags, setTags] = useState(c.tags.join(' '));
  const current = Object.fromEntries((c.fields ?? []).map((f) => [f.key, f]));
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(c.type.fields.map((s) => [s.key, s.secret ? '' : current[s.key]?.value ?? ''])));
  const [result, update] = useMutation(UpdateCredentialDocument);
  const errs = fieldErrors(result.error);
  const hints = Object.fromEntries(c.type.fields.filter((s) => s.secret).map((s) => [s.key, current[s.key]?.hint]));
  return (
    <Dialog title={`Edit ${c.name}`} onClose={props.onClose}>
      <form class="form" noValidate onSubmit={async (e) => {
        e.preventDefault();
        const changed = fieldValues(c.type.fields, values).filter((f) =>
          c.type.fields.find((s) => s.key === f.key)?.secret || f.value !== (current[f.key]?.value ?? ''));
        const r = await update({ input: {
          id: c.id, name, description, tags: tags.split(/[\s,]+/).filter(Boolean), expectedVersion: c.version,
          ...(changed.length ? { fields: changed } : {}),
        } });
        if (r.data) { setValues({}); props.onClose(); }
      }}>
        <Field id="edit-name" label="Name" required error={errs.byField['name']}>
          {(a) => <input {...a} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
        </Field>
        <Field id="edit-description" label="Description" error={errs.byField['description']}>
          {(a) => <textarea {...a} rows={2} value={description} onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)} />}
        </Field>
        <Field id="edit-tags" label="Tags" error={errs.byField['tags']}>
          {(a) => <input {...a} value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />}
        </Field>
        {c.fields && <FieldInputs specs={c.type.fields} values={values} errors={errs.byField} onChange={setValues} hints={hints} />}
        <Problem error={errs.other.join(' ') || null} />
        <div class="actions">
          <button class="primary" disabled={result.fetching}>Save changes</button>
          <button type="button" onClick={props.onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

function ShareDialog(props: { credential: Credential; onClose: () => void }) {
  const c = props.credential;
  const [who, setWho] = useState<'USER' | 'WORKSPACE'>('USER');
  const [userId, setUserId] = useState('');
  const [level, setLevel] = useState<AccessLevel>('USE');
  const [result, share] = useMutation(ShareCredentialDocument);
  const errs = fieldErrors(result.error);
  return (
    <Dialog title={`Share ${c.name}`} onClose={props.onClose}>
      <form class="form" onSubmit={async (e) => {
        e.preventDefault();
        const r = await share({ input: { credentialId: c.id, granteeKind: who, userId: who === 'USER' ? userId : null, level } });
        if (r.data) props.onClose();
      }}>
        <fieldset>
          <legend>With</legend>
          <label class="choice"><input type="radio" name="who" checked={who === 'USER'} onChange={() => setWho('USER')} /> A member</label>
          <label class="choice"><input type="radio" name="who" checked={who === 'WORKSPACE'} onChange={() => setWho('WORKSPACE')} /> Everyone in the workspace</label>
        </fieldset>
        {who === 'USER' && (
          <Field id="share-user" label="Member's user id" required error={errs.byField['userId']}>
            {(a) => <input {...a} value={userId} onInput={(e) => setUserId((e.target as HTMLInputElement).value)} />}
          </Field>
        )}
        <fieldset>
          <legend>Access</legend>
          {(['USE', 'VIEW', 'MANAGE'] as const).map((l) => (
            <label key={l} class="choice"><input type="radio" name="level" checked={level === l} onChange={() => setLevel(l)} /> {levelHelp[l]}</label>
          ))}
        </fieldset>
        <Problem error={errs.other.join(' ') || null} />
        <div class="actions">
          <button class="primary" disabled={result.fetching}>Share</button>
          <button type="button" onClick={props.onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog(props: { credential: Credential; workspaceId: string; onClose: () => void }) {
  const c = props.credential;
  const inUse = c.usages ?? [];
  const [force, setForce] = useState(false);
  const [result, remove] = useMutation(DeleteCredentialDocument);
  const [, navigate] = useLocation();
  return (
    <Dialog title={`Delete ${c.name}?`} onClose={props.onClose}>
      {inUse.length > 0 ? (
        <>
          <p class="problem">Workflows using this credential will fail. It is used by:</p>
          <ul>{inUse.map((u) => <li key={u.consumerKind + u.consumerId}>{u.consumerName || u.consumerId} ({u.consumerKind.toLowerCase()})</li>)}</ul>
          <label class="choice"><input type="checkbox" checked={force} onChange={(e) => setForce((e.target as HTMLInputElement).checked)} /> Delete it anyway</label>
        </>
      ) : <p>No bot or workflow uses it. Its secrets are destroyed; this cannot be undone.</p>}
      <Problem error={result.error} />
      <div class="actions">
        <button type="button" class="danger" disabled={result.fetching || (inUse.length > 0 && !force)} onClick={async () => {
          const r = await remove({ id: c.id, force: inUse.length > 0 ? force : null });
          if (r.data?.deleteCredential.deleted) navigate(`/w/${props.workspaceId}/credentials`, { replace: true });
        }}>Delete credential</button>
        <button type="button" onClick={props.onClose}>Cancel</button>
      </div>
    </Dialog>
  );
}

