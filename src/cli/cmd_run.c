/* cli/cmd_run.c — run and create: a new container from an image (its flags:
 * cli/create_opts.c), run in the foreground, detached or on a terminal. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sys/random.h"
#include "cli/cli.h"
#include "cli/create_opts.h"
#include "container/attach.h"
#include "container/config.h"
#include "container/monitor.h"
#include "container/mounts.h"
#include "container/names.h"
#include "container/runflags.h"
#include "container/state.h"
#include "image/image.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "worker/pty.h"
#include "worker/sandbox.h"

/* Removes a container that is not running, under containers.lock. */
static int
remove_stopped (struct kiln_store *st, const char *id, struct kiln_err *err)
{
  int lock = containers_lock (store_root (st), err);
  if (lock < 0)
    return -1;
  int r = mounts_remove_container (st, id, true, err); /* --rm: anonymous volumes too */
  containers_unlock (lock);
  return r;
}

/* The image `o` names, pulled as its --pull says (docker run's default: when the
 * store lacks it). */
static int
image_for_container (struct kiln_store *st, const struct container_opts *o, struct image_info *ii,
                     struct kiln_err *err)
{
  struct digest id;
  if (pull_policy_resolve (st, o->image_ref, (enum pull_policy) o->pull, &id, err) < 0)
    return -1;
  return image_load (st, &id, ii, err);
}

/* Makes the record and directory of a new container; its id in `id`. */
static int
create_container (struct kiln_store *st, const struct container_opts *o, const char *name, char id[static 65],
                  struct kiln_err *err)
{
  struct image_info ii = {0};
  if (store_lock_shared (st, err) < 0 || image_for_container (st, o, &ii, err) < 0)
    return -1;
  int ret = -1;
  for (int attempt = 0; attempt < 20; attempt++)
    {
      char generated[64];
      if (name == NULL)
        {
          uint32_t r[2] = {0, 0};
          if (getrandom (r, sizeof r, 0) < 0)
            r[0] = (uint32_t) getpid (), r[1] = (uint32_t) attempt;
          container_name_generate (r[0], r[1], generated);
        }
      container_id_generate (id);
      json_t *config = container_config_new (o, id, &ii, err);
      if (config == NULL)
        break;
      _cleanup_strv_ struct strv vols = STRV_INIT, made = STRV_INIT;
      if (mounts_prepare (st, config, &vols, &made, err) < 0)
        {
          mounts_forget_volumes (st, &made);
          json_decref (config);
          break;
        }
      char *tmp = containers_new_dir (st, err);
      if (tmp == NULL)
        {
          json_decref (config);
          break;
        }
      _cleanup_buf_ struct buf dir = BUF_INIT, cfg = BUF_INIT;
      buf_printf (&dir, "%s/%s", store_root (st), tmp);
      buf_printf (&cfg, "%s/config.json", buf_str (&dir));
      struct container_state s = {.status = CONTAINER_CREATED};
      struct container_rec rec = {.id = id, .name = (char *) (name ? name : generated), .image = ii.id.str,
                                  .created = container_now (), .volumes = &vols};
      if (json_dump_file (config, buf_str (&cfg), JSON_INDENT (2) | JSON_PRESERVE_ORDER) < 0)
        kiln_err_set (err, EIO, "%s: cannot write", buf_str (&cfg));
      else if (container_state_write_dir (buf_str (&dir), &s, err) == 0)
        ret = containers_add (st, &rec, tmp, err);
      json_decref (config);
      if (ret < 0)
        {
          mounts_forget_volumes (st, &made);
          struct kiln_err ignored = {0};
          store_remove_tree (store_root_fd (st), tmp, &ignored);
          kiln_err_clear (&ignored);
        }
      free (tmp);
      /* A generated name another container has: another name. */
      if (ret == 0 || name || err->code != CONTAINER_ENAME_IN_USE)
        break;
      kiln_err_clear (err);
    }
  image_info_clear (&ii);
  return ret;
}

/* run's and create's failures before the container runs: docker's run exits 125,
 * create 1; a flag either refuses (KILN_EUSAGE) 125, as docker's flag errors. */
static int
create_failed (struct kiln_err *err, int code)
{
  bool usage = err->code == KILN_EUSAGE;
  kiln_err_print (err, stderr);
  kiln_err_clear (err);
  return usage ? 125 : code;
}

/* run -t: the container starts under its monitor, then this process attaches;
 * the exit code is the container's (0 when detached with the keys). Closes `st`. */
static int
run_with_tty (struct kiln_store *st, const char *id, const struct container_opts *o)
{
  struct kiln_err err = {0};
  int rc;
  _cleanup_free_ char *root = xstrdup (store_root (st));
  if (container_start_ex (st, id, true, &rc, &err) < 0)
    {
      kiln_err_print (&err, stderr);
      kiln_err_clear (&err);
      if (o->auto_remove && remove_stopped (st, id, &err) < 0)
        cli_fail (&err);
      store_close (st);
      return rc;
    }
  store_close (st);
  struct attach_opts ao = {.stdin = o->interactive, .sig_proxy = true};
  bool detached;
  if (attach_tty (root, id, &ao, &rc, &detached, &err) < 0)
    return cli_fail (&err), 125;
  return rc;
}

int
cmd_run (struct kiln_ctx *ctx, int argc, char **argv)
{
  struct container_opts o = {0};
  const char *name = NULL;
  struct kiln_err err = {0};
  int rc = EXIT_USAGE;
  char id[65];
  char *root = NULL;
  int parsed = cli_parse_create_opts ("run", argc, argv, true, &o, &name);
  if (parsed != 0)
    {
      rc = parsed > 0 ? EXIT_OK : parsed == -2 ? EXIT_USAGE : 125;
      goto out;
    }
  if (o.cidfile && cidfile_check (o.cidfile, &err) < 0)
    {
      rc = create_failed (&err, 125);
      goto out;
    }
  if (o.tty && o.interactive && !o.detach && !isatty (0))
    {
      fprintf (stderr, "kiln: the input device is not a TTY\n");
      rc = EXIT_FAIL;
      goto out;
    }
  struct winsize ws;
  if (o.tty && !o.detach && (pty_winsize_get (1, &ws) == 0 || pty_winsize_get (0, &ws) == 0))
    o.console_rows = ws.ws_row, o.console_cols = ws.ws_col; /* the command sees it from its start */
  if (o.runtime == NULL && !o.privileged && !o.detach)
    sandbox_warm_up ();
  struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    {
      rc = create_failed (&err, 125);
      goto out;
    }
  if (create_container (st, &o, name, id, &err) < 0 || (o.cidfile && cidfile_write (o.cidfile, id, &err) < 0))
    {
      store_close (st);
      rc = create_failed (&err, 125);
      goto out;
    }
  if (o.tty && !o.detach)
    {
      /* A terminal is the container's own, held by its monitor: run -t is a
       * start and an attach, as docker's client does it. */
      rc = run_with_tty (st, id, &o);
      goto out;
    }
  if (o.detach)
    {
      printf ("%s\n", id); /* first, as docker prints it: a failed start still names it */
      fflush (stdout);
      if (container_start (st, id, &rc, &err) < 0)
        {
          kiln_err_print (&err, stderr);
          kiln_err_clear (&err);
          if (o.auto_remove && remove_stopped (st, id, &err) < 0)
            cli_fail (&err);
        }
      store_close (st);
      goto out;
    }
  /* In the foreground, kiln is the container's monitor: nothing of the store
   * stays open while it runs. */
  root = xstrdup (store_root (st));
  store_close (st);
  if (container_run_attached (root, id, 0, &rc, &err) < 0)
    {
      kiln_err_print (&err, stderr);
      kiln_err_clear (&err);
      if (o.auto_remove && (st = store_open (root, &err)) != NULL)
        {
          if (remove_stopped (st, id, &err) < 0)
            cli_fail (&err);
          store_close (st);
        }
    }
out:
  free (root);
  container_opts_clear (&o);
  kiln_err_clear (&err);
  return rc;
}

int
cmd_create (struct kiln_ctx *ctx, int argc, char **argv)
{
  struct container_opts o = {0};
  const char *name = NULL;
  struct kiln_err err = {0};
  int rc = EXIT_USAGE;
  char id[65];
  int parsed = cli_parse_create_opts ("create", argc, argv, false, &o, &name);
  if (parsed != 0)
    rc = parsed > 0 ? EXIT_OK : parsed == -2 ? EXIT_USAGE : 125;
  else
    {
      _cleanup_store_ struct kiln_store *st = NULL;
      if ((o.cidfile && cidfile_check (o.cidfile, &err) < 0) || (st = cli_open_store (ctx, &err)) == NULL
          || create_container (st, &o, name, id, &err) < 0
          || (o.cidfile && cidfile_write (o.cidfile, id, &err) < 0))
        rc = create_failed (&err, o.cidfile && err.code == EEXIST ? 125 : EXIT_FAIL);
      else
        {
          printf ("%s\n", id);
          rc = EXIT_OK;
        }
    }
  container_opts_clear (&o);
  return rc;
}
