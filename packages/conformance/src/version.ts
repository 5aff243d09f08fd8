/** Version of the case catalogue; bumps when cases are added (ids never change meaning). */
export const SUITE_VERSION = '0.4.0';
