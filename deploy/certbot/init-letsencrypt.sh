#!/usr/bin/env bash
# The first Let's Encrypt certificate, from nothing (README, "Deployment"). Run once from the
# repository root, after DNS for $DOMAIN points at this host and ports 80 and 443 are open:
#   deploy/certbot/init-letsencrypt.sh [--staging]
# nginx cannot start without a certificate, and certbot needs nginx to answer the HTTP-01
# challenge: so a self-signed placeholder goes in first, nginx starts with it, certbot obtains
# the real one through the webroot, the placeholder goes, and nginx reloads. Renewal is then the
# `certbot` service's (every 12 h) and nginx reloads every 6 h.
set -euo pipefail

cd "$(dirname "$0")/../.."
staging=()
[[ "${1:-}" == "--staging" ]] && staging=(--staging)

compose() {
    if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}
env_value() {  # the value of $1 in .env (the last one wins, as for compose)
    grep -E "^$1=" .env | tail -n 1 | cut -d= -f2- | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}

[[ -f .env ]] || { echo "No .env: copy .env.example to .env and fill it in first." >&2; exit 1; }
DOMAIN="$(env_value DOMAIN)"
EMAIL="$(env_value LETSENCRYPT_EMAIL)"
[[ -n "$DOMAIN" ]] || { echo "Set DOMAIN in .env." >&2; exit 1; }
[[ -n "$EMAIL" ]] || { echo "Set LETSENCRYPT_EMAIL in .env (Let's Encrypt's expiry notices)." >&2; exit 1; }
live="/etc/letsencrypt/live/$DOMAIN"

if compose run --rm --entrypoint sh certbot -c "test -s $live/fullchain.pem && ! test -e $live/.placeholder"; then
    echo "A certificate for $DOMAIN is already there; the certbot service renews it."
    exit 0
fi

echo "### A self-signed placeholder for $DOMAIN, so nginx can start"
compose run --rm --entrypoint sh certbot -c "mkdir -p $live && \
    openssl req -x509 -nodes -newkey rsa:2048 -days 1 -subj '/CN=$DOMAIN' \
        -keyout $live/privkey.pem -out $live/fullchain.pem && touch $live/.placeholder"

echo "### Starting nginx (and what it needs)"
compose up -d nginx

echo "### Asking Let's Encrypt for $DOMAIN"
compose run --rm --entrypoint sh certbot -c "rm -rf $live /etc/letsencrypt/archive/$DOMAIN /etc/letsencrypt/renewal/$DOMAIN.conf"
compose run --rm --entrypoint certbot certbot certonly --webroot -w /var/www/certbot \
    -d "$DOMAIN" --email "$EMAIL" --agree-tos --no-eff-email --rsa-key-size 4096 "${staging[@]}"

echo "### Reloading nginx with the real certificate"
compose exec nginx nginx -s reload
echo "Done: https://$DOMAIN/"
