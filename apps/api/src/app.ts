import { OpenAPIHono } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { consoleRoutes } from './console/routes.tsx';
import { docsRoutes } from './docs/reference.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { adminRoutes } from './admin/index.ts';
import type { ApiDeps, AppEnv } from './context.ts';
import { accessLog } from './middleware/access-log.ts';
import { bearerAuth } from './middleware/auth.ts';
import { onError, validationHook } from './middleware/errors.ts';
import { notFoundOrMethodNotAllowed } from './middleware/method-not-allowed.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { inputGuard } from './middleware/input-guard.ts';
import { apiRateLimit } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { SplitRouter } from './router.ts';
import { tracing } from './middleware/tracing.ts';
import { agentsRoutes } from './routes/agents.ts';
import { artifactsRoutes } from './routes/artifacts.ts';
import { eventsRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { modelsRoutes } from './routes/models.ts';
import { pipelinesRoutes } from './routes/pipelines.ts';
import { providersRoutes } from './routes/providers.ts';
import { runsRoutes } from './routes/runs.ts';
import { schedulesRoutes } from './routes/schedules.ts';
import { settingsRoutes } from './routes/settings.ts';
import { spendRoutes } from './routes/spend.ts';
import { webhookDeliveriesRoutes } from './routes/webhook-deliveries.ts';

export type App = OpenAPIHono<AppEnv>;

export interface AppOptions {
  /** Mounts more sub-apps (console, admin) on the app after the API's own routes. */
  extras?: (app: App) => void;
}

/** The whole HTTP app, without listening: `server.ts` serves it, tests call `app.request`. */
export function createApp(deps: ApiDeps, options: AppOptions = {}): App {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook, router: new SplitRouter() });
  const limit = deps.config.BODY_LIMIT_BYTES;

  app.use(
    createMiddleware<AppEnv>(async (c, next) => {
      c.set('deps', deps);
      await next();
    }),
  );
  app.use(tracing);
  app.use(requestId);
  app.use(securityHeaders);
  app.use(accessLog);
  app.use(bodyLimit(limit));
  app.use('/v1/*', bearerAuth(deps.config.API_TOKENS));
  app.use('/v1/*', apiRateLimit(deps));
  app.use(inputGuard);
  app.onError(onError);
  app.notFound(notFoundOrMethodNotAllowed(app));

  app.route('/', healthRoutes);
  app.route('/', metricsRoutes(deps));
  app.route('/admin', adminRoutes(deps));
  for (const routes of [agentsRoutes, mcpRoutes, pipelinesRoutes, runsRoutes, eventsRoutes, webhookDeliveriesRoutes, artifactsRoutes, schedulesRoutes, modelsRoutes, settingsRoutes, providersRoutes, spendRoutes]) {
    app.route('/v1', routes);
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Conveyor API',
      version: '1.0.0',
      description: 'Run AI agent pipelines as background jobs. Every `/v1` request needs `Authorization: Bearer <token>`.',
    },
    security: [{ bearerAuth: [] }],
  });
  app.route('/', docsRoutes());

  app.route('/', consoleRoutes());
  options.extras?.(app);
  return app;
}
