#!/usr/bin/env bats
# Container networks as root (net/net.h): kiln's bridge, published ports (-p, -P,
# UDP), a host port in use, and what `system check --repair` finds after monitors
# are killed.  Servers are busybox's httpd and a small UDP echo (udpecho.c) in
# images built by kiln; every host port is a free one found at the time.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  # A network's bridge outlives its last container by this long (default 2 s).
  export KILN_NET_IDLE_MS=500
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
  # web: an httpd that answers with $MSG; udp: an echo server; both EXPOSEd.
  local d
  d=$(dirname "$KILN_ROOT")/netctx
  mkdir -p "$d"
  gcc -static -O2 -o "$d/udpecho" "$BATS_TEST_DIRNAME/udpecho.c"
  cat >"$d/Dockerfile" <<'EOF'
FROM busybox
COPY udpecho /bin/udpecho
EXPOSE 8080 9999/udp
CMD ["sh", "-c", "mkdir -p /www && echo \"$MSG\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
EOF
  "$KILN" build -q -t web:1 "$d" >/dev/null
}

teardown_file() {
  local ids
  ids=$("$KILN" ps -aq --no-trunc 2>/dev/null) || true
  [ -z "$ids" ] || "$KILN" rm -f $ids >/dev/null 2>&1 || true
  "$KILN" system check --repair >/dev/null 2>&1 || true
  rm -rf "$(dirname "$KILN_ROOT")"
}

# until_true SECONDS CMD...: retries CMD every 0.1 s for at most SECONDS.
until_true() {
  local n=$(($1 * 10))
  shift
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
  "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# get URL: the body, or fails.
get() { curl -fsS -m 3 "$1"; }

answers() { [ "$(get "$1" 2>/dev/null)" = "$2" ]; }

# udp_echo PORT TEXT: sends TEXT to 127.0.0.1:PORT over UDP, prints the answer.
udp_echo() {
  python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(10):
    s.sendto(sys.argv[2].encode(), ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recv(1500).decode()); break
    except socket.timeout:
        pass
EOF
}

inspect_field() {
  kiln inspect --type container "$1" | python3 -c "import json,sys; d=json.load(sys.stdin)[0]; print($2)"
}

monitor_pid() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Kiln"]["MonitorPid"])' \
    "$KILN_ROOT/containers/$1/state.json"
}

# The names of this store's bridges and veths (kiln-<fnv1a(root, network id)>,
# vk<8 of the container's id><4 of fnv1a(network id)>) and its subnets, one a
# line, so that another store's containers on the host (other bats files, other
# users) never count as this store's leftovers.
store_nets() {
  local ids
  ids=$(kiln network ls -q --no-trunc 2>/dev/null) || true
  python3 - "$KILN_ROOT" $ids <<'EOF'
import sys
def fnv(a, b):
    h = 2166136261
    for c in a.encode() + b"\0" + b.encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return h
for i in sys.argv[2:]:
    print("bridge kiln-%08x" % fnv(sys.argv[1], i))
    print("veth %04x" % (fnv(i, "") & 0xffff))
EOF
  [ -z "$ids" ] || kiln network inspect $ids 2>/dev/null | python3 -c '
import json, sys
for n in json.load(sys.stdin):
    for c in (n.get("IPAM") or {}).get("Config") or []:
        if c.get("Subnet"): print("subnet", c["Subnet"])' || true
}

# What this store holds on the host: veths, bridges, DNAT elements into its
# subnets, its rules in docker's chain.
host_pieces() {
  python3 - "$(store_nets)" <<'EOF'
import ipaddress, re, subprocess, sys
bridges, veths, subnets = set(), set(), []
for line in sys.argv[1].splitlines():
    kind, v = line.split(" ", 1)
    if kind == "bridge": bridges.add(v)
    elif kind == "veth": veths.add(v)
    else: subnets.append(ipaddress.ip_network(v))
def run(*a):
    return subprocess.run(a, capture_output=True, text=True).stdout
for l in run("ip", "-br", "link").splitlines():
    name = l.split()[0].split("@")[0]
    if name in bridges or (re.fullmatch(r"vk[0-9a-f]{12}", name) and name[-4:] in veths):
        print(name)
for m in ("ports_any", "ports_ip"):
    for l in run("nft", "list", "map", "ip", "kiln", m).splitlines():
        for el in re.findall(r"([0-9a-z. ]+ : ([0-9.]+) \. [0-9]+)", l):
            if any(ipaddress.ip_address(el[1]) in s for s in subnets):
                print(m, el[0].strip())
for l in run("nft", "list", "chain", "ip", "filter", "DOCKER-USER").splitlines():
    mk = re.search(r'comment "kiln:([^"]+)"', l)
    if mk and mk.group(1) in bridges:
        print(l.strip())
EOF
}

# This store's links only (no_host_pieces without the rules).
no_store_links() { [ -z "$(host_pieces | grep -E '^(vk|kiln-)')" ]; }

# The kernel removes a veth with its namespace, and a network's last container
# leaves its bridge to a process of its own: both a moment after the command.
no_host_pieces() {
  local p
  p=$(host_pieces)
  [ -z "$p" ] || { echo "left on the host: $p"; return 1; }
}

@test "default bridge: an address of its own, /etc/hosts names it, none and host stay as they were" {
  run kiln run --rm busybox sh -c 'ip -4 -o addr show eth0; ip route; cat /etc/hosts; hostname'
  [ "$status" -eq 0 ]
  [[ "$output" =~ eth0\ +inet\ (10\.[0-9]+\.[0-9]+\.[0-9]+)/24 ]]
  addr=${BASH_REMATCH[1]}
  [[ "$output" == *"default via "* ]]
  host=$(tail -1 <<<"$output")
  grep -qx "$addr	$host" <<<"$output"
  run kiln run --rm --network none busybox sh -c 'ls /sys/class/net'
  [ "$output" = lo ]
  run kiln run --rm --network host busybox sh -c 'ls /sys/class/net'
  [[ "$output" == *eth0* ]]
  # The bridge goes a moment (KILN_NET_IDLE_MS) after its last container.
  until_true 5 no_host_pieces
}

@test "the bridge outlives its last container for KILN_NET_IDLE_MS: the next run finds it, then it goes" {
  until_true 5 no_host_pieces
  # Long enough for the checks below on a loaded machine; the later run's
  # shorter wait replaces it.
  KILN_NET_IDLE_MS=30000 kiln run --rm busybox true
  br=$(host_pieces | grep '^kiln-')
  [ -n "$br" ]
  idx=$(cat "/sys/class/net/$br/ifindex")
  # Not a leftover while it waits.
  run kiln system check
  [ "$status" -eq 0 ]
  KILN_NET_IDLE_MS=300 kiln run --rm busybox true
  [ "$(cat "/sys/class/net/$br/ifindex")" = "$idx" ]
  # The later run's wait wins: gone well before the first's 30 s.
  until_true 2 no_host_pieces
  [ -z "$(ls "$KILN_ROOT" | grep '^net-idle-')" ]
  # network rm takes an idle bridge with it at once.
  kiln network create idlenet >/dev/null
  KILN_NET_IDLE_MS=30000 kiln run --rm --network idlenet busybox true
  br=$(host_pieces | grep '^kiln-')
  [ -n "$br" ]
  kiln network rm idlenet >/dev/null
  run ip link show "$br"
  [ "$status" -ne 0 ]
}

@test "build --add-host: RUN steps' /etc/hosts has the lines (host-gateway: the host), part of the cache key" {
  d=$(dirname "$KILN_ROOT")/addhost
  mkdir -p "$d"
  printf 'FROM busybox\nRUN grep -v localhost /etc/hosts > /hosts.txt\n' >"$d/Dockerfile"
  kiln build -q -t ah:1 --add-host db:10.1.2.3 --add-host gw:host-gateway "$d" >/dev/null
  run kiln run --rm --network none ah:1 cat /hosts.txt
  [ "${lines[0]}" = "$(printf '127.0.1.1\tbuildkitsandbox')" ]
  [ "${lines[1]}" = "$(printf '10.1.2.3\tdb')" ]
  hostip=$(ip -4 -o route get 192.0.2.123 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
  [ "${lines[2]}" = "$(printf '%s\tgw' "${hostip:-10.0.2.2}")" ]
  # The same hosts: cached; others: the step runs again.
  run kiln build --progress plain --add-host db:10.1.2.3 --add-host gw:host-gateway "$d"
  [[ "$output" == *"CACHED"* ]]
  run kiln build --progress plain --add-host db:10.9.9.9 "$d"
  [[ "$output" != *"CACHED"* ]]
  run kiln build --add-host 'a b:1.2.3.4' "$d"
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid argument "a b:1.2.3.4" for "--add-host" flag: invalid host name'* ]]
  run kiln build --add-host db:nope "$d"
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid IP address in add-host: "nope"'* ]]
}

@test "-p with an IPv6 host address is refused, not accepted and ignored" {
  run kiln run --rm -p '[::1]:8080:80' busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"IPv6 host address ::1 in [::1]:8080:80: kiln's networks are IPv4 only"* ]]
  run kiln create --name v6 -p '[::]:8080:80' busybox true
  [ "$status" -ne 0 ]
  run kiln ps -a
  [[ "$output" != *v6* ]]
}

@test "two services on :8080 published on two host ports both answer (127.0.0.1, the host's address, another container)" {
  p1=$(free_port) p2=$(free_port)
  kiln run -d --name svc1 -e MSG=one -p "$p1:8080" web:1 >/dev/null
  kiln run -d --name svc2 -e MSG=two -p "127.0.0.1:$p2:8080" web:1 >/dev/null
  until_true 5 answers "http://127.0.0.1:$p1/" one
  until_true 5 answers "http://127.0.0.1:$p2/" two
  hostip=$(ip -4 -o route get 192.0.2.123 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
  [ -z "$hostip" ] || [ "$(get "http://$hostip:$p1/")" = one ]
  # Another container reaches svc1 through its gateway (hairpin through the host).
  gw=$(inspect_field svc1 'd["NetworkSettings"]["Gateway"]')
  run kiln run --rm busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $gw $p1 | tail -1"
  [ "$output" = one ]
  # docker's shapes: port, ps, inspect.
  run kiln port svc1
  [ "$output" = "8080/tcp -> 0.0.0.0:$p1" ]
  run kiln port svc2 8080
  [ "$output" = "127.0.0.1:$p2" ]
  run kiln port svc2 9999/udp
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: No public port '9999/udp' published for "* ]]
  run kiln ps
  [[ "$output" =~ 0\.0\.0\.0:$p1-\>8080/tcp\ +svc1 ]]
  [[ "$output" =~ 127\.0\.0\.1:$p2-\>8080/tcp\ +svc2 ]]
  [ "$(inspect_field svc1 'd["NetworkSettings"]["Ports"]["8080/tcp"]')" = "[{'HostIp': '0.0.0.0', 'HostPort': '$p1'}]" ]
  [ "$(inspect_field svc1 'd["NetworkSettings"]["Ports"]["9999/udp"]')" = None ]
  [ "$(inspect_field svc1 'd["HostConfig"]["PortBindings"]')" = "{'8080/tcp': [{'HostIp': '', 'HostPort': '$p1'}]}" ]
  ip1=$(inspect_field svc1 'd["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]')
  ip2=$(inspect_field svc2 'd["NetworkSettings"]["IPAddress"]')
  [[ "$ip1" =~ ^10\. ]] && [[ "$ip2" =~ ^10\. ]] && [ "$ip1" != "$ip2" ]
  kiln rm -f svc1 svc2 >/dev/null
  # Nothing of theirs is left on the host.
  refute answers "http://127.0.0.1:$p1/" one
  until_true 5 no_host_pieces
}

@test "-P publishes the image's EXPOSE and --expose on free host ports; a published UDP port answers" {
  kiln run -d --name pall -e MSG=all --expose 7000 -P web:1 >/dev/null
  run kiln port pall
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[0]}" =~ ^7000/tcp\ -\>\ 0\.0\.0\.0:[0-9]+$ ]]
  [[ "${lines[1]}" =~ ^8080/tcp\ -\>\ 0\.0\.0\.0:([0-9]+)$ ]]
  hp=${BASH_REMATCH[1]}
  [[ "${lines[2]}" =~ ^9999/udp\ -\>\ 0\.0\.0\.0:[0-9]+$ ]]
  until_true 5 answers "http://127.0.0.1:$hp/" all
  pu=$(free_port)
  kiln run -d --name udp1 -p "$pu:9999/udp" web:1 udpecho 9999 >/dev/null
  run udp_echo "$pu" ping
  [ "$output" = echo:ping ]
  kiln rm -f pall udp1 >/dev/null
}

@test "a host port in use (by kiln or another process): run fails with docker's message, exit 125, the container exists" {
  p=$(free_port)
  kiln run -d --name holder -p "127.0.0.1:$p:8080" web:1 >/dev/null
  run kiln run -d --name clash -p "127.0.0.1:$p:80" busybox true
  [ "$status" -eq 125 ]
  # docker prints the id once created, then the start's error.
  [[ "${lines[0]}" =~ ^[0-9a-f]{64}$ ]]
  [ "${lines[1]}" = "kiln: driver failed programming external connectivity on endpoint clash (${lines[0]}): Bind for 127.0.0.1:$p failed: port is already allocated" ]
  [[ "$output" == *"driver failed programming external connectivity on endpoint clash ("*"): Bind for 127.0.0.1:$p failed: port is already allocated" ]]
  run kiln ps -a
  grep -Eq ' Created +clash$' <<<"$output"
  # A port some other process listens on.
  q=$(free_port)
  python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$q" &
  py=$!
  until_true 5 sh -c "ss -ltn | grep -q ':$q '"
  run kiln run --name clash2 -p "$q:80" busybox true
  kill "$py"
  [ "$status" -eq 125 ]
  [[ "$output" == *"Bind for 0.0.0.0:$q failed: port is already allocated" ]]
  kiln rm -f holder clash clash2 >/dev/null
  until_true 5 no_host_pieces
}

@test "kill -9 of monitors: system check names the veths' endpoints and rules, --repair leaves none" {
  until_true 5 no_host_pieces
  before=$(host_pieces)
  [ -z "$before" ]
  p1=$(free_port) p2=$(free_port)
  id1=$(kiln run -d --name dead1 -e MSG=again -p "$p1:8080" web:1)
  id2=$(kiln run -d --name dead2 -p "127.0.0.1:$p2:8080" web:1)
  during=$(host_pieces)
  grep -q "^vk${id1:0:8}" <<<"$during"
  grep -q "tcp . $p1 : " <<<"$during"
  grep -q "127.0.0.1 . tcp . $p2 : " <<<"$during"
  m1=$(monitor_pid "$id1") m2=$(monitor_pid "$id2")
  kill -9 "$m1" "$m2"
  until_true 5 sh -c "! kill -0 $m1 2>/dev/null && ! kill -0 $m2 2>/dev/null"
  run kiln system check
  [ "$status" -eq 1 ]
  [[ "$output" == *"leftover: network endpoint "*" of container ${id1:0:12} (its monitor is gone)"* ]]
  [[ "$output" == *"leftover: nftables element ports_any { tcp . $p1 }"* ]]
  [[ "$output" == *"leftover: nftables element ports_ip { 127.0.0.1 . tcp . $p2 }"* ]]
  run kiln system check --repair
  [ "$status" -eq 0 ]
  until_true 5 no_store_links
  after=$(host_pieces)
  [ -z "$after" ]
  run kiln system check
  [ "$status" -eq 0 ]
  # The store's records say exited, and the containers start again.
  kiln start dead1 >/dev/null
  until_true 5 answers "http://127.0.0.1:$p1/" again
  kiln rm -f dead1 dead2 >/dev/null
}

@test "the next command that finds a monitor dead releases its network" {
  p=$(free_port)
  id=$(kiln run -d --name dead3 -p "$p:8080" web:1)
  kill -9 "$(monitor_pid "$id")"
  run kiln ps -a
  grep -Eq ' Exited \(137\) .* dead3$' <<<"$output"
  until_true 5 no_store_links
  until_true 5 no_host_pieces
  kiln rm dead3 >/dev/null
}

@test "user network: containers reach each other by name and by alias, also after one restarts with a new address" {
  kiln network create --label team=a appnet >/dev/null
  kiln run -d --name api --network appnet --network-alias backend -e MSG=api web:1 >/dev/null
  kiln run -d --name client --network appnet busybox sleep 300 >/dev/null
  q() { kiln run --rm --network appnet busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $1 8080 | tail -1"; }
  until_true 5 sh -c "[ \"\$('$KILN' run --rm --network appnet busybox sh -c \"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 api 8080 | tail -1\")\" = api ]"
  [ "$(q backend)" = api ]
  # /etc/hosts has its name and aliases; resolv.conf the network's resolver.
  run kiln run --rm --network appnet --name peer --network-alias p1 busybox cat /etc/hosts /etc/resolv.conf
  [[ "$output" =~ [0-9.]+$'\t'[0-9a-f]{12}\ peer\ p1 ]]
  [[ "$output" == *"nameserver 127.0.0.11"* ]]
  old=$(inspect_field api 'd["NetworkSettings"]["Networks"]["appnet"]["IPAddress"]')
  kiln stop -t 1 api >/dev/null
  # Another container takes its address meanwhile: api comes back on a new one.
  kiln run -d --name filler --network appnet busybox sleep 300 >/dev/null
  kiln start api >/dev/null
  new=$(inspect_field api 'd["NetworkSettings"]["Networks"]["appnet"]["IPAddress"]')
  [ "$old" != "$new" ]
  # The client, started before, resolves the new address at once (its resolver reads the store).
  id=$(kiln inspect -f '{{.Id}}' client)
  mon=$(monitor_pid "$id")
  res=$(ps -o pid=,args= --ppid "$mon" | awk '/container-monitor/ {print $1; exit}')
  [ -n "$res" ]
  until_true 5 sh -c "nsenter -t $res -n sh -c \"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 api 8080\" 2>/dev/null | tail -1 | grep -qx api || nsenter -t $res -n busybox nslookup api 127.0.0.11 | grep -q '$new'"
  run nsenter -t "$res" -n busybox nslookup api 127.0.0.11
  [[ "$output" == *"Address: $new"* ]]
  run nsenter -t "$res" -n busybox nslookup backend 127.0.0.11
  [[ "$output" == *"Address: $new"* ]]
  [ "$(q api)" = api ]
  # The default bridge resolves no container names (docker's semantics).
  run kiln run --rm busybox sh -c "nc -w 2 api 8080 </dev/null"
  [ "$status" -ne 0 ]
  # network rm of a network in use: docker's message; ls and inspect.
  netid=$(kiln network inspect -f '{{.Id}}' appnet)
  run kiln network rm appnet
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: error while removing network: network appnet id $netid has active endpoints
exit status 1" ]
  run kiln network ls --filter label=team=a --format '{{.Name}} {{.Driver}} {{.Scope}}'
  [ "$output" = "appnet bridge local" ]
  run kiln network ls
  [ "${lines[0]}" = "NETWORK ID     NAME      DRIVER    SCOPE" ]
  [[ "$output" =~ [0-9a-f]{12}\ +appnet\ +bridge\ +local ]]
  [[ "$output" =~ [0-9a-f]{12}\ +bridge\ +bridge\ +local ]]
  [[ "$output" =~ [0-9a-f]{12}\ +none\ +null\ +local ]]
  [ "$(kiln network inspect -f '{{len .Containers}} {{.Labels.team}} {{(index .IPAM.Config 0).Gateway}}' appnet | cut -d' ' -f1,2)" = "3 a" ]
  kiln rm -f api client filler >/dev/null
  kiln network rm appnet
  run kiln network inspect appnet
  [ "$status" -eq 1 ]
  until_true 5 no_host_pieces
}

@test "the resolver answers over TCP too; MacAddress is the veth's inside (docker's 02:42 + address); ps collapses port ranges" {
  kiln network create tcpnet >/dev/null
  p=$(free_port)
  until [ "$((p + 2))" -lt 65536 ] && python3 -c "import socket,sys;[socket.socket().bind(('127.0.0.1',int(sys.argv[1])+i)) for i in range(3)]" "$p" 2>/dev/null; do p=$(free_port); done
  kiln run -d --name tc1 --network tcpnet --network-alias tcalias -p "$p-$((p + 2)):$p-$((p + 2))" busybox sleep 300 >/dev/null
  id=$(kiln inspect -f '{{.Id}}' tc1)
  mon=$(monitor_pid "$id")
  res=$(ps -o pid=,args= --ppid "$mon" | awk '/container-monitor/ {print $1; exit}')
  [ -n "$res" ]
  ip=$(inspect_field tc1 'd["NetworkSettings"]["Networks"]["tcpnet"]["IPAddress"]')
  # A question over TCP (two bytes of length, then the query), as a client asks
  # after a truncated UDP answer.
  run nsenter -t "$res" -n python3 - tcalias <<'EOF'
import socket, struct, sys
name = sys.argv[1]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.create_connection(("127.0.0.11", 53), timeout=3)
s.sendall(struct.pack(">H", len(q)) + q)
n = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
a = s.recv(n, socket.MSG_WAITALL)
assert a[:2] == b"\x12\x34" and struct.unpack(">H", a[6:8])[0] >= 1, a
print(socket.inet_ntoa(a[-4:]))
EOF
  [ "$status" -eq 0 ]
  [ "$output" = "$ip" ]
  # MacAddress: inspect, network inspect and the container's own eth0 agree.
  mac=$(inspect_field tc1 'd["NetworkSettings"]["Networks"]["tcpnet"]["MacAddress"]')
  [[ "$mac" =~ ^02:42(:[0-9a-f]{2}){4}$ ]]
  [ "$(printf '02:42:%02x:%02x:%02x:%02x' ${ip//./ })" = "$mac" ]
  [ "$(kiln network inspect -f "{{(index .Containers \"$id\").MacAddress}}" tcpnet)" = "$mac" ]
  run nsenter -t "$res" -n ip -br link show eth0
  [[ "$output" == *" $mac "* ]]
  # ps: a range of ports published on the same range is one entry, as docker shows it.
  run kiln ps --filter name=tc1 --format '{{.Ports}}'
  [ "$output" = "0.0.0.0:$p-$((p + 2))->$p-$((p + 2))/tcp" ]
  kiln rm -f tc1 >/dev/null
  kiln network rm tcpnet >/dev/null
  until_true 5 no_host_pieces
}

@test "--internal blocks a server on the host that a normal network reaches; host-gateway names the host" {
  kiln network create --subnet 10.231.7.0/24 opennet >/dev/null
  kiln network create --internal --subnet 10.231.8.0/24 closednet >/dev/null
  kiln run -d --name keeper --network opennet busybox sleep 300 >/dev/null
  port=$(free_port)
  # The host's server listens on opennet's gateway only.
  python3 -c 'import http.server,sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"fromhost\n")
    def log_message(self, *a): pass
http.server.HTTPServer(("10.231.7.1", int(sys.argv[1])), H).serve_forever()' "$port" &
  srv=$!
  until_true 5 sh -c "ss -ltn | grep -q '10.231.7.1:$port '"
  # Positive control: a container on the normal network reaches it, also as host-gateway.
  run kiln run --rm --network opennet --add-host hostgw:host-gateway busybox sh -c "grep hostgw /etc/hosts; printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 hostgw $port | tail -1"
  [ "${lines[0]}" = "10.231.7.1	hostgw" ]
  [ "${lines[1]}" = fromhost ]
  # The internal network reaches neither that address nor its own gateway.
  run kiln run --rm --network closednet busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 10.231.7.1 $port; echo rc=\$?; ip route"
  kill "$srv"
  [[ "$output" != *fromhost* ]]
  [[ "$output" == *rc=1* ]]
  [[ "$output" != *default* ]]
  kiln rm -f keeper >/dev/null
  kiln network rm opennet closednet >/dev/null
  until_true 5 no_host_pieces
}

@test "--network container:X shares X's stack; a stopped X is refused" {
  kiln run -d --name stackowner -e MSG=shared web:1 >/dev/null
  until_true 5 sh -c "'$KILN' run --rm --network container:stackowner busybox sh -c \"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 127.0.0.1 8080 | tail -1\" | grep -qx shared"
  ipx=$(inspect_field stackowner 'd["NetworkSettings"]["IPAddress"]')
  run kiln run --rm --network container:stackowner busybox sh -c 'ip -4 -o addr show eth0'
  [[ "$output" == *"inet $ipx/"* ]]
  kiln stop -t 1 stackowner >/dev/null
  run kiln run --rm --network container:stackowner busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"cannot join network of a non running container: "* ]]
  kiln rm -f stackowner >/dev/null
}

@test "network create checks its options as docker does; prune removes unused networks" {
  run kiln network create --subnet 10.232.0.0/16 --gateway 10.233.0.1 badgw
  [ "$status" -eq 1 ]
  [[ "$output" == *"no matching subnet for gateway 10.233.0.1"* ]]
  run kiln network create --subnet nonsense badsub
  [[ "$output" == *"invalid CIDR address: nonsense"* ]]
  kiln network create --subnet 10.232.0.0/16 --ip-range 10.232.5.0/24 --mtu 1400 ranged >/dev/null
  run kiln network create --subnet 10.232.4.0/24 overlapping
  [[ "$output" == *"Pool overlaps with other one on this address space"* ]]
  run kiln network create ranged
  [[ "$output" == *"network with name ranged already exists"* ]]
  run kiln run --rm --network ranged busybox sh -c 'ip -o addr show eth0; cat /sys/class/net/eth0/mtu'
  [[ "$output" == *"inet 10.232.5."* ]]
  [[ "$output" == *1400* ]]
  run kiln run --rm --network ranged --ip 10.232.9.9 busybox sh -c 'ip -4 -o addr show eth0'
  [[ "$output" == *"inet 10.232.9.9/16"* ]]
  run kiln run --rm --ip 10.232.9.9 busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"user specified IP address is supported on user defined networks only"* ]]
  run kiln network rm bridge
  [ "$output" = "Error response from daemon: bridge is a pre-defined network and cannot be removed
exit status 1" ]
  run kiln network prune -f
  [ "${lines[0]}" = "Deleted Networks:" ]
  grep -qx ranged <<<"$output"
  run kiln network ls -q --filter type=custom
  [ -z "$output" ]
}

@test "concurrent runs never get the same address; system prune removes unused networks" {
  kiln network create --subnet 10.234.0.0/24 busy >/dev/null
  kiln network create idle >/dev/null
  for i in 1 2 3 4 5 6; do kiln run -d --name par$i busybox sleep 300 >/dev/null & done
  for i in 1 2 3; do kiln run -d --name upar$i --network busy busybox sleep 300 >/dev/null & done
  wait
  run sh -c "for i in 1 2 3 4 5 6; do '$KILN' inspect -f '{{.NetworkSettings.IPAddress}}' par\$i; done | sort | uniq -d"
  [ -z "$output" ]
  run sh -c "for i in 1 2 3 4 5 6; do '$KILN' inspect -f '{{.NetworkSettings.IPAddress}}' par\$i; done | sort -u | wc -l"
  [ "$output" -eq 6 ]
  run sh -c "for i in 1 2 3; do '$KILN' inspect -f '{{.NetworkSettings.Networks.busy.IPAddress}}' upar\$i; done | sort -u"
  [ "${#lines[@]}" -eq 3 ]
  run kiln system prune -f
  [[ "$output" == *"Deleted Networks:"*idle* ]]
  [[ "$output" != *busy* ]]
  kiln rm -f par1 par2 par3 par4 par5 par6 upar1 upar2 upar3 >/dev/null
  kiln network rm busy >/dev/null
  until_true 5 no_host_pieces
}

@test "kill -9 of a foreground kiln run (its own monitor): its network is released" {
  p=$(free_port)
  "$KILN" run --name fg -p "$p:8080" -e MSG=fg web:1 >/dev/null 2>&1 &
  fg=$!
  until_true 5 answers "http://127.0.0.1:$p/" fg
  kill -9 "$fg"
  until_true 5 sh -c "! kill -0 $fg 2>/dev/null"
  run kiln system check
  echo "$output"
  [[ "$output" == *"nftables element ports_any { tcp . $p }"* ]]
  kiln system check --repair >/dev/null
  until_true 5 no_store_links
  until_true 5 no_host_pieces
  refute answers "http://127.0.0.1:$p/" fg
  kiln rm -f fg >/dev/null
}

@test "system check reads the host's links whole while links come and go (a killed container's veth goes so)" {
  # 80 links make the kernel's link dump several messages long; links made and
  # deleted meanwhile mark it interrupted (NLM_F_DUMP_INTR), which once failed
  # the check with "listing links: Interrupted system call".
  for j in $(seq 1 80); do ip link add "kdump$j" type bridge; done
  touch "$BATS_TEST_TMPDIR/churn"
  (
    i=0
    while [ -e "$BATS_TEST_TMPDIR/churn" ] && [ $i -lt 20000 ]; do
      i=$((i + 1))
      ip link add "kchurn$((i % 5))" type bridge 2>/dev/null || true
      ip link del "kchurn$(((i + 2) % 5))" 2>/dev/null || true
    done
  ) &
  churn=$!
  fails=0
  for _ in $(seq 1 60); do
    kiln system check >"$BATS_TEST_TMPDIR/check" 2>&1 || { fails=$((fails + 1)); cat "$BATS_TEST_TMPDIR/check"; }
  done
  rm -f "$BATS_TEST_TMPDIR/churn"
  wait "$churn" || true
  for j in $(seq 1 80); do ip link del "kdump$j"; done
  for j in 0 1 2 3 4; do ip link del "kchurn$j" 2>/dev/null || true; done
  echo "failed checks: $fails"
  [ "$fails" -eq 0 ]
}

@test "network connect and disconnect: a running container gets (and loses) the network at once, a stopped one at its next start" {
  kiln network create left >/dev/null
  kiln network create right >/dev/null
  kiln run -d --name lsrv --network left -e MSG=left web:1 >/dev/null
  kiln run -d --name rsrv --network right -e MSG=right web:1 >/dev/null
  kiln run -d --name walker --network left busybox sleep 300 >/dev/null
  # walk NAME: what walker gets from NAME:8080, through its own namespace.
  walk() {
    local mon res
    mon=$(monitor_pid "$(kiln inspect -f '{{.Id}}' walker)")
    res=$(ps -o pid=,args= --ppid "$mon" | awk '/container-monitor/ {print $1; exit}')
    # The host's mount namespace: its resolv.conf, so the resolver is named.
    addr=$(nsenter -t "$res" -n busybox nslookup "$1" 127.0.0.11 2>/dev/null | awk '/^Address: / {print $2; exit}')
    [ -n "$addr" ] || return 0
    nsenter -t "$res" -n sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 2 $addr 8080 2>/dev/null | tail -1"
  }
  for _ in $(seq 1 50); do [ "$(walk lsrv)" = left ] && break; sleep 0.1; done
  [ "$(walk lsrv)" = left ]
  [ -z "$(walk rsrv)" ]
  kiln network connect --alias rr right walker
  [ "$(walk rsrv)" = right ]
  [ "$(inspect_field walker 'sorted(d["NetworkSettings"]["Networks"])')" = "['left', 'right']" ]
  run kiln network connect right walker
  [ "$status" -eq 1 ]
  [[ "$output" == *"endpoint with name walker already exists in network right"* ]]
  # Its alias resolves for the others on that network.
  run kiln run --rm --network right busybox nslookup rr
  [[ "$output" == *"Name:	rr"* ]]
  kiln network disconnect right walker
  [ -z "$(walk rsrv)" ]
  run kiln network disconnect right walker
  [ "$status" -eq 1 ]
  [[ "$output" == *"is not connected to network right"* ]]
  # A stopped container: connected at its next start.
  kiln stop -t 1 walker >/dev/null
  kiln network connect right walker
  kiln start walker >/dev/null
  [ "$(walk rsrv)" = right ]
  run kiln network rm right
  [ "$status" -eq 1 ]
  kiln rm -f lsrv rsrv walker >/dev/null
  kiln network rm left right >/dev/null
  until_true 5 no_host_pieces
}

@test "networks do not reach each other but through published ports" {
  kiln network create isoa >/dev/null
  kiln network create isob >/dev/null
  p=$(free_port)
  kiln run -d --name isosrv --network isoa -p "$p:8080" -e MSG=isolated web:1 >/dev/null
  until_true 5 answers "http://127.0.0.1:$p/" isolated
  ipa=$(inspect_field isosrv 'd["NetworkSettings"]["Networks"]["isoa"]["IPAddress"]')
  gwb=$(kiln network inspect -f '{{(index .IPAM.Config 0).Gateway}}' isob)
  # Same network: by address. Another network: not by address, but by the published port.
  run kiln run --rm --network isoa busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $ipa 8080 | tail -1"
  [ "$output" = isolated ]
  run kiln run --rm --network isob busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $ipa 8080 2>/dev/null | tail -1"
  [ -z "$output" ]
  run kiln run --rm --network isob busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $gwb $p | tail -1"
  [ "$output" = isolated ]
  kiln rm -f isosrv >/dev/null
  kiln network rm isoa isob >/dev/null
  until_true 5 no_host_pieces
}

@test "a start after a monitor died while attaching: the leftover endpoint does not stop it" {
  command -v sqlite3 >/dev/null || skip "no sqlite3"
  kiln create --name halfway busybox sleep 300 >/dev/null
  id=$(kiln inspect -f '{{.Id}}' halfway)
  kiln network ls >/dev/null # the predefined networks
  nid=$(kiln network inspect -f '{{.Id}}' bridge)
  # What a monitor killed between recording the address and starting leaves.
  sqlite3 "$KILN_ROOT/kiln.db" "INSERT INTO net_endpoints VALUES ('$nid', '$id', '10.255.0.77', '{}')"
  run kiln system check
  [[ "$output" == *"network endpoint 10.255.0.77 of container ${id:0:12}"* ]]
  kiln start halfway >/dev/null
  [[ "$(inspect_field halfway 'd["NetworkSettings"]["IPAddress"]')" != 10.255.0.77 ]]
  kiln rm -f halfway >/dev/null
  run kiln system check
  [ "$status" -eq 0 ]
}

@test "the resolver forwards names it does not know to --dns (here a server on the host's loopback)" {
  # A fake upstream on the host's loopback: every A question gets 10.9.8.7.
  cat >"$BATS_TEST_TMPDIR/updns.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
s.settimeout(30)
while True:
    try:
        q, peer = s.recvfrom(512)
    except socket.timeout:
        sys.exit(0)
    end = 12
    while q[end]:
        end += q[end] + 1
    end += 5
    a = bytearray(q[:end])
    a[2] = 0x81; a[3] = 0x80; a[6:12] = b"\x00\x01\x00\x00\x00\x00"
    a += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([10, 9, 8, 7])
    s.sendto(bytes(a), peer)
PY
  python3 "$BATS_TEST_TMPDIR/updns.py" &
  up=$!
  until_true 5 sh -c "ss -lun | grep -q '127.0.0.1:53 '"
  kiln network create fwdnet >/dev/null
  run kiln run --rm --network fwdnet --dns 127.0.0.1 busybox nslookup outside.example 127.0.0.11
  kill "$up" 2>/dev/null || true
  kiln network rm fwdnet >/dev/null
  [[ "$output" == *"Address: 10.9.8.7"* ]]
}

@test "a DNS-over-TCP client that sends a byte now and then holds its resolver for 10 s at most" {
  kiln network create slownet >/dev/null
  kiln run -d --name slow1 --network slownet busybox sleep 300 >/dev/null
  mon=$(monitor_pid "$(kiln inspect -f '{{.Id}}' slow1)")
  res=$(ps -o pid=,args= --ppid "$mon" | awk '/container-monitor/ {print $1; exit}')
  [ -n "$res" ]
  until_true 5 sh -c "nsenter -t $res -n busybox nslookup slow1 127.0.0.11 >/dev/null 2>&1"
  # The length prefix says 97 bytes, and one comes a second (the resolver answers
  # one connection at a time): it drops the connection after 10 s, then answers UDP again.
  nsenter -t "$res" -n timeout 60 python3 -c '
import socket, time
c = socket.create_connection(("127.0.0.11", 53))
c.send(b"\0")
for _ in range(58):
    time.sleep(1)
    try:
        c.send(b"a")
    except OSError:
        break' &
  drip=$!
  sleep 1
  s=$(date +%s)
  until_true 40 sh -c "nsenter -t $res -n busybox nslookup slow1 127.0.0.11 >/dev/null 2>&1"
  took=$(($(date +%s) - s))
  kill "$drip" 2>/dev/null || true
  kiln rm -f slow1 >/dev/null
  kiln network rm slownet >/dev/null
  [ "$took" -le 20 ]
}
