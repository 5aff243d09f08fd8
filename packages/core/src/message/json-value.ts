/** A value that survives JSON: what headers and task arguments may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
