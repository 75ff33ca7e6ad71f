/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { Session } from './auth/session.ts';
import { CsrfField } from './components/csrf-field.tsx';

import { assetPath } from './assets.ts';

export const STYLESHEET_PATH = assetPath('console.css');

const sections = [
  ['/runs', 'Runs'],
  ['/runs/waiting', 'Waiting for you'],
  ['/pipelines', 'Pipelines'],
  ['/agents', 'Agents'],
  ['/artifacts', 'Artifacts'],
  ['/spend', 'Spend'],
  ['/settings', 'Settings'],
] as const;

export type Section = (typeof sections)[number][0];

interface LayoutProps {
  title: string;
  session?: Session;
  section?: Section;
  children?: Child;
}

export function Layout({ title, session, section, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} · Conveyor`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
        <link rel="icon" href={assetPath('favicon.svg')} type="image/svg+xml" />
        <script src={assetPath('console.js')} defer></script>
      </head>
      <body>
        {session && (
          <header class="top">
            <div class="bar">
              <a class="brand" href="/runs">Conveyor</a>
              <nav>
                {sections.map(([href, label]) => (
                  <a href={href} aria-current={section === href ? 'page' : undefined}>
                    {label}
                  </a>
                ))}
              </nav>
              <form method="post" action="/logout">
                <CsrfField token={session.csrfToken} />
                <button type="submit">Sign out</button>
              </form>
            </div>
          </header>
        )}
        <main>{children}</main>
      </body>
    </html>
  );
}
