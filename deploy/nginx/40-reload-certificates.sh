#!/bin/sh
# Run by the nginx image's entrypoint before nginx starts: reloads nginx every 6 hours, so a
# certificate renewed by the certbot service is served without a restart.
(
    while :; do
        sleep 6h
        nginx -s reload
    done
) &
