# The relay image: one build, as many nodes as the deployment runs.
FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund
ENV LIAISON_HOST=0.0.0.0 LIAISON_PORT=8080 NODE_ENV=production
EXPOSE 8080
USER node
CMD ["npm", "start"]
