#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost, for testing the Slurm executor.
#
#   sudo tools/local_slurm.sh up       # install (first time), configure, start, wait until idle
#   export SLURM_CONF=/tmp/seqlab-slurm/slurm.conf   # what `up` prints; sinfo/sbatch need it
#   tools/local_slurm.sh status        # sinfo
#   sudo tools/local_slurm.sh down     # stop the daemons this script started (by pid)
#
# Debian's slurm-wlm (22.05) and munge. What matters (see ENVIRONMENT-NOTES.md):
# proctrack/linuxproc and task/none with no cgroup.conf (22.05 refuses CgroupPlugin=disabled
# and slurmd then dies), SlurmUser=root, ReturnToService=2, the node named by the host name,
# CPUs from nproc, a modest RealMemory; munged runs as `munge` with its key owned by `munge`.
#
# `up` also links /etc/slurm/slurm.conf to the config when the machine has none, so that plain
# `sinfo`/`sbatch` find it; otherwise export SLURM_CONF as `up` prints.
#
# Environment: SEQLAB_SLURM_DIR (state dir, default /tmp/seqlab-slurm),
# SEQLAB_SLURM_TIMEOUT (seconds to wait for the node to be idle, default 90).
# Exit status: 0 ok, 1 failure, 2 not root / bad usage, 3 apt-get failed (no network?).
set -euo pipefail

STATE="${SEQLAB_SLURM_DIR:-/tmp/seqlab-slurm}"
TIMEOUT="${SEQLAB_SLURM_TIMEOUT:-90}"
CONF="$STATE/slurm.conf"
export SLURM_CONF="$CONF"

say() { echo "local_slurm: $*"; }
die() { echo "local_slurm: error: $1" >&2; exit "${2:-1}"; }

need_root() {
  [[ "$(id -u)" == 0 ]] || die "'$1' needs root (it installs packages and starts munged, slurmctld, slurmd); run it as root or with sudo" 2
}

alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
     && command -v munged >/dev/null && command -v sinfo >/dev/null; then
    say "slurm-wlm and munge already installed"
    return
  fi
  # Keep the packages' init scripts from starting daemons with no config during the install;
  # this script starts them itself, and only what it starts does `down` stop.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  say "apt-get update"
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$STATE/apt.log" 2>&1 || rc=$?
  if [[ $rc == 0 ]]; then
    say "apt-get install slurm-wlm munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slurm-wlm munge >>"$STATE/apt.log" 2>&1 || rc=$?
  fi
  if [[ $own_policy == 1 ]]; then rm -f "$policy"; fi
  if [[ $rc != 0 ]]; then
    tail -n 5 "$STATE/apt.log" >&2 || true
    die "apt-get failed (status $rc; no network?); full log: $STATE/apt.log" 3
  fi
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged already answering"
    return
  fi
  local key=/etc/munge/munge.key
  if [[ ! -s "$key" ]]; then
    say "creating munge key $key"
    mkdir -p /etc/munge
    dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
  fi
  say "munge key owned by munge, mode 400; /run/munge owned by munge"
  chown munge:munge "$key" && chmod 400 "$key"
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 755 /run/munge
  say "starting munged (as munge)"
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null || die "munged does not answer; see /var/log/munge/munged.log"
  cp /run/munge/munged.pid "$STATE/munged.pid"
}

write_config() {
  local node cpus mem_mb
  node="$(hostname -s)"
  cpus="$(nproc)"
  # Half the machine's memory: slurmd drains a node that reports less than RealMemory.
  mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 2048 ))
  say "writing $CONF (node $node, CPUs=$cpus, RealMemory=${mem_mb}M)"
  mkdir -p "$STATE/ctld" "$STATE/spool"
  cat >"$CONF" <<EOF
# Written by tools/local_slurm.sh: a single-node test cluster.
ClusterName=seqlab
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Finished jobs stay visible to scontrol for an hour (there is no accounting database).
MinJobAge=3600
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  # Let sinfo/sbatch find it without SLURM_CONF, unless the machine has a Slurm config of its own.
  local etc=/etc/slurm/slurm.conf
  if [[ ! -e "$etc" || "$(readlink "$etc" || true)" == "$CONF" ]]; then
    say "linking $etc -> $CONF"
    mkdir -p /etc/slurm
    ln -sfn "$CONF" "$etc"
  else
    say "$etc exists and is not ours: use SLURM_CONF=$CONF"
  fi
}

node_state() { sinfo -h -n "$(hostname -s)" -o %t 2>/dev/null | head -n 1 || true; }

up() {
  need_root up
  mkdir -p "$STATE"
  install_packages
  start_munge
  write_config
  if alive "$STATE/slurmctld.pid"; then
    say "slurmctld already running (pid $(cat "$STATE/slurmctld.pid")); reconfiguring"
    scontrol reconfigure >/dev/null 2>&1 || true
  else
    say "starting slurmctld"
    slurmctld -f "$CONF" || die "slurmctld did not start; see $STATE/slurmctld.log"
  fi
  if alive "$STATE/slurmd.pid"; then
    say "slurmd already running (pid $(cat "$STATE/slurmd.pid"))"
  else
    say "starting slurmd"
    slurmd -f "$CONF" || die "slurmd did not start; see $STATE/slurmd.log"
  fi
  say "waiting up to ${TIMEOUT}s for node $(hostname -s) to be idle"
  local state="" waited=0
  while (( waited < TIMEOUT * 2 )); do
    state="$(node_state)"
    case "$state" in
      idle|mix|mixed|alloc|allocated) break ;;
    esac
    sleep 0.5
    waited=$(( waited + 1 ))
  done
  case "$state" in
    idle|mix|mixed|alloc|allocated) ;;
    *) die "node not idle after ${TIMEOUT}s (state '${state:-none}'); see $STATE/slurmctld.log and $STATE/slurmd.log" ;;
  esac
  say "up: node $(hostname -s) is $state (slurmctld pid $(cat "$STATE/slurmctld.pid"), slurmd pid $(cat "$STATE/slurmd.pid"))"
  say "export SLURM_CONF=$CONF"
}

stop_pid() {
  local name="$1" file="$STATE/$1.pid"
  if ! alive "$file"; then
    say "$name not running (no live pid in $file)"
    rm -f "$file"
    return
  fi
  local pid
  pid="$(cat "$file")"
  say "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name (pid $pid) still running after 10s; SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

down() {
  need_root down
  # slurmd first, so that it does not log the controller going away.
  stop_pid slurmd
  stop_pid slurmctld
  stop_pid munged  # only when this script started it (its pid was recorded)
  say "down"
}

status() {
  for name in munged slurmctld slurmd; do
    if alive "$STATE/$name.pid"; then
      say "$name running (pid $(cat "$STATE/$name.pid"))"
    else
      say "$name not started by this script"
    fi
  done
  if [[ -f "$CONF" ]] && command -v sinfo >/dev/null; then
    sinfo || say "sinfo failed: slurmctld not answering"
  else
    say "no cluster configured under $STATE"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
