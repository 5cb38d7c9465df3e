/**
 * Which of a record's recipients this instance holds, from the record's recipients line
 * (space-separated user ids, redis-codec.ts).
 *
 * Why a cache: a conversation is published to again and again with the same recipients line, and
 * splitting it and looking every id up in `wanted` cost more per record than one look-up of the
 * whole line (a hash of the line's bytes against one per id, and no string per id). The answer
 * for a line holds until `wanted` changes, which the version (bumped by every change) tells.
 */

/** Lines kept; past it the cache starts over (a cache, not a registry). */
const MAX_LINES = 4096;

export class LocalRecipients {
  readonly #wanted: ReadonlySet<string>;
  readonly #version: () => number;
  #cachedVersion = -1;
  readonly #byLine = new Map<string, readonly string[]>();

  /** `version`: changes whenever `wanted` does. */
  constructor(wanted: ReadonlySet<string>, version: () => number) {
    this.#wanted = wanted;
    this.#version = version;
  }

  /** The ids in `line` that `wanted` holds, in line order; the array is shared: read it only. */
  of(line: string): readonly string[] {
    const version = this.#version();
    if (version !== this.#cachedVersion) {
      this.#byLine.clear();
      this.#cachedVersion = version;
    }
    let ours = this.#byLine.get(line);
    if (ours === undefined) {
      ours = line === '' ? NONE : line.split(' ').filter((id) => this.#wanted.has(id));
      if (this.#byLine.size >= MAX_LINES) this.#byLine.clear();
      this.#byLine.set(line, ours);
    }
    return ours;
  }
}

const NONE: readonly string[] = [];
