import { useState } from 'preact/hooks';
import { useMutation, useQuery } from '@urql/preact';
import { AuditLogDocument, VerifyAuditLogDocument, type AuditAction, type AuditOutcome, type AuditRowFragment } from '../gql/graphql';
import { Empty, Loading, Page, Problem, person } from '../ui';

const words = (s: string) => s.charAt(0) + s.slice(1).toLowerCase().replace(/_/g, ' ');

export function AuditTable(props: { entries: AuditRowFragment[] }) {
  return (
    <div class="table-wrap"><table class="list">
      <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">What</th><th scope="col">Outcome</th><th scope="col">Who</th><th scope="col">On</th></tr></thead>
      <tbody>
        {props.entries.map((e) => (
          <tr key={e.id}>
            <td>{e.seq}</td>
            <td><time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time></td>
            <td>{words(e.action)}</td>
            <td><span class={`outcome o-${e.outcome.toLowerCase()}`}>{words(e.outcome)}</span></td>
            <td>{e.actor.kind === 'API_TOKEN' ? `token ${e.actor.apiTokenName ?? ''}` : e.actor.kind === 'SYSTEM' ? 'credkeep' : person(e.actor.user)}</td>
            <td>{e.targetName ?? e.targetType ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table></div>
  );
}

const actions: AuditAction[] = ['CREDENTIAL_CREATED', 'CREDENTIAL_UPDATED', 'CREDENTIAL_DELETED', 'CREDENTIAL_SHARED', 'CREDENTIAL_UNSHARED',
  'CREDENTIAL_USED', 'CREDENTIAL_TESTED', 'CREDENTIAL_AUTHORIZED', 'MEMBER_ADDED', 'MEMBER_ROLE_CHANGED', 'MEMBER_REMOVED',
  'TOKEN_CREATED', 'TOKEN_REVOKED', 'DEFAULT_CREDENTIAL_SET', 'ACCESS_DENIED'];

export function Audit(props: { workspaceId: string }) {
  const [action, setAction] = useState<AuditAction | ''>('');
  const [outcome, setOutcome] = useState<AuditOutcome | ''>('');
  const [pages, setPages] = useState(1);
  const [{ data, fetching, error }] = useQuery({
    query: AuditLogDocument,
    requestPolicy: 'network-only',
    variables: { workspaceId: props.workspaceId, first: 50 * pages, filter: { action: action || null, outcome: outcome || null } },
  });
  const [verified, verify] = useMutation(VerifyAuditLogDocument);
  const ws = data?.workspace;
  const log = ws?.auditLog;
  const v = verified.data?.verifyAuditLog;
  return (
    <Page title="Audit log" actions={ws?.viewerCan.verifyAudit &&
      <button type="button" disabled={verified.fetching} onClick={() => verify({ workspaceId: props.workspaceId })}>Verify the chain</button>}>
      {v && <p class={v.ok ? 'ok' : 'problem'} role="status">{v.ok ? `The chain is intact: ${v.checked} entries checked.` : `The chain is broken at entry ${v.firstBrokenSeq}.`}</p>}
      <Problem error={verified.error} />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label><span>Action</span>
          <select value={action} onChange={(e) => { setAction((e.target as HTMLSelectElement).value as AuditAction | ''); setPages(1); }}>
            <option value="">All actions</option>{actions.map((a) => <option key={a} value={a}>{words(a)}</option>)}
          </select>
        </label>
        <label><span>Outcome</span>
          <select value={outcome} onChange={(e) => { setOutcome((e.target as HTMLSelectElement).value as AuditOutcome | ''); setPages(1); }}>
            <option value="">Any outcome</option><option value="SUCCESS">Success</option><option value="DENIED">Denied</option><option value="FAILURE">Failure</option>
          </select>
        </label>
      </form>
      {fetching && !data && <Loading what="the audit log" />}
      <Problem error={error} />
      {ws && !log && <p>Your role does not show the audit log.</p>}
      {log && log.totalCount === 0 && <Empty><p>Nothing recorded{action || outcome ? ' with these filters' : ' yet'}.</p></Empty>}
      {log && log.totalCount > 0 && (
        <>
          <AuditTable entries={log.edges.map((e) => e.node)} />
          {log.pageInfo.hasNextPage && <button type="button" onClick={() => setPages(pages + 1)}>Show more</button>}
        </>
      )}
    </Page>
  );
}
