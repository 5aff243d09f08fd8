/** How long a case watches for something that must NOT happen (a redelivery of an acked message). */
export const QUIET_WINDOW_MS = 750;
