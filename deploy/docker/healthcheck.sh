#!/bin/bash
# Container HEALTHCHECK: healthy when Actuator's readiness group answers HTTP 200.
# Plain bash (/dev/tcp), so the image needs neither curl nor wget.
set -u
port=${SERVER_PORT:-8080}
path=${PEFTD_HEALTHCHECK_PATH:-/actuator/health/readiness}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS=' ' read -r _ status _ <&3 || exit 1
[ "$status" = 200 ]
