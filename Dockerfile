# Switchyard gateway image: build with the dev toolchain, run with production dependencies only, as a non-root user,
# with `node dist/main.js` as PID 1 (it handles SIGTERM/SIGINT itself: stop accepting, drain, exit 0; no init needed).
# Build: docker build -t switchyard .    Run: see docker-compose.yaml.

FROM node:20.20-alpine AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && find node_modules \( -name "*.d.ts" -o -name "*.d.mts" -o -name "*.d.cts" -o -name "*.map" -o -name "*.md" \) -type f -delete \
 && rm -rf node_modules/effect/src node_modules/@effect/*/src

FROM node:20.20-alpine
# The runtime needs no package manager; dropping npm and yarn keeps the image small and its attack surface smaller.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn-* \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY data ./data
COPY docker/config.yaml ./config.yaml
USER node
EXPOSE 12000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:12000/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["up", "/app/config.yaml"]
