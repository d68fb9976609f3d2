// Against a server started with Codegen's persisted-documents.json as its
// trusted documents: a request naming a document by the documentId Codegen
// puts in each document's __meta__.hash runs it; an unknown id does not.
// Usage: node codegen-documents.mjs URL JWT gql/persisted-documents.json
import { readFileSync } from 'node:fs';

const [url, jwt, mapFile] = process.argv.slice(2);
const docs = JSON.parse(readFileSync(mapFile, 'utf8'));
const id = Object.keys(docs).find((k) => docs[k].includes('query ApiTokens'));
const post = async (documentId) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ documentId, variables: {} }),
  });
  return res.json();
};
let failures = 0;
const check = (ok, what, got) => {
  console.log(ok ? `ok   ${what}` : `FAIL ${what}: ${JSON.stringify(got)}`);
  if (!ok) failures++;
};
check(id?.startsWith('sha256:'), 'Codegen keys its map by sha256:<hex>', id);
const ran = await post(id);
check(Array.isArray(ran.data?.apiTokens) && !ran.errors, 'a Codegen documentId runs the document', ran);
const unknown = await post(`sha256:${'0'.repeat(64)}`);
check(unknown.errors?.[0]?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND', 'an unknown documentId is not found', unknown);
console.log(`codegen documents: ${failures === 0 ? 'all checks passed' : `${failures} failures`}`);
process.exit(failures === 0 ? 0 : 1);
