// What the server tells the console at /console/config.json (public values only).
export interface OIDCConfig {
  issuer: string;
  clientId: string;
  scopes: string[];
  audience?: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  endSessionEndpoint?: string;
}

export interface ConsoleConfig {
  oidc: OIDCConfig | null;
  devSignIn: boolean;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('/console/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json answered ${res.status}`);
  return (await res.json()) as ConsoleConfig;
}
