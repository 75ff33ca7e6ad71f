/** How many fragments are gathered before they are joined into one string. */
const FRAGMENTS_PER_JOIN = 32;

/**
 * Text that arrives as many small fragments, as a streamed answer does. Built with `+=`, V8
 * keeps it as a rope: one small string and one node per fragment, until something reads the
 * whole. A worker holding a thousand streaming calls then holds millions of objects that every
 * major GC traces one by one. Here every 32 fragments are joined into one flat string as they
 * arrive, so the text holds one node per 32 fragments and about one byte per character.
 */
export class StreamedText {
  #joined = '';
  readonly #fragments: string[] = [];

  append(fragment: string): void {
    if (fragment === '') return;
    this.#fragments.push(fragment);
    if (this.#fragments.length >= FRAGMENTS_PER_JOIN) this.#join();
  }

  toString(): string {
    this.#join();
    return this.#joined;
  }

  #join(): void {
    if (this.#fragments.length === 0) return;
    this.#joined += this.#fragments.join('');
    this.#fragments.length = 0;
  }
}
