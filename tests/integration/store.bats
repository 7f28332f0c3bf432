#!/usr/bin/env bats
# The store as a user meets it: import, images, inspect, history, tag, rmi,
# system df/check/prune, and layers that cannot escape their snapshot.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

rootfs() { # rootfs DIR: a small tree with the kinds of files layers carry
  mkdir -p "$1/etc" "$1/bin" "$1/data/sub"
  printf 'hello\n' > "$1/etc/greeting"
  printf '#!/bin/sh\necho hi\n' > "$1/bin/hi"
  chmod 0755 "$1/bin/hi"
  ln -s /etc/greeting "$1/etc/link"
  ln "$1/etc/greeting" "$1/data/hard"
  mkfifo "$1/data/fifo"
  chown 1000:1001 "$1/data/sub"
  chmod 0750 "$1/data/sub"
  setfattr -n user.kiln -v test "$1/etc/greeting" 2>/dev/null || true
  find "$1" -exec touch -h -d @1700000000 {} +
}

@test "import a directory: the image has one layer and the config from --change" {
  rootfs "$TMP/root"
  run kiln import --change 'CMD ["/bin/hi"]' --change 'ENV A=1 B=two' --change 'WORKDIR /data' \
    --change 'USER 1000:1001' --change 'EXPOSE 8080' --change 'LABEL org.example=yes' "$TMP/root" imp:1
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
  run kiln inspect imp:1
  [ "$status" -eq 0 ]
  python3 - "$output" <<'PY'
import json, sys
img = json.loads(sys.argv[1])[0]
c = img["Config"]
assert img["RepoTags"] == ["imp:1"], img["RepoTags"]
assert c["Cmd"] == ["/bin/hi"], c["Cmd"]
assert c["Env"] == ["A=1", "B=two"], c["Env"]
assert c["WorkingDir"] == "/data" and c["User"] == "1000:1001"
assert c["ExposedPorts"] == {"8080/tcp": {}} and c["Labels"] == {"org.example": "yes"}
assert len(img["RootFS"]["Layers"]) == 1 and img["Os"] == "linux"
PY
}

@test "importing the same tree twice gives the same layer; SOURCE_DATE_EPOCH gives the same image" {
  rootfs "$TMP/root"
  id1=$(SOURCE_DATE_EPOCH=1700000000 kiln import "$TMP/root" twice:a)
  id2=$(SOURCE_DATE_EPOCH=1700000000 kiln import "$TMP/root" twice:b)
  [ "$id1" = "$id2" ]
  run kiln images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  [[ "$output" == *"twice:a ${id1:7:12}"* ]]
  [[ "$output" == *"twice:b ${id1:7:12}"* ]]
}

@test "the snapshot holds the tree: modes, owners, links, fifos, xattrs, times" {
  rootfs "$TMP/root"
  kiln import "$TMP/root" tree:1 >/dev/null
  layer=$(kiln inspect tree:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"][0][7:23])')
  fs=$KILN_ROOT/snapshots/$layer/fs
  [ "$(cat "$fs/etc/greeting")" = hello ]
  [ "$(stat -c %a "$fs/bin/hi")" = 755 ]
  [ "$(stat -c %u:%g:%a "$fs/data/sub")" = "1000:1001:750" ]
  [ "$(readlink "$fs/etc/link")" = /etc/greeting ]
  [ "$(stat -c %i "$fs/etc/greeting")" = "$(stat -c %i "$fs/data/hard")" ]
  [ -p "$fs/data/fifo" ]
  [ "$(stat -c %Y "$fs/data/sub")" = 1700000000 ]
  if getfattr -n user.kiln "$TMP/root/etc/greeting" >/dev/null 2>&1; then
    [ "$(getfattr --only-values -n user.kiln "$fs/etc/greeting")" = test ]
  fi
}

@test "import a tar (gzip) and from stdin" {
  rootfs "$TMP/root"
  tar -C "$TMP/root" -czf "$TMP/root.tgz" .
  run kiln import "$TMP/root.tgz" fromtar:gz
  [ "$status" -eq 0 ]
  run sh -c "tar -C '$TMP/root' -cf - . | '$KILN' import - fromtar:stdin"
  [ "$status" -eq 0 ]
  a=$(kiln inspect fromtar:gz | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"])')
  b=$(kiln inspect fromtar:stdin | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"])')
  [ "$a" = "$b" ]
}

@test "references are normalised as docker does, and bad ones are refused" {
  rootfs "$TMP/root"
  kiln import "$TMP/root" localhost:5000/team/app:v1.2 >/dev/null
  kiln tag localhost:5000/team/app:v1.2 other
  run kiln images --format '{{.Repository}} {{.Tag}}'
  [[ "$output" == *"localhost:5000/team/app v1.2"* ]]
  [[ "$output" == *"other latest"* ]]
  run kiln inspect docker.io/library/other:latest
  [ "$status" -eq 0 ]
  run kiln tag other Bad/Name
  [ "$status" -eq 2 ]
  [[ "$output" == *"repository name must be lowercase"* ]]
  run kiln tag other 'app:bad tag'
  [ "$status" -eq 2 ]
  # A platform import cannot read is refused, not written into the image.
  run kiln import --platform bogus "$TMP/root" bogus:1
  [ "$status" -eq 2 ]
  [[ "$output" == *'platform "bogus": use OS/ARCH[/VARIANT]'* ]]
  run kiln inspect bogus:1
  [ "$status" -eq 1 ]
  kiln import --platform linux/arm64/v8 "$TMP/root" arm:1 >/dev/null
  [ "$(kiln inspect -f '{{.Os}}/{{.Architecture}}/{{.Variant}}' arm:1)" = linux/arm64/v8 ]
  # An image without a variant: {{.Variant}} is empty, as docker's struct field (its JSON omits it).
  [ "$(kiln inspect -f '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}' other)" = "linux/$(kiln inspect -f '{{.Architecture}}' other)" ]
  [[ "$(kiln inspect -f '{{json .}}' other)" != *Variant* ]]
  run kiln inspect -f '{{.Nope}}' other
  [ "$status" -ne 0 ]
  [[ "$output" == *'map has no entry for key "Nope"'* ]]
  run kiln inspect nosuchimage
  [ "$status" -eq 1 ]
  [[ "$output" == *'image "nosuchimage" is not in the store'* ]]
}

@test "images REPOSITORY[:TAG] and --filter keep what docker keeps" {
  mkdir -p "$TMP/froot" && echo one > "$TMP/froot/f"
  kiln import -c 'LABEL team=web tier=front' "$TMP/froot" localhost:5000/team/web:1.2 >/dev/null
  kiln tag localhost:5000/team/web:1.2 web:1.2
  kiln tag localhost:5000/team/web:1.2 web:2.0
  echo two > "$TMP/froot/f"
  kiln import "$TMP/froot" tools:latest >/dev/null
  # A name matches the image's familiar name; a tag pattern its name:tag, as path.Match.
  run kiln images --format '{{.Repository}}:{{.Tag}}' web
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "web:1.2 web:2.0 " ]
  run kiln images --format '{{.Repository}}:{{.Tag}}' 'web:1.*'
  [ "$output" = "web:1.2" ]
  run kiln images --format '{{.Repository}}:{{.Tag}}' 'localhost:5000/team/w*'
  [ "$output" = "localhost:5000/team/web:1.2" ]
  # No match: the header alone.
  run kiln images nosuch
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == REPOSITORY* ]]
  run kiln images -q --filter reference='tool*'
  [ "$output" = "$(kiln inspect -f '{{.Id}}' tools | cut -c8-19)" ]
  run kiln images --format '{{.Repository}}' --filter label=team=web --filter reference=web
  [ "$(printf '%s\n' "${lines[@]}" | sort -u)" = web ]
  run kiln images -q --filter label=tier
  [ "$output" = "$(kiln inspect -f '{{.Id}}' web:1.2 | cut -c8-19)" ]
  # A dangling image shows with dangling=true only.
  kiln rmi tools:latest >/dev/null
  kiln import "$TMP/froot" >/dev/null
  run kiln images -q --filter dangling=true
  [ "${#lines[@]}" -eq 1 ]
  run kiln images --filter dangling=false --format '{{.Tag}}'
  [[ "$output" != *"<none>"* ]]
  run kiln images --filter dangling=maybe
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: Invalid filter 'dangling=[maybe]'" ]
  run kiln images --filter since=web
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: Invalid filter 'since'" ]
  run kiln images a b
  [ "$status" -eq 2 ]
}

@test "history lists the steps newest first; rmi untags, then deletes and collects layers" {
  rootfs "$TMP/root"
  echo unique-rmi > "$TMP/root/unique"
  id=$(kiln import -m "my import" "$TMP/root" gone:1)
  kiln tag gone:1 gone:2
  run kiln history gone:1
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "IMAGE"*"CREATED"*"CREATED BY"*"SIZE"*"COMMENT" ]]
  [[ "${lines[1]}" == "${id:7:12}"*"my import" ]]
  layer=$(kiln inspect gone:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"][0][7:23])')
  [ -d "$KILN_ROOT/snapshots/$layer" ]
  run kiln rmi "${id:7:12}"
  [ "$status" -eq 1 ]
  [[ "$output" == *"must be forced"* ]]
  run kiln rmi gone:2
  [ "$output" = "Untagged: gone:2" ]
  run kiln rmi gone:1
  [ "${lines[0]}" = "Untagged: gone:1" ]
  [ "${lines[1]}" = "Deleted: $id" ]
  [ ! -e "$KILN_ROOT/snapshots/$layer" ]
  [ ! -e "$KILN_ROOT/blobs/sha256/${id:7}" ]
}

@test "system df, check and prune" {
  rootfs "$TMP/root"
  kiln import "$TMP/root" keep:1 >/dev/null
  echo dangling > "$TMP/root/dangling"
  kiln import "$TMP/root" >/dev/null
  run kiln system df
  [ "$status" -eq 0 ]
  [[ "${lines[1]}" == Images* ]]
  run kiln system check
  [ "$status" -eq 0 ]
  [ "$output" = "the store is clean" ]
  # Leftovers of an interrupted write are reported, then repaired.
  mkdir -p "$KILN_ROOT/tmp/snap-999-dead/fs"
  printf x > "$KILN_ROOT/blobs/sha256/$(printf x | sha256sum | cut -c1-64)"
  run kiln system check
  [ "$status" -eq 1 ]
  [[ "$output" == *"leftover: tmp/snap-999-dead: unfinished write"* ]]
  [[ "$output" == *"unused: blobs/sha256/"*": blob no image uses"* ]]
  run kiln system check --repair
  [ "$status" -eq 0 ]
  [[ "$output" == *"(repaired)"* ]]
  run kiln system check
  [ "$output" = "the store is clean" ]
  # An unused blob alone is not a problem, just reclaimable space.
  printf y > "$KILN_ROOT/blobs/sha256/$(printf y | sha256sum | cut -c1-64)"
  run kiln system check
  [ "$status" -eq 0 ]
  [[ "$output" == *"can be reclaimed with kiln system prune"* ]]
  # A corrupted blob an image needs is damage, and is never "repaired" away.
  cfg=$(kiln inspect keep:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"][7:])')
  cp "$KILN_ROOT/blobs/sha256/$cfg" "$TMP/cfg.bak"
  printf ' ' >> "$KILN_ROOT/blobs/sha256/$cfg"
  run kiln system check --repair
  [ "$status" -eq 1 ]
  [[ "$output" == *"damaged: "*"$cfg"* ]]
  [ -e "$KILN_ROOT/blobs/sha256/$cfg" ]
  cp "$TMP/cfg.bak" "$KILN_ROOT/blobs/sha256/$cfg"
  run kiln system prune -f
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Deleted Images:" ]
  [[ "$output" == *$'\n'"deleted: sha256:"* ]]
  [[ "${lines[-1]}" == "Total reclaimed space: "* ]]
  run kiln images --format '{{.Repository}}'
  [[ "$output" == *keep* ]]
  [[ "$output" != *"<none>"* ]]
}

@test "kiln image ls|inspect|rm|prune: docker's image group, and image prune's shape" {
  rootfs "$TMP/root"
  echo group > "$TMP/root/group"
  id=$(kiln import "$TMP/root" grp:1)
  [ "$(kiln image ls --format '{{.Repository}}:{{.Tag}}' grp)" = "grp:1" ]
  [ "$(kiln image list -q grp)" = "${id:7:12}" ]
  [ "$(kiln image inspect -f '{{.Id}}' grp:1)" = "$id" ]
  run kiln image inspect nosuch
  [ "$status" -eq 1 ]
  [ "$(kiln image inspect grp:1)" = "$(kiln inspect --type image grp:1)" ]
  [[ "$(kiln image prune --help)" == "Usage: kiln image prune"* ]]
  # A dangling image goes; a tagged one stays unless -a.
  echo dangling-group > "$TMP/root/dangling"
  did=$(kiln import "$TMP/root")
  run kiln image prune -f
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Deleted Images:" ]
  [[ "$output" == *$'\n'"deleted: $did"$'\n'* ]]
  [[ "${lines[-1]}" == "Total reclaimed space: "* ]]
  run kiln image inspect "$did"
  [ "$status" -eq 1 ]
  [ "$(kiln image inspect -f '{{.Id}}' grp:1)" = "$id" ]
  run kiln image prune -f
  [ "$output" = "Total reclaimed space: 0B" ]
  kiln tag grp:1 grp:3
  [ "$(kiln image rm grp:3)" = "Untagged: grp:3" ]
  # -a: every image no container was made from, its tags untagged first.
  kiln tag grp:1 grp:2
  run kiln image prune -a -f
  [ "$status" -eq 0 ]
  [[ "$output" == *"untagged: grp:1"$'\n'"untagged: grp:2"* ]]
  [[ "$output" == *"deleted: $id"* ]]
  [ -z "$(kiln image ls -q grp)" ]
  run kiln image nosuch
  [ "$status" -eq 2 ]
  [[ "$output" == *'unknown command "nosuch"'* ]]
}

@test "image prune --filter until= and label= / label!= select as docker's" {
  export KILN_ROOT="$TMP/own-store" # what other tests left does not count here
  rootfs "$TMP/root"
  echo f1 > "$TMP/root/f1"
  yes=$(kiln import -c 'LABEL keep=yes' "$TMP/root" pf:yes)
  echo f2 > "$TMP/root/f2"
  no=$(kiln import -c 'LABEL keep=no' "$TMP/root" pf:no)
  echo f3 > "$TMP/root/f3"
  old=$(SOURCE_DATE_EPOCH=0 kiln import "$TMP/root" pf:old)
  run kiln image prune -af --filter label=keep=no
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'Deleted Images:\nuntagged: pf:no\ndeleted: %s\n\nTotal reclaimed space: %s' "$no" "${lines[-1]#Total reclaimed space: }")" ]
  # until: only what was created before; pf:yes is new, pf:old is from 1970.
  run kiln image prune -af --filter until=24h
  [[ "$output" == *"deleted: $old"* ]]
  [[ "$output" != *"$yes"* ]]
  run kiln image prune -af --filter 'label!=keep=yes'
  [ "$output" = "Total reclaimed space: 0B" ]
  [ "$(kiln image ls --format '{{.Repository}}:{{.Tag}}')" = "pf:yes" ]
  # dangling=true is the default, dangling=false is -a (docker's image prune takes it).
  run kiln image prune -f --filter dangling=true
  [ "$output" = "Total reclaimed space: 0B" ]
  run kiln image prune -f --filter dangling=maybe
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: Invalid filter 'dangling=maybe'" ]
  run kiln image prune -af --filter foo=1
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: Invalid filter 'foo'" ]
  run kiln image prune -af --filter until=soon
  [ "$status" -eq 1 ]
  [[ "$output" == *'failed to parse value as time or duration: "soon"'* ]]
  run kiln image prune -af --filter until=1h --filter until=2h
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: more than one until filter specified" ]
  [ "$(kiln image ls --format '{{.Repository}}:{{.Tag}}')" = "pf:yes" ]
  run kiln image prune -f --filter dangling=false
  [[ "$output" == *"untagged: pf:yes"$'\n'"deleted: $yes"* ]]
  [ -z "$(kiln image ls -q)" ]
}

@test "hostile layer tars are contained or rejected, and nothing outside changes" {
  outside=$TMP/outside
  mkdir -p "$outside"
  python3 "$BATS_TEST_DIRNAME/hostile_tars.py" "$TMP/evil" "$outside"
  while IFS=$'\t' read -r name expect check; do
    run kiln import "$TMP/evil/$name.tar" "evil/$name:1"
    if [ "$expect" = rejected ]; then
      [ "$status" -eq 1 ] || { echo "$name: accepted"; false; }
      [[ "$output" == *"outside the layer"* || "$output" == *"not a valid whiteout"* ||
         "$output" == *"symlink to nowhere inside the layer"* ]] || { echo "$name: $output"; false; }
    else
      [ "$status" -eq 0 ] || { echo "$name: $output"; false; }
      layer=$(kiln inspect "evil/$name:1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"][0][7:23])')
      fs=$KILN_ROOT/snapshots/$layer/fs
      kind=${check%% *} path=${check#* }
      case $kind in
        f) [ -f "$fs/$path" ] || { echo "$name: $path missing in snapshot"; ls -laR "$fs"; false; } ;;
        l) [ -L "$fs/$path" ] || { echo "$name: $path not a link"; false; } ;;
      esac
    fi
    [ -z "$(ls -A "$outside")" ] || { echo "$name wrote outside: $(ls -A "$outside")"; false; }
  done < "$TMP/evil/expect"
  # Device nodes are never created in a snapshot.
  layer=$(kiln inspect evil/device-nodes:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"][0][7:23])')
  [ ! -e "$KILN_ROOT/snapshots/$layer/fs/sda" ]
  [ ! -e "$KILN_ROOT/snapshots/$layer/fs/mem" ]
  run kiln system check
  [ "$output" = "the store is clean" ]
}
