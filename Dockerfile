# The agent image: claude-bottle:latest (docker build -t claude-bottle:latest .).
# A Debian Node base, Claude Code from npm, git, curl and ca-certificates (with
# update-ca-certificates, which provisioning runs to trust the bottle's CA),
# and the unprivileged user node (uid 1000, from the base image). The launcher
# replaces the entrypoint with a keep-alive and starts `claude` with docker exec.
FROM node:22-bookworm-slim

ARG CLAUDE_CODE_VERSION=latest

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl git \
 && rm -rf /var/lib/apt/lists/*

RUN npm install -g "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
 && npm cache clean --force

USER node
WORKDIR /home/node
ENV LANG=C.UTF-8
CMD ["sleep", "infinity"]
