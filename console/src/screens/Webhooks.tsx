import { useState } from 'preact/hooks';
import { useMutation, useQuery } from '@urql/preact';
import {
  CreateWebhookDocument, DeleteWebhookDocument, RedeliverWebhookDocument, UpdateWebhookDocument, WebhooksDocument,
  type AuditAction, type WebhookRowFragment,
} from '../gql/graphql';
import { Dialog, Empty, Field, Loading, Page, Problem, fieldErrors, when } from '../ui';

// The events people most often want pushed, in the words of the screen.
const choices: [AuditAction, string][] = [
  ['CREDENTIAL_EXPIRING', 'A credential expires in 14, 3 or 1 days'],
  ['CREDENTIAL_EXPIRED', 'A credential expired'],
  ['CREDENTIAL_ROTATION_DUE', 'A credential is due for rotation'],
  ['CREDENTIAL_CREATED', 'A credential was created'],
  ['CREDENTIAL_UPDATED', 'A credential was changed'],
  ['CREDENTIAL_DELETED', 'A credential was deleted'],
  ['CREDENTIAL_PROMOTED', 'Staged secrets became current'],
  ['CREDENTIAL_ROLLED_BACK', 'A credential was rolled back'],
  ['CREDENTIAL_SHARED', 'A credential was shared'],
  ['CREDENTIAL_USED', 'A secret was fetched (useCredential; many)'],
  ['CREDENTIAL_TESTED', 'A connection was tested'],
  ['MEMBER_ADDED', 'A member was added'],
  ['MEMBER_REMOVED', 'A member was removed'],
  ['TOKEN_CREATED', 'An API token was created'],
  ['TOKEN_REVOKED', 'An API token was revoked'],
  ['ACCESS_DENIED', 'Access was refused'],
  ['WEBHOOK_DEACTIVATED', 'A webhook was turned off after failing'],
];

const words = (s: string) => s.charAt(0) + s.slice(1).toLowerCase().replace(/_/g, ' ');

function Deliveries(props: { hook: WebhookRowFragment; canRedeliver: boolean }) {
  const [redelivering, redeliver] = useMutation(RedeliverWebhookDocument);
  const edges = props.hook.deliveries?.edges ?? [];
  if (edges.length === 0) return <p class="muted">Nothing delivered yet: it receives the events written after it was created.</p>;
  return (
    <>
      <Problem error={redelivering.error} />
      <div class="table-wrap"><table class="list">
        <caption>Latest deliveries of {props.hook.name} ({props.hook.deliveries?.totalCount ?? 0} in all)</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Answer</th><th scope="col">Attempts</th><th scope="col">When</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {edges.map(({ node: d }) => (
            <tr key={d.id}>
              <td>{d.seq}</td>
              <td>{words(d.action)}</td>
              <td><span class={`outcome o-${d.status === 'DELIVERED' ? 'success' : d.status === 'FAILED' ? 'failure' : 'denied'}`}>{words(d.status)}</span>
                {d.nextAttemptAt && <span class="muted"> · retry {new Date(d.nextAttemptAt).toLocaleTimeString()}</span>}</td>
              <td>{d.responseCode ?? 'no answer'}{d.durationMs != null && <span class="muted"> · {d.durationMs} ms</span>}</td>
              <td>{d.attempt}</td>
              <td>{when(d.at)}</td>
              <td>{props.canRedeliver && <button type="button" disabled={redelivering.fetching} onClick={() => redeliver({ id: d.id })}>
                Send again<span class="visually-hidden"> event {d.seq}</span></button>}</td>
            </tr>
          ))}
        </tbody>
      </table></div>
    </>
  );
}

export function Webhooks(props: { workspaceId: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: WebhooksDocument, variables: { ws: props.workspaceId }, requestPolicy: 'cache-and-network' });
  const [creating, create] = useMutation(CreateWebhookDocument);
  const [updating, update] = useMutation(UpdateWebhookDocument);
  const [deleting, remove] = useMutation(DeleteWebhookDocument);
  const [name, setName] = useState('');
  const [url, setURL] = useState('');
  const [events, setEvents] = useState<AuditAction[]>(['CREDENTIAL_EXPIRING', 'CREDENTIAL_EXPIRED', 'CREDENTIAL_ROTATION_DUE']);
  const [description, setDescription] = useState('');
  const [shown, setShown] = useState<{ name: string; secret: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<{ id: string; name: string } | null>(null);
  const errs = fieldErrors(creating.error);
  const ws = data?.workspace;
  const may = ws?.viewerCan.manageWebhooks ?? false;
  return (
    <Page title="Webhooks">
      <p class="muted">credkeep POSTs the events you choose to your HTTPS endpoint, signed (Standard Webhooks), in order,
        retrying for a day. Verify each delivery with the signing secret before you act on it.</p>
      {shown && (
        <div class="once" role="alert">
          <h2>Copy the signing secret of {shown.name} now</h2>
          <p>It is shown this once. Your endpoint needs it to verify that a delivery comes from credkeep.</p>
          <p class="secret-box"><code>{shown.secret}</code></p>
          <div class="actions">
            <button type="button" class="primary" onClick={() => navigator.clipboard.writeText(shown.secret).then(() => setCopied(true), () => setCopied(false))}>Copy secret</button>
            <button type="button" onClick={() => { setShown(null); setCopied(false); }}>I have stored it</button>
            {copied && <span role="status">Copied.</span>}
          </div>
        </div>
      )}
      {fetching && !data && <Loading what="webhooks" />}
      <Problem error={error ?? updating.error ?? deleting.error} />
      {ws && !may && <Empty><p>Only the workspace's owners and admins manage its webhooks.</p></Empty>}
      {ws?.webhooks && ws.webhooks.length === 0 && <Empty><p>No webhooks yet.</p></Empty>}
      {ws?.webhooks && ws.webhooks.length > 0 && (
        <ul class="hooks">
          {ws.webhooks.map((h) => (
            <li key={h.id}>
              <h2>{h.name} {h.active ? <span class="status s-active">Active</span> : <span class="status s-expired">Paused</span>}</h2>
              <p><code>{h.url}</code></p>
              {h.description && <p>{h.description}</p>}
              <p class="muted">{h.events.map(words).join(', ')}</p>
              <div class="actions">
                <button type="button" aria-expanded={open === h.id} onClick={() => setOpen(open === h.id ? null : h.id)}>
                  {open === h.id ? 'Hide deliveries' : 'Show deliveries'}<span class="visually-hidden"> of {h.name}</span></button>
                <button type="button" disabled={updating.fetching} onClick={() => update({ input: { id: h.id, active: !h.active } })}>
                  {h.active ? 'Pause' : 'Resume'}<span class="visually-hidden"> {h.name}</span></button>
                <button type="button" class="danger" onClick={() => setConfirm({ id: h.id, name: h.name })}>Delete<span class="visually-hidden"> {h.name}</span></button>
              </div>
              {!h.active && <p class="muted">Paused: events wait and are delivered, in order, when you resume it.</p>}
              {open === h.id && <Deliveries hook={h} canRedeliver={may} />}
            </li>
          ))}
        </ul>
      )}
      {may && (
        <form class="form" noValidate onSubmit={async (e) => {
          e.preventDefault();
          const r = await create({ input: { workspaceId: props.workspaceId, name, url, events, description: description || null } });
          if (r.data) {
            setShown({ name: r.data.createWebhook.webhook.name, secret: r.data.createWebhook.signingSecret });
            setName(''); setURL(''); setDescription('');
            refetch({ requestPolicy: 'network-only' });
          }
        }}>
          <h2>New webhook</h2>
          <Field id="hook-name" label="Name" required error={errs.byField['name']}>
            {(a) => <input {...a} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
          </Field>
          <Field id="hook-url" label="Endpoint URL" required error={errs.byField['url']} help="https, reachable from credkeep; no user name or password in it.">
            {(a) => <input {...a} type="url" value={url} placeholder="https://hooks.example.com/credkeep" onInput={(e) => setURL((e.target as HTMLInputElement).value)} />}
          </Field>
          <fieldset>
            <legend>Events</legend>
            {choices.map(([a, label]) => (
              <label key={a} class="choice"><input type="checkbox" checked={events.includes(a)} onChange={(e) =>
                setEvents((e.target as HTMLInputElement).checked ? [...events, a] : events.filter((x) => x !== a))} /> {label}</label>
            ))}
            {errs.byField['events'] && <p class="error">{errs.byField['events']}</p>}
          </fieldset>
          <Field id="hook-description" label="Description" error={errs.byField['description']} help="What it is for, for whoever finds it later.">
            {(a) => <input {...a} value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />}
          </Field>
          <Problem error={errs.other.join(' ') || null} />
          <button class="primary" disabled={creating.fetching}>Create webhook</button>
        </form>
      )}
      {confirm && (
        <Dialog title={`Delete ${confirm.name}?`} onClose={() => setConfirm(null)}>
          <p>It stops receiving events at once, and its delivery log is deleted with it.</p>
          <div class="actions">
            <button type="button" class="danger" onClick={async () => { await remove({ id: confirm.id }); setConfirm(null); refetch({ requestPolicy: 'network-only' }); }}>Delete webhook</button>
            <button type="button" onClick={() => setConfirm(null)}>Cancel</button>
          </div>
        </Dialog>
      )}
    </Page>
  );
}
