import { useState } from 'preact/hooks';
import { useMutation, useQuery } from '@urql/preact';
import { AddMemberDocument, ChangeMemberRoleDocument, MembersDocument, RemoveMemberDocument, type WorkspaceRole } from '../gql/graphql';
import { Field, Loading, Page, Problem, fieldErrors, person, when } from '../ui';

const roleHelp: Record<WorkspaceRole, string> = {
  OWNER: 'Owner: everything, including owners and deleting the workspace',
  ADMIN: 'Admin: members (not owners), every credential, defaults and the audit log',
  MEMBER: 'Member: their own credentials and those shared with them',
};

export function Members(props: { workspaceId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: MembersDocument, variables: { id: props.workspaceId }, requestPolicy: 'cache-and-network' });
  const [added, add] = useMutation(AddMemberDocument);
  const [changed, change] = useMutation(ChangeMemberRoleDocument);
  const [removed, remove] = useMutation(RemoveMemberDocument);
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState<WorkspaceRole>('MEMBER');
  const ws = data?.workspace;
  const errs = fieldErrors(added.error);
  const mayChange = (r: WorkspaceRole) => (r === 'OWNER' ? ws?.viewerCan.manageOwners : ws?.viewerCan.manageMembers) ?? false;
  return (
    <Page title="Members">
      {fetching && !data && <Loading what="members" />}
      <Problem error={error ?? changed.error ?? removed.error} />
      {ws && (
        <div class="table-wrap"><table class="list">
          <thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {ws.members.map((m) => (
              <tr key={m.user.id}>
                <td>{person(m.user)} <span class="muted">{m.user.id}</span></td>
                <td>{mayChange(m.role) ? (
                  <select aria-label={`Role of ${person(m.user)}`} value={m.role} onChange={(e) =>
                    change({ workspaceId: props.workspaceId, userId: m.user.id, role: (e.target as HTMLSelectElement).value as WorkspaceRole })}>
                    {(Object.keys(roleHelp) as WorkspaceRole[]).filter((r) => r !== 'OWNER' || ws.viewerCan.manageOwners).map((r) =>
                      <option key={r} value={r}>{r.charAt(0) + r.slice(1).toLowerCase()}</option>)}
                  </select>) : m.role.charAt(0) + m.role.slice(1).toLowerCase()}</td>
                <td>{when(m.addedAt)}</td>
                <td>{mayChange(m.role) && <button type="button" class="link" onClick={() => remove({ workspaceId: props.workspaceId, userId: m.user.id })}>Remove<span class="visually-hidden"> {person(m.user)}</span></button>}</td>
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
      {ws?.viewerCan.manageMembers && (
        <form class="form" onSubmit={async (e) => {
          e.preventDefault();
          const r = await add({ workspaceId: props.workspaceId, userId, role });
          if (r.data) setUserId('');
        }}>
          <h2>Add a member</h2>
          <Field id="member-user" label="User id" required error={errs.byField['userId']} help="The subject (sub) of their sign-in.">
            {(a) => <input {...a} value={userId} onInput={(e) => setUserId((e.target as HTMLInputElement).value)} />}
          </Field>
          <fieldset>
            <legend>Role</legend>
            {(Object.keys(roleHelp) as WorkspaceRole[]).filter((r) => r !== 'OWNER' || ws.viewerCan.manageOwners).map((r) => (
              <label key={r} class="choice"><input type="radio" name="role" checked={role === r} onChange={() => setRole(r)} /> {roleHelp[r]}</label>
            ))}
          </fieldset>
          <Problem error={errs.other.join(' ') || null} />
          <button class="primary" disabled={added.fetching}>Add member</button>
        </form>
      )}
    </Page>
  );
}
