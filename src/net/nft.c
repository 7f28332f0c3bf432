/* net/nft.c — kiln's nftables table and the accept rules in docker's chains. */
#include "net/nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

/* A context costs a netlink socket, reading iproute2's tables and a first fetch of
 * the ruleset's cache: one of each kind is kept for the process (making a bridge
 * runs four commands).  Not across a fork: the socket would be shared. */
static struct nft_ctx *kept[2];
static pid_t kept_by;

static struct nft_ctx *
ctx_new (bool json, struct kiln_err *err)
{
  if (kept_by != getpid ())
    {
      kept[0] = kept[1] = NULL; /* a parent's: left alone (its socket is the parent's) */
      kept_by = getpid ();
    }
  if (kept[json])
    return kept[json];
  struct nft_ctx *c = nft_ctx_new (NFT_CTX_DEFAULT);
  if (c == NULL)
    {
      kiln_err_set (err, ENOMEM, "libnftables: no context");
      return NULL;
    }
  nft_ctx_buffer_output (c);
  nft_ctx_buffer_error (c);
  if (json)
    nft_ctx_output_set_flags (c, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  kept[json] = c;
  return c;
}

void
nft_release (void)
{
  if (kept_by != getpid ())
    return;
  for (int i = 0; i < 2; i++)
    if (kept[i])
      nft_ctx_free (kept[i]);
  kept[0] = kept[1] = NULL;
}

/* Empties the context's buffers for its next command (reading them resets them). */
static void
ctx_done (struct nft_ctx *c)
{
  nft_ctx_get_output_buffer (c);
  nft_ctx_get_error_buffer (c);
}

/* The first line of libnftables's error, which names what failed. */
static int
nft_fail (struct nft_ctx *c, const char *cmds, struct kiln_err *err)
{
  const char *e = nft_ctx_get_error_buffer (c);
  size_t len = e ? strcspn (e, "\n") : 0;
  return kiln_err_set (err, EIO, "nftables: %.*s (in: %.200s)", (int) len, e ? e : "", cmds);
}

int
nft_run (const char *cmds, struct kiln_err *err)
{
  struct nft_ctx *c = ctx_new (false, err);
  if (c == NULL)
    return -1;
  int ret = nft_run_cmd_from_buffer (c, cmds) == 0 ? 0 : nft_fail (c, cmds, err);
  ctx_done (c);
  return ret;
}

json_t *
nft_list_json (const char *cmd, struct kiln_err *err)
{
  struct nft_ctx *c = ctx_new (true, err);
  if (c == NULL)
    return NULL;
  json_t *out = NULL;
  if (nft_run_cmd_from_buffer (c, cmd) != 0)
    nft_fail (c, cmd, err);
  else
    {
      json_error_t je;
      out = json_loads (nft_ctx_get_output_buffer (c), 0, &je);
      if (out == NULL)
        kiln_err_set (err, EIO, "nftables: %s: unreadable JSON: %s", cmd, je.text);
    }
  ctx_done (c);
  return out;
}

static bool
exists (const char *cmd)
{
  struct kiln_err ignored = {0};
  json_t *j = nft_list_json (cmd, &ignored);
  kiln_err_clear (&ignored);
  json_decref (j);
  return j != NULL;
}

/* Networks do not reach each other (docker's isolation): a packet between two
 * kiln bridges passes only if it is a published port's (DNAT) or the two are one
 * (`same_bridge` holds "BR . BR" for every bridge). */
static const char isolation[]
    = "add set ip kiln same_bridge { type ifname . ifname; }\n"
      "add rule ip kiln forward iifname \"kiln-*\" oifname \"kiln-*\" ct status dnat accept\n"
      "add rule ip kiln forward iifname \"kiln-*\" oifname \"kiln-*\" iifname . oifname != @same_bridge drop\n";

int
nft_setup (struct kiln_err *err)
{
  if (exists ("list set ip kiln same_bridge"))
    return 0;
  if (exists ("list table ip kiln"))
    {
      /* A table of a kiln before isolation: the set and its rule added once. */
      if (nft_run (isolation, err) < 0)
        return kiln_err_wrap (err, "adding isolation to kiln's nftables table");
      return 0;
    }
  static const char table[]
      = "table ip kiln {\n"
        " map ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
        " map ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n"
        " set subnets { type ipv4_addr; flags interval; }\n"
        " set internal { type ipv4_addr; flags interval; }\n"
        " chain prerouting { type nat hook prerouting priority dstnat; policy accept;\n"
        "  dnat ip addr . port to ip daddr . meta l4proto . th dport map @ports_ip\n"
        "  fib daddr type local dnat ip addr . port to meta l4proto . th dport map @ports_any\n"
        " }\n"
        " chain output { type nat hook output priority -100; policy accept;\n"
        "  dnat ip addr . port to ip daddr . meta l4proto . th dport map @ports_ip\n"
        "  fib daddr type local dnat ip addr . port to meta l4proto . th dport map @ports_any\n"
        " }\n"
        " chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
        "  ip saddr @subnets ip saddr != @internal oifname != \"kiln-*\" masquerade\n"
        "  ct status dnat oifname \"kiln-*\" ip saddr 127.0.0.0/8 masquerade\n"
        "  ct status dnat oifname \"kiln-*\" ip saddr @subnets masquerade\n"
        " }\n"
        " chain forward { type filter hook forward priority filter; policy accept;\n"
        "  ip saddr @internal oifname != \"kiln-*\" drop\n"
        "  ip daddr @internal iifname != \"kiln-*\" drop\n"
        " }\n"
        " chain input { type filter hook input priority filter; policy accept;\n"
        "  iifname \"kiln-*\" ip saddr @internal drop\n"
        " }\n"
        "}\n";
  _cleanup_buf_ struct buf all = BUF_INIT;
  buf_puts (&all, table);
  buf_puts (&all, isolation);
  if (nft_run (buf_str (&all), err) < 0)
    return kiln_err_wrap (err, "making kiln's nftables table");
  return 0;
}

/* The chain docker documents for users' rules (DOCKER-USER), or filter FORWARD
 * itself, NULL if neither exists; the handles and comments ("HANDLE COMMENT") of
 * the rules in it marked `mark` (NULL: any "kiln:" mark).  One listing. */
static const char *
foreign_rules (const char *mark, struct strv *handles)
{
  static const char *const chains[] = {"DOCKER-USER", "FORWARD"};
  for (size_t c = 0; c < 2; c++)
    {
      _cleanup_buf_ struct buf cmd = BUF_INIT;
      buf_printf (&cmd, "list chain ip filter %s", chains[c]);
      struct kiln_err ignored = {0};
      json_t *j = nft_list_json (buf_str (&cmd), &ignored);
      kiln_err_clear (&ignored);
      if (j == NULL)
        continue;
      size_t i;
      json_t *item;
      json_array_foreach (json_object_get (j, "nftables"), i, item)
      {
        json_t *rule = json_object_get (item, "rule");
        const char *comment = json_string_value (json_object_get (rule, "comment"));
        if (rule == NULL || comment == NULL || strncmp (comment, "kiln:", 5) != 0)
          continue;
        if (mark && strcmp (comment, mark) != 0)
          continue;
        struct buf h = BUF_INIT;
        buf_printf (&h, "%lld %s", (long long) json_integer_value (json_object_get (rule, "handle")), comment);
        strv_push_owned (handles, buf_steal (&h));
      }
      json_decref (j);
      return chains[c];
    }
  return NULL;
}

int
nft_foreign_accept (const char *bridge, const char *also, struct kiln_err *err)
{
  _cleanup_buf_ struct buf mark = BUF_INIT, cmds = BUF_INIT;
  buf_printf (&mark, "kiln:%s", bridge);
  _cleanup_strv_ struct strv have = STRV_INIT;
  const char *chain = foreign_rules (buf_str (&mark), &have);
  if (also)
    buf_puts (&cmds, also);
  if (chain && have.n == 0)
    buf_printf (&cmds,
                "insert rule ip filter %1$s iifname \"%2$s\" accept comment \"%3$s\"\n"
                "insert rule ip filter %1$s oifname \"%2$s\" ct state established,related accept comment \"%3$s\"\n"
                "insert rule ip filter %1$s oifname \"%2$s\" ct status dnat accept comment \"%3$s\"\n",
                chain, bridge, buf_str (&mark));
  return cmds.len ? nft_run (buf_str (&cmds), err) : 0;
}

int
nft_foreign_unaccept (const char *bridge, const char *also, struct kiln_err *err)
{
  _cleanup_buf_ struct buf mark = BUF_INIT, cmds = BUF_INIT;
  buf_printf (&mark, "kiln:%s", bridge);
  _cleanup_strv_ struct strv have = STRV_INIT;
  const char *chain = foreign_rules (buf_str (&mark), &have);
  for (size_t i = 0; chain && i < have.n; i++)
    buf_printf (&cmds, "delete rule ip filter %s handle %lld\n", chain, atoll (have.v[i]));
  if (also)
    buf_puts (&cmds, also);
  if (cmds.len && nft_run (buf_str (&cmds), err) < 0)
    {
      /* `also` may name what is gone already: the rules alone then. */
      kiln_err_clear (err);
      buf_reset (&cmds);
      for (size_t i = 0; chain && i < have.n; i++)
        buf_printf (&cmds, "delete rule ip filter %s handle %lld\n", chain, atoll (have.v[i]));
      return cmds.len ? nft_run (buf_str (&cmds), err) : 0;
    }
  return 0;
}

int
nft_foreign_list (struct strv *found, struct kiln_err *err)
{
  _cleanup_strv_ struct strv have = STRV_INIT;
  const char *chain = foreign_rules (NULL, &have);
  for (size_t i = 0; chain && i < have.n; i++)
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "%s %s", chain, strchr (have.v[i], ' ') + 1);
      strv_push_owned (found, buf_steal (&b));
    }
  return 0;
}

int
nft_foreign_drops (struct strv *found, struct kiln_err *err)
{
  json_t *j = nft_list_json ("list chains", err);
  if (j == NULL)
    return -1;
  size_t i;
  json_t *item;
  json_array_foreach (json_object_get (j, "nftables"), i, item)
  {
    json_t *c = json_object_get (item, "chain");
    const char *family = json_string_value (json_object_get (c, "family"));
    const char *table = json_string_value (json_object_get (c, "table"));
    const char *name = json_string_value (json_object_get (c, "name"));
    const char *hook = json_string_value (json_object_get (c, "hook"));
    const char *policy = json_string_value (json_object_get (c, "policy"));
    if (!family || !table || !name || !hook || !policy || strcmp (hook, "forward") != 0 || strcmp (policy, "drop") != 0)
      continue;
    if (strcmp (family, "ip") != 0 && strcmp (family, "inet") != 0)
      continue;
    if (strcmp (family, "ip") == 0 && (strcmp (table, "kiln") == 0 || (strcmp (table, "filter") == 0 && strcmp (name, "FORWARD") == 0)))
      continue; /* kiln's own, or the one kiln's accept rules are in (or jumped to) */
    struct buf b = BUF_INIT;
    buf_printf (&b, "%s %s %s", family, table, name);
    strv_push_owned (found, buf_steal (&b));
  }
  json_decref (j);
  return 0;
}
