/* solver/builder.h — private to src/solver/: the state of one `kiln build` and the
 * functions its files share.  Others call solver/build.h.
 *
 * One struct builder lives in build_run; the graph's children each take a copy
 * (graph.c) with their own store connection.  Files: build.c (stages, steps,
 * exporters, build_run), cache.c (records and keys), scratch.c (a step's
 * directories and snapshot, the trash), progress.c (printing), ctxhash.c
 * (context content digests), graph.c (the stages as a graph on the scheduler),
 * export.c (--output), step.c (a step's key, cache hit or scratch and commit),
 * exec_op.c and file_op.c (RUN's and COPY/ADD's ops, solver/op_solve.h), solve.c
 * (the steps a frontend hands over, solver/solve.h). */
#pragma once
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "graph/def.h"
#include "solver/build.h"
#include "store/cache_records.h"
#include "store/file_digests.h"
#include "store/snapshots.h"
#include "util/envmap.h"
#include "worker/sandbox.h"

struct ignore_rules; /* context/ignore.h: only ctxhash.c and build.c look inside */
struct ctx_selection;
struct step_desc; /* solver/op_solve.h */

#define TAIL_LINES 20

struct layerlist
{
  struct digest *d;
  size_t n, cap;
};

static inline void
layers_push (struct layerlist *l, const struct digest *d)
{
  l->d = xgrow (l->d, &l->cap, l->n + 1, sizeof *l->d);
  l->d[l->n++] = *d;
}

struct stage_out
{
  bool built;
  json_t *config;
  struct layerlist layers;
  char key[DIGEST_STR_LEN + 1];
};

struct builder
{
  struct envmap snapshot_ids; /* diff_id → its tree relative to snapshots/, of layers seen this build */
  /* Steps' snapshots and cache records not yet in the store: committed together
   * (one syncfs) every BATCH_STEPS snapshots and when the build ends, however it ends. */
  struct snapshot_batch pending;
  struct envmap pending_cache; /* key → result */
  /* Every key this invocation made (here or in a child of the graph) → its result:
   * a hit even with --no-cache, so identical steps run once per build. */
  struct envmap made;
  struct sandbox_netns net; /* shared by the RUN steps that use the default network */
  bool net_started;
  struct kiln_store *st;
  const struct build_request *rq;
  struct graph_def *def; /* the stages, from the frontend (graph/def.h) */
  struct stage_out *outs;
  int ctx_fd;
  char *ctx_path;
  struct ignore_rules *ignore;
  struct ctx_selection *copy_sel; /* context/ctxscan.h: the last COPY's trees */
  int step;
  int64_t now;
  bool epoch_pinned;        /* SOURCE_DATE_EPOCH: every time is `now` */
  bool quiet;
  /* Progress as SolveStatus lines (progress.c) on this fd: stderr for rawjson, the
   * terminal view's pipe for tty (solver/ttyview.h); -1: plain text. */
  int events_fd;
  pid_t view_pid;
  /* The step being built, as a vertex of those events. */
  char vtx[DIGEST_STR_LEN + 1];
  char vtx_started[40];
  char *vtx_name;
  bool net_warned;
  struct kiln_err *err;
  /* The file_digests memo, its statements prepared once: a context of 20,000
   * files otherwise spends most of a no-op rebuild compiling the same SQL. */
  struct file_digests *digests;
  size_t cur_stage; /* the stage being built */
  /* tmp/trash-PID and the process that empties it (see cleaner_start). */
  char trash[48];
  pid_t trash_pid;
  unsigned trash_n;
  pid_t cleaner;
  int cleaner_fd;
  /* Cache keys the build used, and the stage of each (for --cache-to). */
  struct strv used_keys;
  size_t *used_stage;
  size_t used_cap;
  /* A probe walk (graph.c): output held in probe_out; the first step that would
   * run sets probe_missed and fails. */
  bool probing;
  bool probe_missed;
  struct buf probe_out;
  /* Cache-miss explanations (explain.c): the info of every key seen this build,
   * those to write with the next batch, each step's slot → key (written when the
   * build succeeds), and the slot of the step being built. */
  struct envmap infos;        /* a context COPY's with its "files" */
  struct envmap pending_info; /* without them: */
  struct envmap pending_files;
  struct envmap slots;
  char *slot_ident;
  size_t slot_idx;
  char cur_slot[DIGEST_STR_LEN + 1];
  /* A context COPY's sources while its key is looked up: on a miss its files are
   * listed (path → digest) into collect_files by the one context walker. */
  const struct strv *note_sources, *note_excludes;
  struct envmap *collect_files;
};

/* The stage a frontend runs steps on (solver/solve.h). */
struct solve_stage
{
  struct builder *b;
  struct stage_out *o;
  bool quiet; /* the build's quiet before the stage: a hidden step adds to it */
};

struct step_dirs
{
  struct snapshot_new sn;
  char upper[4200], work[4200], merged[4200], merged_src[4200];
};

struct output_reader
{
  struct builder *b;
  int step;
  double start;
  char *tail[TAIL_LINES];
  size_t n_tail;
};

/* Set by SIGINT/SIGTERM during a build: between steps the build stops there. */
extern volatile sig_atomic_t build_interrupted;

/* build.c: stages and steps */
/* An image named by FROM, COPY --from or a mount's from=: from the store, or fetched
 * through the request's fetch_image when the store lacks it (always, with --pull). */
int resolve_base_image (struct builder *b, const char *ref, struct digest *id);
/* Builds the steps [0, upto) of stage si into b->outs[si] (the frontend runs them);
 * those before `shown` (and the FROM line unless shown is 0) are replayed without a word. */
int build_stage_part (struct builder *b, size_t si, size_t upto, size_t shown);
int build_stage (struct builder *b, size_t si); /* all of it, printed */
/* Builds the needed stages in order; those marked in prebuilt (may be NULL)
 * are replayed from the cache without a word. */
int walk_stages (struct builder *b, const bool *prebuilt);

/* step.c */
/* Adds the history entry of a step (`empty`: no layer). */
void stage_history (struct builder *b, struct stage_out *o, const char *created_by, bool empty, int64_t when);
/* Applies a step's result (a diff_id or "none") to the stage. */
void take_result (struct builder *b, struct stage_out *o, const char *result, const char *created_by, int64_t when);
/* A step's key from the stage's last key and its material: noted (explain.c) with the
 * text as written and the args in scope (may be NULL), and made the stage's last key. */
void step_key (struct builder *b, struct stage_out *o, const char *text, const char *material, size_t len,
               const struct envmap *args, char key[static DIGEST_STR_LEN + 1]);
/* A hit: the recorded result applied, 1.  A miss: the step announced (label, may be
 * NULL), 0.  `keeps_layer`: an empty layer is the step's result too. */
int step_cached (struct builder *b, struct stage_out *o, const char *key, const char *label, const char *created_by,
                 bool keeps_layer);
/* An op's step: its key from the canonical JSON of km (solver/op_solve.h's step_desc
 * says how it is noted), then step_cached with its layer kept. */
int step_lookup (struct builder *b, struct stage_out *o, const json_t *km, const struct step_desc *d,
                 const char *created_by, char key[static DIGEST_STR_LEN + 1]);
/* The step's scratch directories and the stage's lowers, which one overlay must hold. */
int step_prepare (struct builder *b, struct stage_out *o, struct step_dirs *sd, struct strv *lowers);
/* The filled upper snapshot, recorded under key and applied; t0: when it started. */
int step_commit (struct builder *b, struct stage_out *o, struct step_dirs *sd, const char *key, const char *created_by,
                 double t0, bool announce, bool keeps_layer);

/* cache.c */
/* --no-cache, or --no-cache-filter naming the current stage. */
bool cache_skipped (const struct builder *b);
/* The recorded result of a step (a diff_id or "none") and when it first ran, or
 * NULL on a miss; a key made in this invocation is a hit even with --no-cache. */
char *cache_get (struct builder *b, const char *key, int64_t *created);
/* Records a step's result; commits the batch when it is full. */
int cache_put (struct builder *b, const char *key, const char *result);
/* In a probe walk (graph.c), a step that would run ends the walk: -1. */
int probe_miss (struct builder *b);
/* Commits the pending snapshots and cache records (after an error too). */
int build_flush (struct builder *b, struct kiln_err *err);
/* sha256(parent "\n" material): the chain of step keys (bytes fixed: stores stay warm). */
void key_of (const char *parent, const char *material, size_t len, char out[static DIGEST_STR_LEN + 1]);

/* scratch.c */
/* The overlay lowers of a layer list, newest first. */
int lowers_of (struct builder *b, const struct layerlist *l, struct strv *out);
/* Removes from a step's upper the mount points a RUN left that the image lacks. */
void clean_mountpoints (struct builder *b, int fs_fd, const struct strv *lowers, const struct strv *paths);
/* A step's scratch directories and new snapshot; step_finish snapshots the upper:
 * 1 when it changed something or `keep_empty` (diff_id set: an empty layer then),
 * 0 when not, -1 on error. */
int step_begin (struct builder *b, struct step_dirs *sd);
int step_finish (struct builder *b, struct step_dirs *sd, bool keep_empty, struct digest *diff_id);
/* Waits for the cleaner to empty this process's trash. */
void trash_empty (struct builder *b);

/* progress.c */
/* Text of the build that is no step's (warnings, notes, the image written). */
void __attribute__ ((format (printf, 2, 3))) say (struct builder *b, const char *fmt, ...);
/* Step b->step: begins (its label), ends (cached; or built in secs, `#N DONE` in
 * plain progress when announce), fails, or has a note. */
void step_start (struct builder *b, const char *label);
void step_end (struct builder *b, bool cached, double secs, bool announce);
void step_error (struct builder *b, const char *msg);
void __attribute__ ((format (printf, 2, 3))) step_status (struct builder *b, const char *fmt, ...);
/* Prints a probe walk's held output (graph.c), as text or events. */
void probe_output_flush (struct builder *b);
double now_s (void); /* monotonic seconds */
/* A RUN step's output lines (the sandbox's callback; arg is a struct output_reader). */
void on_output (void *arg, const char *line, size_t len);

/* ctxhash.c */
/* Feeds the content digests of context sources (after .dockerignore and --exclude) to h. */
/* With `keep`, b->copy_sel holds the scanned trees until the next such call:
 * what a copy of these sources sees (the one context selection). */
int hash_context_sources (struct builder *b, const struct strv *sources, const struct strv *excludes, struct hasher *h,
                          bool keep);
void context_selection_free (struct builder *b);

/* Does a bind mount of the context need a view (.dockerignore has rules)? */
bool context_view_needed (const struct builder *b);
/* Copies what the context selects of `source` into a new scratch tree
 * (view->upper, same layout as the context); snapshot_abort() drops it. */
int context_view (struct builder *b, const char *source, struct step_dirs *view);

/* explain.c */
/* Notes a step's key and what it was made of (text as written; args may be NULL). */
void step_note (struct builder *b, const char *parent, const char *key, const char *text, const char *material,
                size_t len, const struct envmap *args);
/* Notes the start of a stage on an image (its id is the first step's parent). */
void stage_note_base (struct builder *b, const char *image_id, const char *ref);
/* A step that will run: with --explain or --metadata-file, lists a context COPY's
 * files and says what changed since the step's last build. */
void step_missed (struct builder *b, const char *key, const char *label);
/* Queues the info of a key just recorded for the next batch commit (its file list
 * apart: step_files). */
void stepinfo_pend (struct builder *b, const char *key);
/* The slot of each step → its key, for the next build to compare with. */
int explain_finish (struct builder *b);

/* export.c */
/* Refuses an --output spec kiln cannot write, before anything is built. */
int outputs_check (const struct build_request *rq, struct kiln_err *err);
/* Writes the built image (stage output o, image id) where --output says. */
int export_output (struct builder *b, const struct stage_out *o, const struct digest *id);

/* graph.c */
/* Builds every needed stage into b->outs: with branches and more than one job,
 * through the graph in child processes (unless a probe walk finds every step
 * cached), then the walk in order; else the walk alone. */
int build_all_stages (struct builder *b);
