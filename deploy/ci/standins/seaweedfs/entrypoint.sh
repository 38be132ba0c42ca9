#!/bin/sh
# Reads the data dir, S3 port and the first identity's credentials from SeaweedFS's arguments and s3.json.
set -eu
dir=/data port=8333 config=""
for arg in "$@"; do
  case "$arg" in
    -dir=*) dir=${arg#-dir=} ;;
    -s3.port=*) port=${arg#-s3.port=} ;;
    -s3.config=*) config=${arg#-s3.config=} ;;
  esac
done
[ -n "$config" ] || { echo "stand-in needs -s3.config" >&2; exit 2; }
flat=$(tr -d ' \n' < "$config")
access=$(printf '%s' "$flat" | sed -n 's/.*"accessKey":"\([^"]*\)".*/\1/p')
secret=$(printf '%s' "$flat" | sed -n 's/.*"secretKey":"\([^"]*\)".*/\1/p')
[ -n "$access" ] && [ -n "$secret" ] || { echo "no credentials in $config" >&2; exit 2; }
mkdir -p "$dir"
cat > /tmp/s3proxy.conf <<CONF
s3proxy.endpoint=http://0.0.0.0:$port
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$access
s3proxy.credential=$secret
jclouds.provider=filesystem
jclouds.filesystem.basedir=$dir
CONF
exec java -jar /opt/s3proxy.jar --properties /tmp/s3proxy.conf
