/* util/proc.h — other processes, as /proc shows them. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The start time of `pid` (field 22 of /proc/PID/stat: clock ticks after boot),
 * which tells a process from a later one given the same pid.  0 when no such
 * process runs: it does not exist, or is a zombie or dead (killed, not yet reaped). */
uint64_t proc_start_time (pid_t pid);

/* True when `pid` runs and is the process that started at `start_time`. */
bool proc_is (pid_t pid, uint64_t start_time);
