/**
 * File names as users give them: `~` expanded, URLs accepted.
 * @internal
 * @module
 */
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { describe } from "./errors.js";

/** Expands a leading `~` to the home directory, as Python's `Path.expanduser`. */
export function expandUser(p: string): string {
  if (p === "~") return homedir();
  if (p.startsWith("~/")) return homedir() + p.slice(1);
  return p;
}

/** A file name from a string or a `file:` URL. */
export function toPath(fname: unknown): string {
  if (typeof fname === "string") return fname;
  if (fname instanceof URL) return fileURLToPath(fname);
  throw new TypeError(`expected a file name (string), got ${describe(fname)}`);
}
