import type { Result, Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';

const API_PREFIX = '/v1';

const isApiPath = (path: string) => path === API_PREFIX || path.startsWith(`${API_PREFIX}/`);
const isEveryPath = (path: string) => path === '*' || path === '/*';

/**
 * Routes `/v1` with Hono's RegExpRouter (one regular expression per method) and every other
 * path (console, dashboard, docs, health) with Hono's usual SmartRouter. The console has static
 * routes beside parameter routes (`/agents/new` and `/agents/:id`), which RegExpRouter refuses;
 * in one router, the whole app, `/v1` included, would fall back to the slower trie search.
 * Middleware for every path goes to both, in the order it was added.
 */
export class SplitRouter<T> implements Router<T> {
  readonly #api = new RegExpRouter<T>();
  readonly #rest = new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] });

  /** Which router serves each side, e.g. `SplitRouter (/v1: RegExpRouter, rest: SmartRouter + TrieRouter)`. */
  get name(): string {
    return `SplitRouter (${API_PREFIX}: ${this.#api.name}, rest: ${this.#rest.name})`;
  }

  add(method: string, path: string, handler: T): void {
    if (isEveryPath(path) || isApiPath(path)) this.#api.add(method, path, handler);
    if (!isApiPath(path)) this.#rest.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    return isApiPath(path) ? this.#api.match(method, path) : this.#rest.match(method, path);
  }
}
