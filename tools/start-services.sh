#!/usr/bin/env bash
# Start RabbitMQ, PostgreSQL and MariaDB on this machine if they do not answer, and make
# sure lvm2 and qemu-utils are installed for the driver tests. Used by tools/run-tests.sh.
# Tests against services elsewhere (e.g. containers from tools/compose.yaml) set
# VOLMGR_TEST_RABBIT_URL / VOLMGR_TEST_PG_URL and VOLMGR_SKIP_SERVICE_START=1.
set -uo pipefail

[ "${VOLMGR_SKIP_SERVICE_START:-}" = "1" ] && exit 0

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    for _ in $(seq 1 60); do
        answers "$1" && return 0
        sleep 1
    done
    echo "service on port $1 did not start" >&2
    return 1
}

if ! answers 5672; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached || true
    wait_port 5672 && rabbitmqctl await_startup >/dev/null 2>&1 || true
fi

if ! answers 5432; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    wait_port 5432 || true
fi

if ! answers 3306; then
    echo "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    wait_port 3306 || true
fi

if ! command -v lvcreate >/dev/null 2>&1 || ! command -v qemu-img >/dev/null 2>&1; then
    echo "installing lvm2 and qemu-utils"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lvm2 qemu-utils) \
        >/dev/null || echo "could not install lvm2/qemu-utils; the driver tests will fail and say why" >&2
fi
exit 0
