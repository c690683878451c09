# syntax=docker/dockerfile:1
# Build stage: install everything, generate resolver types, compile TypeScript.
# Node 24: the active LTS line. package.json engines (>=20.19) and every dependency accept it;
# the test suite also runs on Node 20 (see README, Requirements).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json codegen.yml ./
COPY schema ./schema
# The OTLP protobuf definitions the /v1/traces receiver decodes with.
COPY proto ./proto
COPY src ./src
COPY db ./db
# The self-contained cost CLI (dist/analytics-gateway-cost.cjs) is bundled by tools/build-cost-cli.ts.
COPY tools ./tools
# The playground (GraphiQL) is bundled here, from the sources and the example operations.
COPY playground ./playground
COPY examples ./examples
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and compiled output only, as a non-root user.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=4000 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
# 4000: GraphQL and health; 9464: /metrics when METRICS_PORT=9464 (compose, Kubernetes).
EXPOSE 4000 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
