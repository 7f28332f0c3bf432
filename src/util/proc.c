/* util/proc.c — reading /proc/PID/stat. */
#include "util/proc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t
proc_start_time (pid_t pid)
{
  if (pid <= 0)
    return 0;
  char path[40], stat[1024];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read (fd, stat, sizeof stat - 1);
  close (fd);
  if (n <= 0)
    return 0;
  stat[n] = '\0';
  /* The command name (field 2) may hold anything, ")" and spaces too: the fields
   * that matter follow its last ")". */
  const char *p = strrchr (stat, ')');
  if (p == NULL || p[1] != ' ')
    return 0;
  p += 2;
  if (*p == 'Z' || *p == 'X' || *p == 'x')
    return 0;
  /* p is at field 3 (state); field 22 is 19 fields on. */
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p, ' ');
      if (p == NULL)
        return 0;
      p++;
    }
  char *end;
  unsigned long long v = strtoull (p, &end, 10);
  return end != p ? (uint64_t) v : 0;
}

bool
proc_is (pid_t pid, uint64_t start_time)
{
  return start_time != 0 && proc_start_time (pid) == start_time;
}
