import { Field } from '../ui';

export interface FieldSpec {
  key: string;
  label: string;
  kind: string;
  required: boolean;
  secret: boolean;
  description?: string | null;
  default?: string | null;
  options?: string[] | null;
}

/** fieldValues are the inputs to send: empty ones left out (an update keeps them). */
export function fieldValues(specs: FieldSpec[], values: Record<string, string>): { key: string; value: string }[] {
  return specs.filter((s) => (values[s.key] ?? '') !== '').map((s) => ({ key: s.key, value: values[s.key] ?? '' }));
}

/**
 * FieldInputs are a credential type's fields as form inputs, by kind. Secret
 * inputs are write-only: password inputs, never filled from the server.
 */
export function FieldInputs(props: {
  specs: FieldSpec[];
  values: Record<string, string>;
  errors: Record<string, string>;
  onChange: (v: Record<string, string>) => void;
  hints?: Record<string, string | null | undefined>;
}) {
  const set = (key: string, value: string) => props.onChange({ ...props.values, [key]: value });
  return (
    <fieldset class="fields">
      <legend>Settings</legend>
      {props.specs.map((s) => {
        const id = `field-${s.key}`;
        const value = props.values[s.key] ?? '';
        const hint = props.hints?.[s.key];
        const help = [s.description, hint ? `Saved: ${hint}. Leave empty to keep it.` : ''].filter(Boolean).join(' ') || null;
        return (
          <Field key={s.key} id={id} label={s.label} required={s.required && !hint} help={help} error={props.errors[`fields.${s.key}`]}>
            {(a) => {
              const onInput = (e: Event) => set(s.key, (e.target as HTMLInputElement).value);
              if (s.kind === 'SELECT') {
                return <select {...a} value={value} onChange={onInput}>
                  {!s.required && <option value="">—</option>}
                  {(s.options ?? []).map((o) => <option key={o} value={o}>{o}</option>)}
                </select>;
              }
              if (s.kind === 'BOOLEAN') {
                return <input {...a} type="checkbox" checked={value === 'true'} onChange={(e) => set(s.key, (e.target as HTMLInputElement).checked ? 'true' : 'false')} />;
              }
              if (s.secret) {
                return <input {...a} type="password" autoComplete="new-password" spellcheck={false} value={value} onInput={onInput} />;
              }
              const type = { NUMBER: 'number', PORT: 'number', EMAIL: 'email', URL: 'url' }[s.kind] ?? 'text';
              return <input {...a} type={type} value={value} spellcheck={false} onInput={onInput} />;
            }}
          </Field>
        );
      })}
    </fieldset>
  );
}
