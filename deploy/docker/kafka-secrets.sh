#!/bin/sh
# docker-compose one-shot: a random password for each Kafka user that has none yet, one volume per user
# (/secrets/<user>/password). Each service mounts only its own volume; the broker mounts all to format them in.
# The files are world-readable inside their volume because the broker (uid 1000) and the services (uid 185)
# read them: the volume boundary is what keeps one service from another's password.
set -eu
for dir in /secrets/*/; do
  user=$(basename "$dir")
  if [ ! -s "$dir/password" ]; then
    head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | cut -c1-32 > "$dir/password"
    echo "generated the Kafka password of $user"
  fi
  chmod 0444 "$dir/password"
done
