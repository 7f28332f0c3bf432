/* container/psfmt.c — docker's ContainerContext, NewContainerFormat and DisplayablePorts. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/psfmt.h"
#include "image/image.h"
#include "image/ref.h"
#include "util/cleanup.h"
#include "util/formatter.h"
#include "util/utf8.h"

#define DEFAULT_TABLE "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
#define RAW                                                                                                           \
  "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad "   \
  ".State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad " \
  ".Ports 1 0}}\n"

char *
psfmt_format (const char *source, bool quiet, bool size)
{
  struct buf b = BUF_INIT;
  if (*source == 0 || strcmp (source, "table") == 0)
    {
      if (quiet)
        return xstrdup ("{{.ID}}");
      buf_puts (&b, DEFAULT_TABLE);
      if (size)
        buf_puts (&b, "\\t{{.Size}}"); /* docker's raw string: the formatter makes it a TAB */
    }
  else if (strcmp (source, "raw") == 0)
    {
      if (quiet)
        return xstrdup ("container_id: {{.ID}}");
      buf_puts (&b, RAW);
      if (size)
        buf_puts (&b, "size: {{.Size}}\\n");
    }
  else if (quiet)
    return xstrdup ("{{.ID}}");
  else
    buf_puts (&b, source);
  return buf_steal (&b);
}

bool
psfmt_need_size (const char *format, bool size)
{
  return size || strstr (format, ".Size") != NULL;
}

static const char *
str_field (const json_t *o, const char *k)
{
  const char *s = json_string_value (json_object_get (o, k));
  return s ? s : "";
}

static json_int_t
int_field (const json_t *o, const char *k)
{
  json_t *v = json_object_get (o, k);
  return json_is_integer (v) ? json_integer_value (v) : 0;
}

/* Names without their "/"; truncated: the first one that is not a link alias ("/a/b"). */
static void
names_text (const json_t *names, bool trunc, struct buf *out)
{
  size_t n = json_array_size (names);
  for (size_t i = 0; i < n; i++)
    {
      const char *s = json_string_value (json_array_get (names, i));
      if (s == NULL)
        continue;
      s += *s == '/';
      if (trunc && strchr (s, '/') == NULL)
        {
          buf_reset (out);
          buf_puts (out, s);
          return;
        }
      if (out->len)
        buf_putc (out, ',');
      buf_puts (out, s);
    }
}

/* docker's Image(): truncated, the short id when Image is the id, else the familiar
 * name without its digest. */
static char *
image_text (const json_t *s, bool trunc)
{
  const char *image = str_field (s, "Image");
  if (*image == 0)
    return xstrdup ("<no image>");
  if (!trunc)
    return xstrdup (image);
  _cleanup_free_ char *ti = formatter_truncate_id (str_field (s, "ImageID"));
  _cleanup_free_ char *tm = formatter_truncate_id (image);
  if (strcmp (ti, tm) == 0)
    return xstrdup (ti);
  struct image_ref r;
  struct kiln_err err = {0};
  if (ref_parse (image, false, &r, &err) < 0)
    {
      kiln_err_clear (&err);
      return xstrdup (image);
    }
  struct buf b = BUF_INIT;
  char *repo = ref_familiar_repository (&r);
  buf_puts (&b, repo);
  free (repo);
  if (r.tag)
    buf_printf (&b, ":%s", r.tag);
  ref_clear (&r);
  return buf_steal (&b);
}

/* "k=v" of every label, sorted, joined by ",". */
static void
labels_text (const json_t *labels, struct buf *out)
{
  size_t n = json_object_size (labels), i = 0;
  if (n == 0)
    return;
  _cleanup_strv_ struct strv kv = STRV_INIT;
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) labels, k, v)
  {
    struct buf b = BUF_INIT;
    buf_printf (&b, "%s=%s", k, json_string_value (v) ? json_string_value (v) : "");
    strv_push_owned (&kv, buf_steal (&b));
  }
  strv_sort (&kv);
  for (i = 0; i < kv.n; i++)
    buf_printf (out, "%s%s", i ? "," : "", kv.v[i]);
}

static void
mounts_text (const json_t *mounts, bool trunc, struct buf *out, int *local)
{
  *local = 0;
  for (size_t i = 0; i < json_array_size (mounts); i++)
    {
      const json_t *m = json_array_get (mounts, i);
      const char *name = str_field (m, "Name");
      if (*name == 0)
        name = str_field (m, "Source");
      _cleanup_free_ char *cut = trunc ? formatter_ellipsis (name, 15) : xstrdup (name);
      buf_printf (out, "%s%s", i ? "," : "", cut);
      if (strcmp (str_field (m, "Driver"), "local") == 0)
        (*local)++;
    }
}

static void
networks_text (const json_t *s, struct buf *out)
{
  const json_t *nets = json_object_get (json_object_get (s, "NetworkSettings"), "Networks");
  _cleanup_strv_ struct strv names = STRV_INIT;
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) nets, k, v) strv_push (&names, k);
  strv_sort (&names);
  for (size_t i = 0; i < names.n; i++)
    buf_printf (out, "%s%s", i ? "," : "", names.v[i]);
}

/* Health.Status, else the "(healthy)" docker's Status ends with. */
static const char *
health_text (const json_t *s)
{
  const char *h = json_string_value (json_object_get (json_object_get (s, "Health"), "Status"));
  if (h)
    return h;
  const char *st = str_field (s, "Status");
  size_t n = strlen (st);
  static const struct
  {
    const char *suffix, *status;
  } known[] = {{"(healthy)", "healthy"}, {"(unhealthy)", "unhealthy"}, {"(health: starting)", "starting"}};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    {
      size_t k = strlen (known[i].suffix);
      if (n >= k && strcmp (st + n - k, known[i].suffix) == 0)
        return known[i].status;
    }
  return "";
}

static json_t *
platform_json (const json_t *s)
{
  const json_t *p = json_object_get (json_object_get (s, "ImageManifestDescriptor"), "platform");
  if (!json_is_object (p))
    return json_null ();
  json_t *o = json_pack ("{s:s, s:s}", "architecture", str_field (p, "architecture"), "os", str_field (p, "os"));
  static const char *const optional[] = {"os.version", "os.features", "variant"};
  for (size_t i = 0; i < 3; i++)
    if (json_object_get (p, optional[i]))
      json_object_set (o, optional[i], json_object_get (p, optional[i]));
  return o;
}

json_t *
psfmt_context (const json_t *s, const struct psfmt_opts *o)
{
  const char *id = str_field (s, "ID");
  _cleanup_free_ char *short_id = formatter_truncate_id (id);
  _cleanup_free_ char *image = image_text (s, o->trunc);
  _cleanup_free_ char *cmd = o->trunc ? formatter_ellipsis (str_field (s, "Command"), 20) : xstrdup (str_field (s, "Command"));
  _cleanup_buf_ struct buf command = BUF_INIT, names = BUF_INIT, labels = BUF_INIT, mounts = BUF_INIT, nets = BUF_INIT,
                           ports = BUF_INIT;
  utf8_go_quote (&command, cmd, strlen (cmd));
  names_text (json_object_get (s, "Names"), o->trunc, &names);
  labels_text (json_object_get (s, "Labels"), &labels);
  int local;
  mounts_text (json_object_get (s, "Mounts"), o->trunc, &mounts, &local);
  if (json_object_get (s, "NetworkSettings"))
    networks_text (s, &nets);
  psfmt_ports (json_object_get (s, "Ports"), &ports);
  json_int_t created = int_field (s, "Created");
  char at[64], ago[48], rw[32], virt[32], size[80], nlocal[16];
  format_go_time (created, at);
  format_ago (created, o->now, ago);
  format_size_prec ((double) int_field (s, "SizeRw"), 3, rw);
  format_size_prec ((double) int_field (s, "SizeRootFs"), 3, virt);
  if (int_field (s, "SizeRootFs") > 0)
    snprintf (size, sizeof size, "%s (virtual %s)", rw, virt);
  else
    snprintf (size, sizeof size, "%s", rw);
  snprintf (nlocal, sizeof nlocal, "%d", local);
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "ID",
                    o->trunc ? short_id : id, "Image", image, "Command", buf_str (&command), "CreatedAt", at,
                    "RunningFor", ago, "Ports", buf_str (&ports), "State", str_field (s, "State"), "Status",
                    str_field (s, "Status"), "Size", size, "Names", buf_str (&names), "Labels", buf_str (&labels),
                    "Mounts", buf_str (&mounts), "LocalVolumes", nlocal, "Networks", buf_str (&nets), "Platform",
                    platform_json (s), "HealthStatus", health_text (s));
}

json_t *
psfmt_header (void)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
                    "CONTAINER ID", "Image", "IMAGE", "Command", "COMMAND", "CreatedAt", "CREATED AT", "RunningFor",
                    "CREATED", "Ports", "PORTS", "State", "STATE", "Status", "STATUS", "Size", "SIZE", "Names",
                    "NAMES", "Labels", "LABELS", "Mounts", "MOUNTS", "LocalVolumes", "LOCAL VOLUMES", "Networks",
                    "NETWORKS", "Platform", "PLATFORM", "HealthStatus", "HEALTH STATUS");
}

/* ---------- {{.Label "k"}} */

/* The row keeps its labels only as the Labels text ("a=1,b=2", what {{json .}} shows):
 * the value is what follows "k=" up to the next ",x=" that starts another label. */
static json_t *
label_method (json_t *root, json_t *const *args, char **msg)
{
  (void) msg;
  const char *want = json_string_value (args[0]), *all = str_field (root, "Labels");
  size_t wl = strlen (want);
  for (const char *p = all; *p;)
    {
      const char *next = p;
      /* the end of this label: a "," followed by a "k=" */
      for (;;)
        {
          next = strchr (next, ',');
          if (next == NULL || strchr (next + 1, '=') != NULL)
            break;
          next++;
        }
      const char *end = next ? next : p + strlen (p);
      if ((size_t) (end - p) > wl && strncmp (p, want, wl) == 0 && p[wl] == '=')
        return json_stringn (p + wl + 1, (size_t) (end - p - wl - 1));
      if (next == NULL)
        break;
      p = next + 1;
    }
  return json_string ("");
}

const struct gotemplate_method psfmt_methods[] = {{"Label", 1, label_method}, {0}};

/* ---------- DisplayablePorts */

struct port
{
  char ip[64];
  unsigned char addr[16];
  int family; /* 0: no address, 4, 6 */
  int priv, pub;
  char type[16];
};

/* netip.Addr's order: no address, then IPv4, then IPv6, each by value. */
static int
cmp_addr (const struct port *a, const struct port *b)
{
  if (a->family != b->family)
    return a->family - b->family;
  if (a->family == 0)
    return strcmp (a->ip, b->ip);
  return memcmp (a->addr, b->addr, a->family == 4 ? 4 : 16);
}

static int
cmp_ports (const void *x, const void *y)
{
  const struct port *a = x, *b = y;
  if (a->priv != b->priv)
    return a->priv < b->priv ? -1 : 1;
  int c = cmp_addr (a, b);
  if (c)
    return c;
  if (a->pub != b->pub)
    return a->pub < b->pub ? -1 : 1;
  return strcmp (a->type, b->type);
}

/* net.JoinHostPort: brackets around an address with a colon. */
static void
join_host_port (struct buf *out, const char *ip, const char *port)
{
  if (strchr (ip, ':'))
    buf_printf (out, "[%s]:%s", ip, port);
  else
    buf_printf (out, "%s:%s", ip, port);
}

struct group
{
  const struct port *key; /* the address and type of the group */
  int first, last;
};

static void
form_group (struct buf *out, const struct group *g)
{
  if (out->len)
    buf_puts (out, ", ");
  char range[32];
  if (g->first == g->last)
    snprintf (range, sizeof range, "%d", g->first);
  else
    snprintf (range, sizeof range, "%d-%d", g->first, g->last);
  if (g->key->ip[0])
    {
      join_host_port (out, g->key->ip, range);
      buf_printf (out, "->%s", range);
    }
  else
    buf_puts (out, range);
  buf_printf (out, "/%s", g->key->type);
}

static bool
same_group (const struct port *a, const struct port *b)
{
  return strcmp (a->ip, b->ip) == 0 && strcmp (a->type, b->type) == 0;
}

void
psfmt_ports (const json_t *ports, struct buf *out)
{
  size_t n = json_array_size (ports);
  if (n == 0 || n > 65536 * 4)
    return;
  struct port *p = xcalloc (n, sizeof *p);
  for (size_t i = 0; i < n; i++)
    {
      const json_t *j = json_array_get (ports, i);
      snprintf (p[i].ip, sizeof p[i].ip, "%s", str_field (j, "IP"));
      snprintf (p[i].type, sizeof p[i].type, "%s", str_field (j, "Type"));
      p[i].priv = (int) int_field (j, "PrivatePort");
      p[i].pub = (int) int_field (j, "PublicPort");
      if (inet_pton (AF_INET, p[i].ip, p[i].addr) == 1)
        p[i].family = 4;
      else if (inet_pton (AF_INET6, p[i].ip, p[i].addr) == 1)
        p[i].family = 6;
    }
  qsort (p, n, sizeof *p, cmp_ports);
  struct group *groups = xcalloc (n, sizeof *groups);
  size_t ngroups = 0;
  _cleanup_buf_ struct buf mappings = BUF_INIT;
  for (size_t i = 0; i < n; i++)
    {
      if (p[i].ip[0] && p[i].pub != p[i].priv)
        {
          char port[16];
          snprintf (port, sizeof port, "%d", p[i].pub);
          if (mappings.len)
            buf_puts (&mappings, ", ");
          join_host_port (&mappings, p[i].ip, port);
          buf_printf (&mappings, "->%d/%s", p[i].priv, p[i].type);
          continue;
        }
      struct group *g = NULL;
      for (size_t k = 0; k < ngroups && g == NULL; k++)
        if (same_group (groups[k].key, &p[i]))
          g = &groups[k];
      if (g == NULL)
        {
          groups[ngroups++] = (struct group){&p[i], p[i].priv, p[i].priv};
          continue;
        }
      if (p[i].priv == g->last + 1)
        {
          g->last = p[i].priv;
          continue;
        }
      /* a gap: the run so far is printed now, a new one starts in its place */
      form_group (out, g);
      g->first = g->last = p[i].priv;
    }
  for (size_t k = 0; k < ngroups; k++)
    form_group (out, &groups[k]);
  if (mappings.len)
    buf_printf (out, "%s%s", out->len ? ", " : "", buf_str (&mappings));
  free (groups);
  free (p);
}
