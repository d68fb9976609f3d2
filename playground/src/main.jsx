// credkeep's playground: GraphiQL against this server's /graphql. An admin
// pastes a JWT into the headers editor; nothing is loaded from anywhere else.
// No request leaves before a token is there (every request needs one), and the
// schema is fetched again whenever the token changes.
import React, { useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';

const placeholder = 'Bearer <paste your JWT here>';
const defaultHeaders = JSON.stringify({ Authorization: placeholder }, null, 2);
const noToken = {
  errors: [{ message: 'Paste a token into the Headers tab below ("Authorization": "Bearer <JWT>"); the schema and docs load then.' }],
};

// authorizationOf is the Authorization header in the editor's text, or '' while
// it is not valid JSON, is missing, or is still the placeholder.
function authorizationOf(text) {
  try {
    const value = JSON.parse(text || '{}');
    const auth = Object.entries(value).find(([k]) => k.toLowerCase() === 'authorization');
    const v = auth && typeof auth[1] === 'string' ? auth[1].trim() : '';
    return /^Bearer \S+$/.test(v) && !v.includes('<') ? v : '';
  } catch {
    return '';
  }
}

function Playground() {
  const [authorization, setAuthorization] = useState('');
  // Typed tokens settle first: no request for every keystroke of one.
  const settle = useRef(0);
  const edited = (text) => {
    clearTimeout(settle.current);
    settle.current = setTimeout(() => setAuthorization(authorizationOf(text)), 400);
  };
  // A new fetcher for each token: GraphiQL introspects again when its fetcher changes.
  const fetcher = useMemo(() => async (params, opts) => {
    const headers = { ...(opts && opts.headers) };
    if (!authorizationOf(JSON.stringify(headers))) return noToken;
    const res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(params),
    });
    return res.json();
  }, [authorization]);
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultHeaders={defaultHeaders}
      onEditHeaders={edited}
      defaultEditorToolsVisibility="headers"
      shouldPersistHeaders={false}
    />
  );
}

createRoot(document.getElementById('graphiql')).render(<Playground />);
