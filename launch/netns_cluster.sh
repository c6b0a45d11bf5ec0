#!/usr/bin/env bash
# A cluster of N "nodes" on this one machine, for trying and testing multi-node runs: each node is a
# network namespace with its own interface (eth0), address and host name, all joined by veth pairs to
# one bridge. Ranks on different nodes talk over TCP through the bridge, as on a real Ethernet
# cluster; ranks on the same node share memory. As root; needs iproute2 and util-linux (unshare).
#   launch/netns_cluster.sh start DIR N            # node1..nodeN; prints: . DIR/env.sh
#   launch/netns_cluster.sh exec DIR NODE CMD...   # CMD on NODE (its network, its host name)
#   launch/netns_cluster.sh shape DIR RATE|off     # every node's link: tbf at RATE (1gbit, 10gbit)
#   launch/netns_cluster.sh link DIR NODE up|down  # plug / unplug one node's cable
#   launch/netns_cluster.sh kill DIR NODE [SIGNAL] # every process on NODE (default KILL; STOP freezes)
#   launch/netns_cluster.sh slurm DIR [CPUS]       # slurmctld + one slurmd per node (CPUS each)
#   launch/netns_cluster.sh stop DIR               # kill everything on the nodes, remove it all
# DIR holds hosts (an OpenMPI host file, 2 slots per node unless SLOTS is set), env.sh (what mpirun
# needs: the launch agent, the TCP interfaces) and, with slurm, slurm.conf. Addresses are
# 10.211.X.0/24 with X picked per cluster, so several clusters can run at once; only addresses
# given to these namespaces are used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
self=$here/netns_cluster.sh
usage() { sed -n '6,13p' "$self" >&2; exit 2; }
cmd=${1:-}; [ -n "$cmd" ] || usage
dir=${2:-}; [ -n "$dir" ] || usage
die() { echo "netns_cluster.sh: $*" >&2; exit 1; }
. "$here/slurm_common.sh"

ns_of() { echo "an$(cat "$dir/id")-$1"; }        # namespace of node $1
veth_of() { echo "an$(cat "$dir/id")n${1#node}"; }  # the machine's end of node $1's cable
nodes() { cat "$dir/nodes"; }

exec_on() {  # node, command...: in the node's namespace, with the node's host name
  local node=$1; shift
  grep -qx "$node" "$dir/nodes" 2>/dev/null || die "no node $node in $dir (nodes: $(tr '\n' ' ' <"$dir/nodes" 2>/dev/null))"
  # shellcheck disable=SC1091
  . "$dir/env.sh"
  local ns
  ns=$(ns_of "$node")
  # Only the network is the node's own (not ip netns exec, which also hides the machine's cgroups
  # that slurmd needs); a private mount namespace gives it its /etc/hosts and its own DIR/node-local
  # (a local disk: PMIx's folders must not meet another node's), a UTS one its name.
  exec nsenter --net="/run/netns/$ns" unshare --mount --uts sh -c \
    'mount --bind "$1" /etc/hosts && mount --bind "$2" "$3" && hostname "$0" && shift 3 && exec "$@"' \
    "$node" "/etc/netns/$ns/hosts" "$dir/local/$node" "$dir/node-local" "$@"
}

stop_slurm() { [ -d "$dir/slurm" ] && stop_pidfiles "$dir"/slurm/*.pid || true; }

stop() {
  [ -f "$dir/id" ] || return 0
  stop_slurm
  local id ns
  id=$(cat "$dir/id")
  for node in $(nodes); do
    ip netns pids "$(ns_of "$node")" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  for node in $(nodes); do
    ns=$(ns_of "$node")
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  ip link del "anbr$id" 2>/dev/null || true
  rm -rf "/run/alexnet-netns/$id"
  rm -f "$dir/id"
}

case "$cmd" in
  exec) [ $# -ge 4 ] || usage; exec_on "$3" "${@:4}" ;;
  stop) stop; exit 0 ;;
  start) ;;
  shape|link|kill|slurm) [ -f "$dir/id" ] || die "no cluster in $dir (start one first)" ;;
  *) usage ;;
esac
[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces)"

case "$cmd" in
  start)
    n=${3:-}; [[ "$n" =~ ^[1-9][0-9]*$ ]] && [ "$n" -le 32 ] || die "start: N must be 1..32, got '${3:-}'"
    for b in ip unshare nsenter tc; do command -v $b >/dev/null || die "$b missing (apt-get install iproute2 util-linux)"; done
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    stop
    # Clusters whose folder is gone (a test killed before its teardown): removed first.
    mkdir -p /run/alexnet-netns
    for lock in /run/alexnet-netns/*/; do
      [ -d "$lock" ] || continue
      old=$(cat "$lock/dir" 2>/dev/null || true)
      [ -n "$old" ] && [ -d "$old" ] && continue
      ( dir=$(mktemp -d) && basename "$lock" >"$dir/id" &&
        for ns in $(ip netns list | awk '{print $1}' | grep "^an$(basename "$lock")-node"); do echo "${ns#*-}"; done >"$dir/nodes" &&
        "$self" stop "$dir"; rm -rf "$dir" "$lock" )
    done
    # A free cluster number: no bridge of that name yet (mkdir on /run as the lock).
    id=""
    for try in $(seq 200); do
      c=$(( (RANDOM % 250) + 1 ))
      mkdir "/run/alexnet-netns/$c" 2>/dev/null || continue
      if ip link show "anbr$c" >/dev/null 2>&1; then continue; fi
      id=$c; break
    done
    [ -n "$id" ] || die "no free cluster number"
    echo "$dir" >"/run/alexnet-netns/$id/dir"
    echo "$id" >"$dir/id"
    seq -f "node%g" 1 "$n" >"$dir/nodes"
    trap 'rc=$?; [ $rc -eq 0 ] || { stop; rm -rf "/run/alexnet-netns/$id"; }' EXIT
    net=10.211.$id
    ip link add "anbr$id" type bridge
    ip addr add "$net.254/24" dev "anbr$id"  # the machine itself, for slurmctld and the clients
    ip link set "anbr$id" up
    hosts="127.0.0.1 localhost"$'\n'"$net.254 ctl-$id"
    for k in $(seq "$n"); do hosts+=$'\n'"$net.$k node$k"; done
    : >"$dir/hosts"
    for k in $(seq "$n"); do
      ns=an$id-node$k
      ip netns add "$ns"
      ip link add "$(veth_of "node$k")" type veth peer name eth0 netns "$ns"
      ip link set "$(veth_of "node$k")" master "anbr$id" up
      ip -n "$ns" addr add "$net.$k/24" dev eth0
      ip -n "$ns" link set eth0 up
      ip -n "$ns" link set lo up
      mkdir -p "/etc/netns/$ns"  # mounted over /etc/hosts on the node: the nodes know each other
      echo "$hosts" >"/etc/netns/$ns/hosts"
      echo "node$k slots=${SLOTS:-2}" >>"$dir/hosts"
      mkdir -p "$dir/local/node$k" "$dir/node-local"
    done
    cat >"$dir/launch-agent" <<AGENT
#!/bin/sh
# OpenMPI's launch agent for this cluster (plm_rsh_agent): "launch-agent NODE COMMAND..." runs the
# command on NODE through its shell, as ssh would.
while [ "\${1#-}" != "\$1" ]; do shift; done  # ssh-style options, if any
node=\$1; shift
exec "$self" exec "$dir" "\$node" sh -c "\$*"
AGENT
    chmod +x "$dir/launch-agent"
    cat >"$dir/env.sh" <<ENV
# OpenMPI across the nodes of $dir: daemons started through the launch agent, TCP on the nodes'
# own interface only (never lo between nodes), session folders (shared-memory files included) on
# each node's own disk, not in the /tmp all nodes share: a killed node leaves them in $dir.
export OMPI_MCA_plm_rsh_agent=$dir/launch-agent
export OMPI_MCA_btl_tcp_if_include=eth0 OMPI_MCA_oob_tcp_if_include=eth0
export OMPI_MCA_orte_tmpdir_base=$dir/node-local
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ENV
    echo ". $dir/env.sh"
    ;;
  shape)
    rate=${3:?usage: shape DIR RATE|off}
    for node in $(nodes); do
      ns=$(ns_of "$node") veth=$(veth_of "$node")
      tc -n "$ns" qdisc del dev eth0 root 2>/dev/null || true
      tc qdisc del dev "$veth" root 2>/dev/null || true
      [ "$rate" = off ] && continue
      # Both ends of the cable (the node's eth0, the machine's veth): the rate holds both ways.
      # burst: at least rate x 1 ms and the MTU; latency: how long a packet may queue.
      tbf=(root tbf rate "$rate" burst "${BURST:-256kb}" latency "${QUEUE_LATENCY:-50ms}")
      { tc -n "$ns" qdisc add dev eth0 "${tbf[@]}" && tc qdisc add dev "$veth" "${tbf[@]}"; } ||
        die "tc tbf at $rate failed on $node"
    done
    ;;
  link)
    node=${3:?usage: link DIR NODE up|down}; state=${4:?usage: link DIR NODE up|down}
    case "$state" in up|down) ;; *) die "link: up or down, got $state" ;; esac
    ip -n "$(ns_of "$node")" link set eth0 "$state"
    ;;
  kill)
    node=${3:?usage: kill DIR NODE [SIGNAL]}
    ip netns pids "$(ns_of "$node")" | xargs -r kill -"${4:-KILL}"
    ;;
  slurm)
    cpus=${3:-2}
    for b in munged mungekey slurmctld slurmd sinfo; do
      command -v $b >/dev/null || die "$b missing (apt-get install slurmctld slurmd slurm-client munge)"
    done
    id=$(cat "$dir/id"); s=$dir/slurm
    stop_slurm
    rm -rf "$s/state" "$s"/spool-* "$s/log"  # a new cluster: no jobs, no state from an earlier one
    trap 'rc=$?; [ $rc -eq 0 ] || stop_slurm' EXIT
    mkdir -p "$s/state"
    chmod 711 "$dir"
    # One munged serves every node: its socket is a file, and files are shared.
    start_munged "$s"
    echo "PMIxCliTmpDirBase=$dir/node-local" >"$s/mpi.conf"
    {
      echo "ClusterName=alexnet-netns-$id"
      echo "SlurmctldHost=ctl-$id(10.211.$id.254)"
      echo "SlurmctldPort=$((16900 + id))"
      echo "SlurmdPort=16818"
      slurm_conf_common "$s"
      cat <<CONF
SlurmdSpoolDir=$s/spool-%n
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd-%n.pid
SlurmctldLogFile=$s/log/slurmctld.log
SlurmdLogFile=$s/log/slurmd-%n.log
CONF
      for node in $(nodes); do echo "NodeName=$node NodeAddr=10.211.$id.${node#node} CPUs=$cpus State=UNKNOWN"; done
      echo "PartitionName=ci Nodes=ALL Default=YES MaxTime=60 State=UP"
    } >"$s/slurm.conf"
    # slurmctld runs on the machine itself (the bridge's address), under the controller's name.
    unshare --uts sh -c 'hostname "$0" && exec slurmctld -f "$1"' "ctl-$id" "$s/slurm.conf" ||
      die "slurmctld did not start: $(tail -n 3 "$s/log/slurmctld.log" 2>/dev/null)"
    for node in $(nodes); do
      mkdir -p "$s/spool-$node"
      # slurmd -N: which node it is; its children (the jobs' steps) inherit the namespace and name.
      "$self" exec "$dir" "$node" slurmd -f "$s/slurm.conf" -N "$node" ||
        die "slurmd on $node did not start: $(tail -n 3 "$s/log/slurmd-$node.log" 2>/dev/null)"
    done
    for _ in $(seq 100); do
      [ "$(SLURM_CONF=$s/slurm.conf sinfo -h -o %t 2>/dev/null | sort -u)" = idle ] &&
        { echo "export SLURM_CONF=$s/slurm.conf"; exit 0; }
      sleep 0.2
    done
    die "the nodes did not become idle: $(SLURM_CONF=$s/slurm.conf sinfo 2>&1); logs in $s/log"
    ;;
esac
