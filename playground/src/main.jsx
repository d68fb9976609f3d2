// credkeep's playground: GraphiQL against this server's /graphql. An admin
// pastes a JWT into the headers editor; nothing is loaded from anywhere else.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';

const fetcher = async (params, opts) => {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(opts && opts.headers) },
    body: JSON.stringify(params),
  });
  return res.json();
};

const defaultHeaders = JSON.stringify({ Authorization: 'Bearer <paste your JWT here>' }, null, 2);

createRoot(document.getElementById('graphiql')).render(
  <GraphiQL fetcher={fetcher} defaultHeaders={defaultHeaders} headerEditorEnabled={true} shouldPersistHeaders={false} />
);
