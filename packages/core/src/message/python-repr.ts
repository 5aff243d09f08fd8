const MAX_REPR = 1024;

/**
 * A Python-like repr for `argsrepr`/`kwargsrepr`: Flower and Celery's logs show these strings,
 * and Python users expect `(2, 3)` rather than `[2,3]`. Cut to 1024 characters, as Celery does.
 */
export function pythonArgsRepr(args: readonly unknown[]): string {
  const inner = args.map(pythonRepr).join(', ');
  return truncate(args.length === 1 ? `(${inner},)` : `(${inner})`);
}

/** The `kwargsrepr` of a task: a Python-like dict repr, cut to 1024 characters as Celery does. */
export function pythonKwargsRepr(kwargs: Record<string, unknown>): string {
  return truncate(pythonRepr(kwargs));
}

/** A Python-like repr of one value (a task's result in Celery's events), cut like `argsrepr`. */
export function pythonValueRepr(value: unknown): string {
  return truncate(pythonRepr(value));
}

function truncate(text: string): string {
  return text.length > MAX_REPR ? text.slice(0, MAX_REPR) : text;
}

function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'nan';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`).join(', ')}}`;
  }
  return pythonRepr(String(value));
}
