# syntax=docker/dockerfile:1.7
# One image for the API, the workers and the one-shot migration; the command picks the role.
# The API and worker run as compiled bundles (`npm run build`); migrations run through tsx.

FROM node:20-bookworm-slim AS manifests
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma-generate.mjs ./scripts/prisma-generate.mjs
COPY packages/core/package.json packages/core/
COPY packages/llm-emulator/package.json packages/llm-emulator/
COPY packages/cli/package.json packages/cli/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/

FROM manifests AS deps
RUN npm ci --omit=dev --no-audit --no-fund

FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production LOG_FORMAT=json CHECKPOINT_DISABLE=1
# glibc's allocator hands freed memory back to the system past 128 KiB instead of keeping it
# (by default the threshold climbs to tens of MiB): about 20 MiB less resident per worker,
# no measurable CPU (docs/performance.md). The benchmarks read this line and run the bundles with it.
ENV MALLOC_TRIM_THRESHOLD_=131072
# Production dependencies (wherever the lockfile puts them, workspaces' own node_modules too) and the generated Prisma client.
COPY --from=deps --chown=node:node /app ./
COPY --chown=node:node . .
COPY --from=build --chown=node:node /app/apps/api/dist ./apps/api/dist
COPY --from=build --chown=node:node /app/apps/worker/dist ./apps/worker/dist
USER node
EXPOSE 3000
CMD ["node", "apps/api/dist/server.js"]
