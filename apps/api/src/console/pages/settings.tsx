/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { deleteProviderKey, listProviders, putProviderKey } from '../../services/providers.ts';
import { assertProviderBaseUrlAllowed } from '../../services/provider-url.ts';
import { putSettings } from '../../services/settings.ts';
import { CsrfField } from '../components/csrf-field.tsx';
import { ModelSelect } from '../components/model-select.tsx';
import { Notice } from '../components/notice.tsx';
import type { ConsoleEnv } from '../env.ts';
import { PutSettingsBody } from '../../schemas/models.ts';
import { PutProviderKeyBody } from '../../schemas/providers.ts';
import { apiErrorMessages, field, readForm, validationMessages } from '../forms.ts';
import { guardedRouter } from '../guard.ts';
import { Layout } from '../layout.tsx';
import { loadModelChoices } from '../model-choices.ts';

const notices: Record<string, string> = {
  default: 'Default model saved. Agents that use the default run with it from their next run on.',
  'key-saved': 'Provider key saved (encrypted).',
  'key-removed': 'Provider key removed.',
};

async function renderSettings(c: Context<ConsoleEnv>, errors: { section: 'default' | string; messages: string[] } | null = null, status: 200 | 400 | 404 = 200) {
  const deps = c.get('deps');
  const [choices, providers] = await Promise.all([loadModelChoices(deps), listProviders(deps)]);
  const token = c.get('session').csrfToken;
  const saved = notices[c.req.query('saved') ?? ''];
  const errorsFor = (section: string) =>
    errors?.section === section ? <Notice kind="error">{errors.messages.join(' ')}</Notice> : null;
  return c.html(
    <Layout title="Settings" session={c.get('session')} section="/settings">
      <h1>Settings</h1>
      {saved && <Notice kind="ok">{saved}</Notice>}
      <h2 id="default-model">Default Model</h2>
      <form method="post" action="/settings/default-model" class="panel">
        {errorsFor('default')}
        <CsrfField token={token} />
        <label for="defaultModel">Used by every agent whose model is "Use default from settings"</label>
        {choices.groups.length === 0 ? (
          <p class="hint">No provider has an API key yet: add one below, then choose the default model here.</p>
        ) : (
          <>
            <ModelSelect name="defaultModel" id="defaultModel" groups={choices.groups} selected={choices.defaultModel} />
            <div class="actions">
              <button type="submit">Save default model</button>
            </div>
          </>
        )}
      </form>
      <h2 id="providers">Provider keys</h2>
      <p class="hint">Keys are stored encrypted and never shown again; only their last characters are. A stored key wins over the environment.</p>
      {providers.map((provider) => (
        <section class="panel" id={`provider-${provider.id}`}>
          <div class="head">
            <strong>{provider.name}</strong>
            <span>
              {provider.configured ? (
                <span class="badge succeeded">{`configured${provider.source ? ` (${provider.source === 'env' ? 'environment' : 'stored'})` : ''}`}</span>
              ) : (
                <span class="badge">no key</span>
              )}{' '}
              {provider.keyHint && <span class="mono small">{provider.keyHint}</span>}
            </span>
          </div>
          {errorsFor(provider.id)}
          <form method="post" action={`/settings/providers/${provider.id}/key`}>
            <CsrfField token={token} />
            <label for={`apiKey-${provider.id}`}>{provider.source === 'stored' ? 'Replace the key' : 'Set a key'}</label>
            <input id={`apiKey-${provider.id}`} type="password" name="apiKey" autocomplete="off" required placeholder="API key" />
            <label for={`baseUrl-${provider.id}`}>Base URL (optional)</label>
            <input id={`baseUrl-${provider.id}`} type="url" name="baseUrl" placeholder="the provider's own endpoint" />
            <div class="actions">
              <button type="submit">Save key</button>
            </div>
          </form>
          {provider.source === 'stored' && (
            <form method="post" action={`/settings/providers/${provider.id}/key/delete`} class="actions">
              <CsrfField token={token} />
              <button type="submit" class="danger">
                Remove stored key
              </button>
            </form>
          )}
        </section>
      ))}
    </Layout>,
    status,
  );
}

export function settingsPages() {
  const app = guardedRouter();

  app.get('/', (c) => renderSettings(c));

  app.post('/default-model', async (c) => {
    const parsed = PutSettingsBody.safeParse({ defaultModel: field(await readForm(c), 'defaultModel') });
    if (!parsed.success) return renderSettings(c, { section: 'default', messages: ['Choose a model.'] }, 400);
    try {
      await putSettings(c.get('deps'), parsed.data);
      return c.redirect('/settings?saved=default', 303);
    } catch (error) {
      return renderSettings(c, { section: 'default', messages: apiErrorMessages(error).messages }, 400);
    }
  });

  app.post('/providers/:id/key', async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const baseUrl = field(form, 'baseUrl').trim();
    const parsed = PutProviderKeyBody.safeParse({ apiKey: field(form, 'apiKey'), ...(baseUrl ? { baseUrl } : {}) });
    if (!parsed.success) {
      return renderSettings(c, { section: id, messages: validationMessages(parsed.error, { apiKey: 'API key', baseUrl: 'Base URL' }) }, 400);
    }
    try {
      await assertProviderBaseUrlAllowed(c.get('deps'), parsed.data.baseUrl, ['baseUrl']);
      await putProviderKey(c.get('deps'), id, parsed.data);
      return c.redirect('/settings?saved=key-saved', 303);
    } catch (error) {
      const { status, messages } = apiErrorMessages(error);
      return renderSettings(c, { section: id, messages }, status === 404 ? 404 : 400);
    }
  });

  app.post('/providers/:id/key/delete', async (c) => {
    const id = c.req.param('id');
    try {
      await deleteProviderKey(c.get('deps'), id);
      return c.redirect('/settings?saved=key-removed', 303);
    } catch (error) {
      const { status, messages } = apiErrorMessages(error);
      return renderSettings(c, { section: id, messages }, status === 404 ? 404 : 400);
    }
  });

  return app;
}
