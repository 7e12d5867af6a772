#!/usr/bin/env bash
# Java 17+ for the Spark engine (pyspark starts a JVM): Debian's openjdk-17-jre-headless, installed with
# apt-get when no `java` of version 17 or later is on the PATH. Idempotent; `make setup` calls it.
set -euo pipefail

java_major() {
  command -v java >/dev/null || { echo 0; return; }
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
}

if [ "$(java_major)" -ge 17 ] 2>/dev/null; then exit 0; fi
echo "install-java: installing Debian openjdk-17-jre-headless (the Spark engine needs Java 17)" >&2
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
(
  flock 9
  if [ "$(java_major)" -lt 17 ] 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    run apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null 2>&1 \
      || { run apt-get update -qq && run apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null; }
  fi
) 9>/tmp/cxw-java-install.lock
[ "$(java_major)" -ge 17 ] || { echo "install-java: no Java 17 after installing openjdk-17-jre-headless" >&2; exit 1; }
