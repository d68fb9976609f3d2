// credkeep's console: sign in, then the screens of SPEC.md §10, each at its
// own URL. It talks only to /graphql, by trusted document id.
import './style.css';
import { render } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { Provider, useQuery } from '@urql/preact';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter-preact';
import { loadConfig, type ConsoleConfig } from './config';
import { rememberPlace, signOut, takeFragmentToken, token } from './auth';
import { makeClient } from './client';
import { ViewerDocument } from './gql/graphql';
import { Loading, Problem, person } from './ui';
import { Callback, SignIn } from './screens/SignIn';
import { Workspaces } from './screens/Workspaces';
import { Credentials } from './screens/Credentials';
import { NewCredential } from './screens/NewCredential';
import { CredentialDetail } from './screens/CredentialDetail';
import { Tokens } from './screens/Tokens';
import { Members } from './screens/Members';
import { Defaults } from './screens/Defaults';
import { Audit } from './screens/Audit';
import { Webhooks } from './screens/Webhooks';

function Home() {
  const [{ data, fetching, error }] = useQuery({ query: ViewerDocument });
  if (fetching) return <Loading what="your workspaces" />;
  if (error) return <Problem error={error} />;
  const first = data?.workspaces[0];
  return <Redirect to={first ? `/w/${first.id}/credentials` : '/workspaces'} replace />;
}

/** Shell is the frame of every signed-in screen: who is signed in, where to go. */
function Shell(props: { onSignOut: () => void }) {
  const [location] = useLocation();
  const ws = /^\/w\/([^/]+)/.exec(location)?.[1];
  const [{ data }] = useQuery({ query: ViewerDocument });
  const [, navigate] = useLocation();
  const current = data?.workspaces.find((w) => w.id === ws);
  const nav = (href: string, label: string) => (
    <li><Link href={href} aria-current={location.startsWith(href) ? 'page' : undefined}>{label}</Link></li>
  );
  return (
    <div class="shell">
      <header class="top">
        <Link href="/" class="brand"><img src="/console/icon.svg" alt="" width={24} height={24} /> credkeep</Link>
        {data && data.workspaces.length > 0 && (
          <label class="switcher">
            <span class="visually-hidden">Workspace</span>
            <select value={ws ?? ''} onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              navigate(v ? `/w/${v}/credentials` : '/workspaces');
            }}>
              {!current && <option value="">Choose a workspace</option>}
              {data.workspaces.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
            </select>
          </label>
        )}
        <span class="who">{data ? person(data.viewer.user) : ''}</span>
        <button type="button" class="link" onClick={props.onSignOut}>Sign out</button>
      </header>
      <nav aria-label="Main">
        <ul>
          {ws && nav(`/w/${ws}/credentials`, 'Credentials')}
          {ws && nav(`/w/${ws}/members`, 'Members')}
          {ws && nav(`/w/${ws}/defaults`, 'Defaults')}
          {ws && nav(`/w/${ws}/audit`, 'Audit log')}
          {ws && nav(`/w/${ws}/webhooks`, 'Webhooks')}
          {nav('/tokens', 'API tokens')}
          {nav('/workspaces', 'Workspaces')}
        </ul>
      </nav>
      <main id="main">
        <Switch>
          <Route path="/"><Home /></Route>
          <Route path="/workspaces"><Workspaces /></Route>
          <Route path="/tokens"><Tokens /></Route>
          <Route path="/w/:ws/credentials">{(p) => <Credentials workspaceId={p.ws} />}</Route>
          <Route path="/w/:ws/credentials/new">{(p) => <NewCredential workspaceId={p.ws} />}</Route>
          <Route path="/w/:ws/credentials/new/:type">{(p) => <NewCredential workspaceId={p.ws} typeKey={p.type} />}</Route>
          <Route path="/w/:ws/credentials/:id">{(p) => <CredentialDetail workspaceId={p.ws} id={p.id} />}</Route>
          <Route path="/w/:ws/members">{(p) => <Members workspaceId={p.ws} />}</Route>
          <Route path="/w/:ws/defaults">{(p) => <Defaults workspaceId={p.ws} />}</Route>
          <Route path="/w/:ws/audit">{(p) => <Audit workspaceId={p.ws} />}</Route>
          <Route path="/w/:ws/webhooks">{(p) => <Webhooks workspaceId={p.ws} />}</Route>
          <Route><section class="page"><h1>Not found</h1><p>There is no such page. <Link href="/">Go to your credentials</Link>.</p></section></Route>
        </Switch>
      </main>
    </div>
  );
}

function App(props: { config: ConsoleConfig }) {
  const [location, navigate] = useLocation();
  const [session, setSession] = useState(() => token() !== null);
  const client = useMemo(() => makeClient(() => {
    // The token expired or was refused: back to sign-in, then to this page.
    rememberPlace(location + window.location.search);
    signOut();
    setSession(false);
  }), [session]);
  if (location.startsWith('/signin/callback')) {
    return <Callback config={props.config} onSignedIn={(to) => { setSession(true); navigate(to, { replace: true }); }} />;
  }
  if (!session || token() === null) {
    if (!location.startsWith('/signin')) {
      rememberPlace(location + window.location.search);
      return <Redirect to="/signin" replace />;
    }
    return <SignIn config={props.config} onSignedIn={(to) => { setSession(true); navigate(to, { replace: true }); }} />;
  }
  if (location.startsWith('/signin')) return <Redirect to="/" replace />;
  return (
    <Provider value={client}>
      <Shell onSignOut={() => { signOut(); setSession(false); navigate('/signin'); }} />
    </Provider>
  );
}

takeFragmentToken();
const root = document.getElementById('app');
if (root) {
  root.textContent = ''; // the boot message
  loadConfig()
    .then((config) => render(<App config={config} />, root))
    .catch((e: unknown) => render(<p class="problem" role="alert">The console could not start: {String(e)}</p>, root));
}
