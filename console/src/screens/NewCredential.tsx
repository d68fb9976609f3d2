import { useState } from 'preact/hooks';
import { useMutation, useQuery } from '@urql/preact';
import { Link, useLocation } from 'wouter-preact';
import { CreateCredentialDocument, CredentialTypesDocument, type CredentialTypesQuery } from '../gql/graphql';
import { Field, Loading, Page, Problem, TypeBadge, fieldErrors } from '../ui';
import { FieldInputs, fieldValues } from './FieldInputs';

type CredentialType = CredentialTypesQuery['credentialTypes'][number];

const kinds: Record<string, string> = { OAUTH2: 'OAuth2', API_KEY: 'API key', BASIC_AUTH: 'Login', CUSTOM: 'Custom' };

/** NewCredential: a type picker, then a form built from the type's fields. */
export function NewCredential(props: { workspaceId: string; typeKey?: string }) {
  const [{ data, fetching, error }] = useQuery({ query: CredentialTypesDocument });
  if (fetching && !data) return <Loading what="credential types" />;
  if (error) return <Problem error={error} />;
  const type = data?.credentialTypes.find((t) => t.key === props.typeKey);
  if (!type) {
    return (
      <Page title="New credential">
        <p>Choose what to connect.</p>
        <ul class="type-grid">
          {data?.credentialTypes.map((t) => (
            <li key={t.key}>
              <Link href={`/w/${props.workspaceId}/credentials/new/${t.key}`}>
                <TypeBadge typeKey={t.key} name={t.name} /> <span>{t.name}</span> <span class="muted">{kinds[t.authKind]}</span>
              </Link>
            </li>
          ))}
        </ul>
      </Page>
    );
  }
  return <CredentialForm workspaceId={props.workspaceId} type={type} />;
}

function CredentialForm(props: { workspaceId: string; type: CredentialType }) {
  const { type } = props;
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(type.fields.map((f) => [f.key, f.default ?? ''])));
  const [result, create] = useMutation(CreateCredentialDocument);
  const [, navigate] = useLocation();
  const errs = fieldErrors(result.error);
  return (
    <Page title={`New ${type.name} credential`}>
      <form class="form" noValidate onSubmit={async (e) => {
        e.preventDefault();
        const r = await create({ input: {
          workspaceId: props.workspaceId, type: type.key, name, description: description || null,
          tags: tags.split(/[\s,]+/).filter(Boolean), fields: fieldValues(type.fields, values),
        } });
        if (r.data) {
          setValues({}); // the secrets leave the page with the form
          navigate(`/w/${props.workspaceId}/credentials/${r.data.createCredential.id}`, { replace: true });
        }
      }}>
        <Field id="name" label="Name" required error={errs.byField['name']} help="Include the service and the purpose, e.g. “Prod SMTP – alerts”.">
          {(a) => <input {...a} value={name} maxLength={100} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
        </Field>
        <Field id="description" label="Description" error={errs.byField['description']}>
          {(a) => <textarea {...a} value={description} maxLength={500} rows={2} onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)} />}
        </Field>
        <Field id="tags" label="Tags" error={errs.byField['tags']} help="Separated by spaces or commas, e.g. env:prod team:ops.">
          {(a) => <input {...a} value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />}
        </Field>
        <FieldInputs specs={type.fields} values={values} errors={errs.byField} onChange={setValues} />
        <Problem error={errs.other.join(' ') || null} />
        <div class="actions">
          <button class="primary" disabled={result.fetching}>Save credential</button>
          <Link href={`/w/${props.workspaceId}/credentials/new`}>Back</Link>
        </div>
      </form>
    </Page>
  );
}
