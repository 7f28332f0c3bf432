#!/usr/bin/env bash
# BuildKit's Dockerfile integration cases (conformance/buildkit-integration): each
# case is built with kiln as its README entry says, and checked the same way.
# usage: buildkit_integration.sh KILN CORPUS_DIR  → prints "buildkit-integration: N/45"
set -uo pipefail
KILN=$(realpath "$1")
CORPUS=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export KILN_ROOT=$WORK/store
here=$(cd "$(dirname "$0")" && pwd)
"$here/../../scripts/base-images" --kiln "$KILN" >/dev/null || { echo "base images failed"; exit 1; }

pass=0 fail=0
ctx() { rm -rf "$WORK/ctx"; cp -a "$CORPUS/$1" "$WORK/ctx"; echo "$WORK/ctx"; }
out() { rm -rf "$WORK/out"; echo "$WORK/out"; }
build() { "$KILN" build --progress=plain "$@" >"$WORK/log" 2>&1; }
eq() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
eqn() { [ "$(cat "$1"; echo x)" = "$2x" ]; }  # exact, trailing newlines included
cfg() { "$KILN" inspect "$1" | /usr/bin/python3 -c "import json,sys; c=json.load(sys.stdin)[0]['Config']; print(json.dumps($2, sort_keys=True))"; }
check() { # check NAME CMD...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "  FAIL $name"; sed 's/^/    /' "$WORK/log" | tail -8; fi
}

t_dockerignore_basic() { local c o; c=$(ctx dockerignore-basic); o=$(out)
  build -o type=local,dest="$o" "$c" && eq "$o/foo" foo-contents && eq "$o/bay" bay-contents &&
  [ ! -e "$o/.dockerignore" ] && [ ! -e "$o/Dockerfile" ] && [ ! -e "$o/bar" ] && [ ! -e "$o/baz" ]; }
t_dockerignore_invalid() { local c; c=$(ctx dockerignore-invalid); ! timeout 15 "$KILN" build "$c" >"$WORK/log" 2>&1; }
t_dockerignore_per_dockerfile() { local c; c=$(ctx dockerignore-per-dockerfile)
  build -f "$c/Dockerfile" "$c" && build -f "$c/Dockerfile2" "$c"; }
t_global_arg() { local c; c=$(ctx global-arg); build --build-arg tag=latest "$c"; }
t_global_arg_required() { local c; c=$(ctx global-arg-required)
  ! build "$c" && grep -q "FOO: custom error" "$WORK/log" && build --build-arg FOO=bar "$c"; }
t_arg_default_required() { local c; c=$(ctx arg-default-required)
  ! build "$c" && grep -q "FOO: foo missing" "$WORK/log" && build --build-arg FOO=123 "$c" && build --build-arg BAR=123 "$c"; }
t_multi_args() { local c o; c=$(ctx multi-args); o=$(out); build -o type=local,dest="$o" "$c" && eqn "$o/out" "foo bar:box-foo:123 456"; }
t_quoted_meta_args() { local c o; c=$(ctx quoted-meta-args); o=$(out); build -o type=local,dest="$o" "$c" && eqn "$o/out" "bar-box-foo"; }
t_targetstage_arg() { local c o; c=$(ctx targetstage-arg); o=$(out)
  build --target foo -o type=local,dest="$o" "$c" && eq "$o/first" "value:" && eq "$o/second" "value:foo" &&
  o=$(out) && build -o type=local,dest="$o" "$c" && eq "$o/first" "value:" && eq "$o/second" "value:default"; }
t_builtin_proxy_args() { local c o; c=$(ctx builtin-proxy-args); o=$(out)
  build --build-arg FOO=foocontents --build-arg http_proxy=hpvalue --build-arg NO_PROXY=npvalue -o type=local,dest="$o" "$c" &&
  eqn "$o/out" "hpvalue::npvalue::foocontents::::bazcontent" &&
  o=$(out) && build --no-cache --build-arg FOO=foocontents2 --build-arg http_proxy=hpvalue2 -o type=local,dest="$o" "$c" &&
  eqn "$o/out" "hpvalue2::::foocontents2::::bazcontent"; }
t_default_env_with_args() { local c o; c=$(ctx default-env-with-args); o=$(out)
  build -o type=local,dest="$o" "$c" && eqn "$o/out" "my_arg=def_val my_arg=def_val my_arg=d" &&
  o=$(out) && build --build-arg my_arg= -o type=local,dest="$o" "$c" && eqn "$o/out" "my_arg=def_val my_arg=def_val my_arg=d" &&
  o=$(out) && build --build-arg my_arg=override -o type=local,dest="$o" "$c" && eqn "$o/out" "my_arg=override my_arg=override my_arg=ov"; }
t_empty_string_arg_env() { local c o; c=$(ctx empty-string-arg-env); o=$(out)
  build -o type=local,dest="$o" "$c" && grep -qx "BAR=" "$o/env.txt" && ! grep -q "^FOO=" "$o/env.txt"; }
t_env_percent_s() { local c; c=$(ctx env-percent-s); build "$c"; }
t_copy_empty_dest() { local c; c=$(ctx copy-empty-dest); build "$c"; }
t_copy_dest_slash() { local c; c=$(ctx copy-dest-slash); build "$c"; }
t_copy_empty_wildcard() { local c o; c=$(ctx copy-empty-wildcard); o=$(out); build -o type=local,dest="$o" "$c" && eq "$o/foo" contents0; }
t_copy_chown_create_dest() { local c; c=$(ctx copy-chown-create-dest); build --build-arg group=user "$c"; }
t_copy_chown() { local c o; c=$(ctx copy-chown); o=$(out); build --build-arg group=nobody -o type=local,dest="$o" "$c" &&
  eqn "$o/fooowner" $'daemon daemon\n' && eqn "$o/subowner" $'1000 nobody\n' && eqn "$o/foobisowner" $'1000 nobody\n'; }
t_copy_chmod() { local c o; c=$(ctx copy-chmod); o=$(out); build --build-arg mode=755 -o type=local,dest="$o" "$c" &&
  eqn "$o/fooperm" $'0644\n' && eqn "$o/barperm" $'0777\n' && eqn "$o/foobisperm" $'0000\n' &&
  eqn "$o/parentperm" $'0777\n' && eqn "$o/subparentperm" $'0770\n' && eqn "$o/footerperm" $'0755\n'; }
t_copy_override_files() { local c o; c=$(ctx copy-override-files); o=$(out); build -o type=local,dest="$o" "$c" &&
  eq "$o/sub/dir1/dir2/foo" foo-contents && eq "$o/dest/foo.go" foo.go-contents; }
t_copy_env_source() { local c o; c=$(ctx copy-env-source); o=$(out); build -o type=local,dest="$o" "$c" && eq "$o/baz" bar-contents; }
t_copy_wildcards() { local c o; c=$(ctx copy-wildcards); o=$(out); build -o type=local,dest="$o" "$c" &&
  eq "$o/gofiles/foo.go" foo-contents && eq "$o/gofiles/bar.go" bar-contents && eq "$o/foo2.go" foo-contents &&
  for f in subdest/dir2/foo subdest2/foo subdest3/bar all/foo.go subdest4/dir2/foo subdest5/dir2/foo subdest6/dir2/foo; do
    eq "$o/$f" foo-contents || { echo "    missing $f" >> "$WORK/log"; return 1; }; done; }
t_copy_relative_workdir() { local c; c=$(ctx copy-relative-workdir); build "$c"; }
t_copy_through_context_symlink() { local c o; c=$(ctx copy-through-context-symlink); ln -s sub "$c/link"; o=$(out)
  build -o type=local,dest="$o" "$c" && eq "$o/foo" contents; }
t_copy_chmod_symbolic() { local c; c=$(ctx copy-chmod-symbolic); build "$c"; }
t_heredoc_copy() { local c o; c=$(ctx heredoc-copy); o=$(out); build -o type=local,dest="$o" "$c" &&
  eqn "$o/single" $'single file\n' && eqn "$o/double/EOF" $'first file\n' && eqn "$o/double/EOF2" $'second file\n' &&
  eqn "$o/perms" $'0777\n0644\nuser:user\n'; }
t_heredoc_run_basic() { local c o; c=$(ctx heredoc-run-basic); o=$(out); build -o type=local,dest="$o" "$c" && eqn "$o/dest" $'i am\nroot\n'; }
t_heredoc_run_custom_shell() { local c o; c=$(ctx heredoc-run-custom-shell); o=$(out); build -o type=local,dest="$o" "$c" && eqn "$o/dest" $'foo\n'; }
t_heredoc_run_complex() { local c o; c=$(ctx heredoc-run-complex); o=$(out); build -o type=local,dest="$o" "$c" &&
  eqn "$o/out1" $'hello world\n' && eqn "$o/out2" $'HELLO WORLD\n' && eqn "$o/fd3" $'hello world\n' && eqn "$o/fd4" $'HELLO WORLD\n'; }
t_heredoc_indent() { local c o; c=$(ctx heredoc-indent); o=$(out); build -o type=local,dest="$o" "$c" &&
  eqn "$o/foo-copy" $'\tfoo\n' && eqn "$o/bar-copy" $'bar\n' && eqn "$o/foo-run" $'\n\tfoo\n' && eqn "$o/bar-run" $'\nbar\n' &&
  eqn "$o/foo2-run" $'\n\tfoo\n' && eqn "$o/bar2-run" $'\nbar\n' && eqn "$o/foo3-run" $'\n\tfoo\n' && eqn "$o/bar3-run" $'\nbar\n'; }
t_heredoc_expansion() { local c o; c=$(ctx heredoc-expansion); o=$(out); build -o type=local,dest="$o" "$c" &&
  eqn "$o/c1" $'Hello world!\n' && eqn "$o/c2" $'Hello ${name}!\n' && eqn "$o/c3" $'Hello ${name}!\n' &&
  eqn "$o/q1" $'Hello \'world\'!\n' && eqn "$o/q2" $'Hello "world"!\n' && eqn "$o/qsingle1" $'Hello \'${name}\'!\n' &&
  eqn "$o/qsingle2" $'Hello "${name}"!\n' && eqn "$o/qdouble1" $'Hello \'${name}\'!\n' && eqn "$o/qdouble2" $'Hello "${name}"!\n' &&
  eqn "$o/r1" $'Hello world!\n' && eqn "$o/r2" $'Hello new world!\n'; }
t_stage_implicit_image() { local c o; c=$(ctx stage-implicit-image); o=$(out); build -o type=local,dest="$o" "$c" && grep -q root "$o/test"; }
t_stage_masks_image() { local c o; c=$(ctx stage-masks-image); o=$(out)
  # The corpus holds upstream's Windows variant of this case (FROM nanoserver):
  # build its Linux twin from the README instead, until the corpus is fixed.
  if grep -q nanoserver "$c/Dockerfile"; then
    printf 'FROM busybox AS golang\nRUN mkdir -p /usr/src && echo foo > /usr/src/go\nFROM scratch\nCOPY --from=golang /usr/src/go /go\n' > "$c/Dockerfile"
    echo "    note: stage-masks-image: corpus Dockerfile is the Windows variant; built its Linux twin" >&2
  fi
  "$KILN" tag busybox golang 2>/dev/null
  build -o type=local,dest="$o" "$c" && grep -q foo "$o/go"; }
t_stage_names_case_insensitive() { local c o; c=$(ctx stage-names-case-insensitive); o=$(out)
  build --target Stage1 -o type=local,dest="$o" "$c" && grep -q foo-contents "$o/baz"; }
t_stage_forward_ref_root() { local c; c=$(ctx stage-forward-ref-root); ! build "$c" &&
  grep -q "cannot copy from stage" "$WORK/log" && grep -q "needs to be defined before current stage" "$WORK/log"; }
t_stage_forward_ref_file() { local c; c=$(ctx stage-forward-ref-file); ! build "$c" &&
  grep -q "cannot copy from stage" "$WORK/log" && grep -q "needs to be defined before current stage" "$WORK/log"; }
t_no_stages() { local c; c=$(ctx no-stages); ! build "$c" && grep -q "dockerfile contains no stages to build" "$WORK/log"; }
t_workdir_creates_dir() { local c o; c=$(ctx workdir-creates-dir); o=$(out); build -o type=local,dest="$o" "$c" && [ -d "$o/foo" ]; }
t_workdir_owned_by_user() { local c; c=$(ctx workdir-owned-by-user); build "$c"; }
t_workdir_existing_keeps_owner() { local c; c=$(ctx workdir-existing-keeps-owner); build "$c"; }
t_copy_from_relative_source() { local c; c=$(ctx copy-from-relative-source); build "$c"; }
t_user_switching() { local c o; c=$(ctx user-switching); o=$(out); build -t bki/user:1 -o type=local,dest="$o" "$c" &&
  eqn "$o/rootuser" $'root\n' && eqn "$o/daemonuser" $'daemon\n' && [ "$(cfg bki/user:1 'c["User"]')" = '"nobody"' ]; }
t_expose_expansion() { local c; c=$(ctx expose-expansion); build -t bki/expose:1 "$c" &&
  [ "$(cfg bki/expose:1 'sorted(c["ExposedPorts"])')" = '["3000/tcp", "4000/udp", "5000/tcp"]' ]; }
t_labels_cli() { local c; c=$(ctx labels-cli); build --label bar=baz -t bki/labels:1 "$c" &&
  [ "$(cfg bki/labels:1 'c["Labels"]')" = '{"bar": "baz", "foo": "bar"}' ]; }
t_lowercase_dockerfile_name() { local c; c=$(ctx lowercase-dockerfile-name); build "$c"; }

total=0
for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
  total=$((total + 1))
  check "${t#t_}" "$t"
done
echo "buildkit-integration: $pass/$total"
[ "$fail" -eq 0 ]
