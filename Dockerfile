# The relay image: one build, as many nodes as the deployment runs (docker-compose.yml).

# Build stage: every dependency, the compiler, the build. Its steps are deploy/build-image.sh, which
# test/image.test.ts runs too, in a temporary folder.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN sh deploy/build-image.sh release

# Runtime stage: the compiled relay and its production dependencies, owned by root, so the relay
# cannot change its own code. It runs as the unprivileged user `node`, which owns its data folder
# (PGlite and attachment files when there is no LIAISON_DATABASE_URL; mount a volume there to keep them).
FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /src/release ./
RUN mkdir -p /var/lib/liaison /etc/liaison/roots && chown node:node /var/lib/liaison
ENV NODE_ENV=production LIAISON_HOST=0.0.0.0 LIAISON_PORT=8080 LIAISON_DATA_DIR=/var/lib/liaison/relay
EXPOSE 8080
USER node
# node is PID 1, with no npm or shell in between: docker stop's SIGTERM reaches the relay, which
# stops gracefully and exits 0.
CMD ["node", "--enable-source-maps", "--initial-old-space-size=128", "server/dist/main.js"]
