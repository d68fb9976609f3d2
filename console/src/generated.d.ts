declare module 'credkeep:generated' {
  /** Operation name → trusted document id (from httpapi/console/manifest.json). */
  export const documentIds: Record<string, string>;
  /** Object types without an id: values embedded in their parent, not entities. */
  export const valueTypes: string[];
}
