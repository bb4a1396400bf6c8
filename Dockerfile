# syntax=docker/dockerfile:1
# The API as a container image (SPEC §8): built with Swift 6.3, run from a slim Ubuntu as a non-root
# user. `docker compose` (docker-compose.yml) runs it behind nginx; README, "Deployment".

# ---- build: release binary with the Swift runtime linked in, plus any resources ----------------
FROM swift:6.3-noble AS build
WORKDIR /build
# Dependencies first, so a change in our sources does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY . .
RUN swift build -c release --product plataforma --static-swift-stdlib \
    && mkdir -p /staging \
    && cp "$(swift build -c release --show-bin-path)/plataforma" /staging/ \
    && find -L "$(swift build -c release --show-bin-path)/" -maxdepth 1 -name '*.resources' -exec cp -R {} /staging/ \; \
    && for folder in Resources Public; do if [ -d "$folder" ]; then cp -R "$folder" /staging/; fi; done

# ---- runtime: the binary, CA certificates and time zones; nothing else -----------------------
FROM ubuntu:24.04
# ca-certificates: TLS to PostgreSQL, Redis and Microsoft Graph; tzdata: TIME_ZONE. Versions are
# left to the base image's security updates, which pinning would block.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 plataforma \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin plataforma \
    && mkdir -p /data/media \
    && chown -R plataforma:plataforma /data
WORKDIR /app
# Owned by root and read-only to the service user: the running server cannot change its own code.
COPY --from=build /staging /app
ENV APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    MEDIA_ROOT=/data/media \
    LOG_FORMAT=json
# Numeric, so orchestrators can verify it is not root (runAsNonRoot) without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
# SIGTERM stops accepting, lets requests in flight finish (up to 15 s), then exits 0.
STOPSIGNAL SIGTERM
# No curl in the image: bash's /dev/tcp asks /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-8000} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/app/plataforma"]
CMD ["serve"]
