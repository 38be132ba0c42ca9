#!/bin/sh
# Runs inside the compose network once peftd is healthy: checks what a user of docker-compose.yml relies on.
set -u
failed=0 total=0
check() { # name command...
  name=$1; shift; total=$((total + 1))
  if "$@" >/tmp/out 2>&1; then echo "ok   $name"; else echo "FAIL $name: $(head -c 400 /tmp/out)"; failed=$((failed + 1)); fi
}
# retries a check for up to $2 seconds (Prometheus scrapes every 15 s)
eventually() { # name seconds command...
  name=$1; total=$((total + 1)); deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/tmp/out 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "FAIL $name: $(head -c 400 /tmp/out)"; failed=$((failed + 1)); return; fi
    sleep 2
  done
  echo "ok   $name"
}
s3() { curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user peftd:peftd-local-secret -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }

check "postgres accepts the peftd user" sh -c "psql -h postgres -U peftd -d peftd -Atc 'select 1' | grep -qx 1"
check "peftd readiness is UP" sh -c "curl -sf http://peftd:8080/actuator/health/readiness | grep -q '\"UP\"'"
check "peftd liveness is UP" sh -c "curl -sf http://peftd:8080/actuator/health/liveness | grep -q '\"UP\"'"
check "peftd exports Prometheus metrics" sh -c "curl -sf http://peftd:8080/actuator/prometheus | grep -q '^jvm_memory_used_bytes'"
check "S3 store answers signed requests" s3 -o /dev/null http://s3:8333/
check "Prometheus is ready" curl -sf http://prometheus:9090/-/ready
check "Prometheus loaded the peftd alert rules" sh -c "curl -sf http://prometheus:9090/api/v1/rules | grep -q PeftdNoWorkerAlive"
eventually "Prometheus scrapes peftd (up == 1)" 60 sh -c \
  "curl -sf 'http://prometheus:9090/api/v1/query?query=up%7Bjob%3D%22peftd%22%7D' | grep -q '\"1\"\]'"

echo "compose smoke: $((total - failed)) passed, $failed failed"
[ "$failed" = 0 ]
