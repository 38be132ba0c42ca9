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
check "peftd exports Prometheus metrics to the metrics key" sh -c \
  "curl -sf -H 'Authorization: Bearer peftd-local-metrics-key' http://peftd:8080/actuator/prometheus | grep -q '^peftd_jobs'"
check "S3 store answers signed requests" s3 -o /dev/null http://s3:8333/
check "Prometheus is ready" curl -sf http://prometheus:9090/-/ready
check "Prometheus loaded the peftd alert rules" sh -c "curl -sf http://prometheus:9090/api/v1/rules | grep -q PeftdNoWorkerAlive"
eventually "Prometheus scrapes peftd (up == 1)" 60 sh -c \
  "curl -sf 'http://prometheus:9090/api/v1/query?query=up%7Bjob%3D%22peftd%22%7D' | grep -q '\"1\"\]'"

# the README's requests: the API needs the key, and an uploaded file lands in the S3 bucket peftd created
auth="Authorization: Bearer $PEFTD_KEY"
check "API refuses a request without the key (401)" sh -c \
  "test \"\$(curl -s -o /dev/null -w '%{http_code}' http://peftd:8080/v1/models)\" = 401"
check "API lists models with the key" sh -c "curl -sf -H '$auth' http://peftd:8080/v1/models | grep -q '\"object\":\"list\"'"
printf '{"text": "Once upon a time there was a compose file."}\n' > /tmp/smoke.jsonl
file_id=$(curl -sf -H "$auth" -F purpose=fine-tune -F file=@/tmp/smoke.jsonl http://peftd:8080/v1/files \
  | sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p')
check "API stores an uploaded JSONL file ($file_id)" test -n "$file_id"
check "the file is in the S3 bucket, byte for byte" sh -c \
  "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user peftd:peftd-local-secret -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
     http://s3:8333/peftd/files/default/$file_id.jsonl | cmp - /tmp/smoke.jsonl"

echo "compose smoke: $((total - failed)) passed, $failed failed"
[ "$failed" = 0 ]
