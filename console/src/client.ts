// The GraphQL client: urql with Graphcache (entities keyed by id, the
// id-less value types embedded), sending every operation as a trusted
// document id only, never its text.
import { Client, fetchExchange, mapExchange, type Operation } from '@urql/core';
import { cacheExchange, type Cache } from '@urql/exchange-graphcache';
import { persistedExchange } from '@urql/exchange-persisted';
import { Kind, type DocumentNode } from 'graphql';
import { documentIds, valueTypes } from 'credkeep:generated';
import { token } from './auth';

function operationName(doc: DocumentNode): string {
  for (const d of doc.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION && d.name) return d.name.value;
  }
  return '';
}

// Lists that a mutation changes are fetched again when next shown.
function invalidate(cache: Cache, typename: string, id: string | null, field: string): void {
  const entity = id === null ? 'Query' : cache.keyOfEntity({ __typename: typename, id });
  if (!entity) return;
  for (const f of cache.inspectFields(entity)) {
    if (f.fieldName === field) cache.invalidate(entity, f.fieldName, f.arguments ?? undefined);
  }
}

export function makeClient(onSignedOut: () => void): Client {
  const keys = Object.fromEntries(valueTypes.map((t) => [t, () => null]));
  return new Client({
    url: '/graphql',
    preferGetMethod: false,
    fetchOptions: (): RequestInit => {
      const t = token();
      const headers: Record<string, string> = t ? { Authorization: `Bearer ${t}` } : {};
      return { headers };
    },
    exchanges: [
      cacheExchange({
        keys,
        updates: {
          Mutation: {
            createWorkspace: (_r, _a, cache) => invalidate(cache, 'Query', null, 'workspaces'),
            createCredential: (_r, args, cache) => {
              const input = args.input as { workspaceId: string };
              invalidate(cache, 'Workspace', input.workspaceId, 'credentials');
            },
            deleteCredential: (_r, args, cache) => {
              cache.invalidate({ __typename: 'Credential', id: args.id as string });
            },
            createApiToken: (_r, _a, cache) => invalidate(cache, 'Query', null, 'apiTokens'),
            revokeApiToken: (_r, _a, cache) => invalidate(cache, 'Query', null, 'apiTokens'),
            addMember: (_r, args, cache) => invalidate(cache, 'Workspace', args.workspaceId as string, 'members'),
            removeMember: (_r, args, cache) => invalidate(cache, 'Workspace', args.workspaceId as string, 'members'),
            createWebhook: (_r, args, cache) => {
              const input = args.input as { workspaceId: string };
              invalidate(cache, 'Workspace', input.workspaceId, 'webhooks');
            },
            deleteWebhook: (_r, args, cache) => {
              cache.invalidate({ __typename: 'Webhook', id: args.id as string });
            },
          },
        },
      }),
      // An expired or refused session sends the person to sign in again.
      mapExchange({
        onResult(result) {
          const signedOut = result.error?.response?.status === 401 ||
            result.error?.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
          if (signedOut) onSignedOut();
        },
      }),
      persistedExchange({
        enforcePersistedQueries: true,
        enableForMutation: true,
        preferGetForPersistedQueries: false,
        generateHash: async (_query: string, doc: DocumentNode) => {
          const id = documentIds[operationName(doc)];
          if (!id) throw new Error(`operation ${operationName(doc)} is not a trusted document`);
          return id;
        },
      }),
      fetchExchange,
    ],
  });
}

export type { Operation };
