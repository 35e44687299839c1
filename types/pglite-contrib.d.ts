/**
 * PGlite's contrib extensions are published through package `exports`, which this project's
 * `moduleResolution: node10` does not read: the one used is declared here.
 */
declare module "@electric-sql/pglite/contrib/btree_gist" {
  import type { Extension } from "@electric-sql/pglite";
  export const btree_gist: Extension;
}
