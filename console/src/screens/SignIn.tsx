import { useEffect, useState } from 'preact/hooks';
import type { ConsoleConfig } from '../config';
import { finishOIDC, startOIDC, takeFragmentToken, takePlace, token } from '../auth';
import { Problem } from '../ui';

export function SignIn(props: { config: ConsoleConfig; onSignedIn: (to: string) => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    document.title = 'Sign in · credkeep';
    // The sign-in link may also be opened on this page (only its fragment changes).
    const take = () => {
      takeFragmentToken();
      if (token()) props.onSignedIn(takePlace());
    };
    take();
    window.addEventListener('hashchange', take);
    return () => window.removeEventListener('hashchange', take);
  }, []);
  const { oidc, devSignIn } = props.config;
  return (
    <main id="main" class="signin">
      <img src="/console/icon.svg" alt="" width={48} height={48} />
      <h1>Sign in to credkeep</h1>
      {oidc && (
        <button type="button" class="primary" onClick={() => startOIDC(oidc).catch((e: unknown) => setProblem(String(e)))}>
          Sign in with {new URL(oidc.issuer).host}
        </button>
      )}
      {devSignIn && (
        <p class="help">Development server: open the sign-in link <code>make run</code> printed (its token stays in the
          address bar's fragment, never sent to the server).</p>
      )}
      {!oidc && !devSignIn && <p>This server has no sign-in configured for people (CREDKEEP_OIDC_ISSUER).</p>}
      <Problem error={problem} />
    </main>
  );
}

export function Callback(props: { config: ConsoleConfig; onSignedIn: (to: string) => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const oidc = props.config.oidc;
    if (!oidc) {
      setProblem('OpenID Connect is not configured on this server.');
      return;
    }
    finishOIDC(oidc).then(() => props.onSignedIn(takePlace())).catch((e: unknown) => {
      setProblem(e instanceof Error ? e.message : String(e));
    });
  }, []);
  return (
    <main id="main" class="signin">
      <h1>Signing in…</h1>
      {problem && <><Problem error={problem} /><p><a href="/signin">Start again</a></p></>}
    </main>
  );
}
