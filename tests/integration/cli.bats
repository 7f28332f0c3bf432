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
