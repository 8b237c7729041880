#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the --slurm tests.
#
#   scripts/slurm-cluster.sh start   # start it, or reuse the one running; waits until the node is idle
#   scripts/slurm-cluster.sh stop    # stop the daemons this script started
#   scripts/slurm-cluster.sh status  # exit 0 when sinfo shows an idle node
#
# Needs root and the Debian packages slurm-wlm and munge. The node is this
# machine (its hostname and CPU count); processes are tracked by
# proctrack/linuxproc and tasks are not bound (task/none), so no cgroups are
# needed; the one partition, `debug`, oversubscribes so that tests can run
# more steps than there are CPUs.
set -euo pipefail

conf_dir=/etc/slurm
conf=$conf_dir/slurm.conf
state=/var/lib/slurm
logs=/var/log/slurm
run=/run/slurm
# The daemons this script started, so that `stop` ends only those.
pids=$run/ppool-test-cluster.pids

idle() {
    sinfo -h -N -o '%t' 2>/dev/null | grep -qx 'idle'
}

write_conf() {
    local host cpus
    host=$(hostname -s)
    cpus=$(nproc)
    mkdir -p "$conf_dir" "$state/slurmctld" "$state/slurmd" "$logs" "$run"
    cat >"$conf" <<EOF
# Written by scripts/slurm-cluster.sh: a one-node test cluster.
ClusterName=ppool-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
StateSaveLocation=$state/slurmctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Seconds before a killed step's processes get SIGKILL, and before a node
# that does not answer is marked down: short, for tests.
KillWait=2
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=30
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown -R munge:munge /etc/munge
    chmod 700 /etc/munge
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 755 /run/munge
    if command -v runuser >/dev/null; then
        runuser -u munge -- /usr/sbin/munged
    else
        su -s /bin/sh munge -c /usr/sbin/munged
    fi
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
        sleep 0.2
    done
    echo "slurm-cluster: munged did not start" >&2
    return 1
}

start() {
    if idle; then
        echo "slurm-cluster: reusing the running cluster"
        return
    fi
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null ||
        { echo "slurm-cluster: slurmctld, slurmd or munged is missing (apt-get install slurm-wlm munge)" >&2; return 1; }
    start_munge
    mkdir -p "$run"
    if ! pgrep -x slurmctld >/dev/null; then
        write_conf
        /usr/sbin/slurmctld
        echo "slurmctld" >>"$pids"
    fi
    if ! pgrep -x slurmd >/dev/null; then
        /usr/sbin/slurmd
        echo "slurmd" >>"$pids"
    fi
    for _ in $(seq 150); do
        if idle; then
            echo "slurm-cluster: node $(hostname -s) is idle"
            return
        fi
        # A node left down by an earlier run comes back by hand.
        if sinfo -h -N -o '%t' 2>/dev/null | grep -Eq '^(down|drain|drng|fail)'; then
            scontrol update NodeName="$(hostname -s)" State=RESUME 2>/dev/null || true
        fi
        sleep 0.2
    done
    echo "slurm-cluster: the node did not become idle; see $logs/slurmctld.log and $logs/slurmd.log" >&2
    sinfo >&2 || true
    return 1
}

stop_daemon() {
    local name=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    echo "slurm-cluster: $name did not stop on SIGTERM; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

stop() {
    [ -s "$pids" ] || { echo "slurm-cluster: no cluster started by this script is running"; return 0; }
    grep -qx slurmd "$pids" && stop_daemon slurmd "$run/slurmd.pid"
    grep -qx slurmctld "$pids" && stop_daemon slurmctld "$run/slurmctld.pid"
    rm -f "$pids"
    echo "slurm-cluster: stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) idle ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
