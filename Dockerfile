# One image for the four services; SERVICE picks which one a container runs.
# Build: docker build --build-arg SERVICE=flight-service -t skyway/flight-service .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY flight-service/package.json flight-service/
COPY booking-service/package.json booking-service/
COPY api-gateway/package.json api-gateway/
COPY notification-service/package.json notification-service/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY common common
COPY flight-service flight-service
COPY booking-service booking-service
COPY api-gateway api-gateway
COPY notification-service notification-service
RUN npx tsc -b common flight-service booking-service api-gateway notification-service \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ARG SERVICE
ENV NODE_ENV=production \
    SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
# Health: every service answers GET /ready on its own port (PORT is passed by docker-compose).
# The same V8 flags `npm start` uses (scripts/src/start.ts): they keep RSS under 200 MB (README, Performance).
CMD ["sh", "-c", "exec node --max-semi-space-size=16 --max-old-space-size=128 \"$SERVICE/dist/main.js\""]
