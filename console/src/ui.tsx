// Shared pieces of the screens: layout, form fields, states, dialogs.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { CombinedError } from '@urql/core';

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  useEffect(() => { document.title = `${props.title} · credkeep`; }, [props.title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{props.title}</h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

export function Loading(props: { what: string }) {
  return <p class="state" role="status" aria-live="polite">Loading {props.what}…</p>;
}

export function Empty(props: { children: ComponentChildren }) {
  return <div class="empty">{props.children}</div>;
}

/** Problem shows an error that belongs to no single field. */
export function Problem(props: { error?: CombinedError | Error | string | null }) {
  const e = props.error;
  if (!e) return null;
  const text = typeof e === 'string' ? e : 'graphQLErrors' in e && e.graphQLErrors.length
    ? e.graphQLErrors.map((g) => g.message).join(' ')
    : e.message.replace(/^\[(GraphQL|Network)\] /, '');
  return <p class="problem" role="alert">{text}</p>;
}

/** fieldErrors maps extensions.field to its message; the rest are returned apart. */
export function fieldErrors(error?: CombinedError | null): { byField: Record<string, string>; other: string[] } {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  for (const e of error?.graphQLErrors ?? []) {
    const f = e.extensions?.field;
    if (typeof f === 'string' && !byField[f]) byField[f] = e.message;
    else other.push(e.message);
  }
  if (error?.networkError) other.push('The server could not be reached. Try again.');
  return { byField, other };
}

interface FieldProps {
  id: string;
  label: string;
  error?: string;
  help?: string | null;
  required?: boolean;
  children: (aria: { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string; required?: boolean }) => JSX.Element;
}

/** Field is a labelled input with its help and its error next to it. */
export function Field(p: FieldProps) {
  const described = [p.help ? `${p.id}-help` : '', p.error ? `${p.id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class={`field${p.error ? ' invalid' : ''}`}>
      <div class="label-row"><label for={p.id}>{p.label}</label>{p.required && <span class="req" aria-hidden="true">*</span>}</div>
      {p.children({ id: p.id, 'aria-invalid': p.error ? true : undefined, 'aria-describedby': described || undefined, required: p.required })}
      {p.help && <p class="help" id={`${p.id}-help`}>{p.help}</p>}
      {p.error && <p class="error" id={`${p.id}-error`}>{p.error}</p>}
    </div>
  );
}

/** Dialog is a modal dialog (the native element: focus kept inside, Escape closes). */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={props.onClose}>
      <h2 id="dialog-title">{props.title}</h2>
      {props.children}
    </dialog>
  );
}

export function when(t: string | null | undefined, never = 'Never'): string {
  if (!t) return never;
  const d = new Date(t);
  const s = (Date.now() - d.getTime()) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.floor(s / 86400)} days ago`;
  return d.toLocaleDateString();
}

export function TypeBadge(props: { typeKey: string; name: string }) {
  const words = props.name.split(/\s+/);
  const initials = (words.length > 1 ? words.map((w) => w[0]).join('') : props.name).slice(0, 2).toUpperCase();
  return <span class={`type-badge t-${props.typeKey}`} aria-hidden="true">{initials}</span>;
}

export function Status(props: { status: string }) {
  const label = { ACTIVE: 'Active', EXPIRED: 'Expired', ERROR: 'Error' }[props.status] ?? props.status;
  return <span class={`status s-${props.status.toLowerCase()}`}>{label}</span>;
}

export function person(u: { id: string; name?: string | null; email?: string | null } | null | undefined): string {
  if (!u) return '—';
  return u.name || u.email || u.id;
}

export const levelHelp: Record<string, string> = {
  USE: 'Use only: attach it to bots and workflows; never sees the values.',
  VIEW: 'View: also sees the settings and the masked hints of secrets.',
  MANAGE: 'Manage: also edits, shares, tests and deletes it.',
};
