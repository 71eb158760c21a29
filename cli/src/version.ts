/** The CLI's version, as in cli/package.json (a test keeps them equal; no file read at start). */
export const VERSION = '0.1.0';
