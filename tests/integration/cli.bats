#!/usr/bin/env bats
# The command line itself: help, version, exit codes.
load helpers

@test "kiln --help lists the commands and exits 0" {
  run kiln --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"Usage: kiln [--root DIR] COMMAND"* ]]
  [[ "$output" == *"debug"* ]]
}

@test "kiln COMMAND --help prints that command's usage" {
  run kiln version --help
  [ "$status" -eq 0 ]
  [[ "$output" == "Usage: kiln version"* ]]
  run kiln debug parse --help
  [ "$status" -eq 0 ]
  [[ "$output" == "Usage: kiln debug parse"* ]]
}

@test "kiln version prints the git-described version" {
  run kiln version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^kiln\ version\ [0-9a-f.v-]+ ]]
}

@test "an unknown command or option is a usage error (exit 2)" {
  run kiln frobnicate
  [ "$status" -eq 2 ]
  [[ "$output" == *'unknown command "frobnicate"'* ]]
  run kiln --bogus version
  [ "$status" -eq 2 ]
  run kiln debug parse
  [ "$status" -eq 2 ]
}

@test "--root is accepted before the command" {
  run kiln --root "$TMP/store" version
  [ "$status" -eq 0 ]
}

@test "every command and subcommand of the CLI table answers --help with its usage and exit 0" {
  run kiln --help
  [ "$status" -eq 0 ]
  # Commands: "  NAME  Description"; a description that lists subcommands
  # ("Manage containers (ls, create, ...)", "Store maintenance: df, prune, check")
  # has each of them walked too.
  local n=0
  while read -r name desc; do
    run kiln "$name" --help
    [ "$status" -eq 0 ] || { echo "kiln $name --help: exit $status: $output"; false; }
    [[ "$output" == "Usage: kiln "* ]] || { echo "kiln $name --help: $output"; false; }
    n=$((n + 1))
    subs=$(sed -n -e 's/.*(\([^)]*,[^)]*\)).*/\1/p' -e 's/^[^(]*: \(.*\)$/\1/p' <<<"$desc" | tr -d ',')
    for sub in $subs; do
      run kiln "$name" "$sub" --help
      [ "$status" -eq 0 ] || { echo "kiln $name $sub --help: exit $status: $output"; false; }
      [[ "$output" == "Usage: kiln "* ]] || { echo "kiln $name $sub --help: $output"; false; }
      n=$((n + 1))
    done
  done < <(sed -n '/^Commands:/,/^$/p' <<<"$output" | tail -n +2 | sed '/^$/d')
  [ "$n" -gt 35 ]
  # run and create: a --help after the image belongs to the command
  run kiln create --help
  [ "$status" -eq 0 ]
  run kiln container run --help
  [ "$status" -eq 0 ]
  [[ "$output" == "Usage: kiln run"* ]]
}
