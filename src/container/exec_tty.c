/* container/exec_tty.c — exec -t's relay between the caller and the pty (see the header). */
#include "container/exec_tty.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "worker/pty.h"

/* The caller's terminal size onto the pty (its command gets SIGWINCH). */
static void
pass_winsize (int master)
{
  struct winsize ws;
  if (pty_winsize_get (1, &ws) == 0 || pty_winsize_get (0, &ws) == 0)
    pty_winsize_set (master, &ws);
}

void
exec_tty_relay (void *ud, int master)
{
  const struct exec_tty *t = ud;
  sigset_t mask, old;
  sigemptyset (&mask);
  sigaddset (&mask, SIGWINCH);
  sigprocmask (SIG_BLOCK, &mask, &old);
  _cleanup_close_ int sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  struct pty_raw raw = {.fd = 0};
  bool input = t->input && pty_raw_enter (&raw, 0) == 0;
  pass_winsize (master);
  for (;;)
    {
      struct pollfd p[3] = {{.fd = master, .events = POLLIN},
                            {.fd = sfd, .events = POLLIN},
                            {.fd = input ? 0 : -1, .events = POLLIN}};
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR) /* a signal kiln forwards to the command */
            continue;
          break;
        }
      if (p[0].revents)
        {
          char chunk[8192];
          ssize_t n = read (master, chunk, sizeof chunk);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0) /* EIO: every holder of the slave is gone */
            break;
          struct kiln_err ignored = {0};
          write_all (1, chunk, (size_t) n, "stdout", &ignored);
          kiln_err_clear (&ignored);
        }
      if (p[1].revents)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) == (ssize_t) sizeof si)
            pass_winsize (master);
        }
      if (p[2].revents)
        {
          char chunk[4096];
          ssize_t n = read (0, chunk, sizeof chunk);
          if (n > 0)
            {
              struct kiln_err ignored = {0};
              write_all (master, chunk, (size_t) n, "the pty", &ignored);
              kiln_err_clear (&ignored);
            }
          else if (!(n < 0 && errno == EINTR))
            input = false; /* the caller's input ended; the command goes on */
        }
    }
  pty_raw_leave (&raw);
  sigprocmask (SIG_SETMASK, &old, NULL);
}
