/* frontend/context.h — the build context: which .dockerignore applies.  What
 * it selects is read by frontend/ctxscan.h, the one walker of the context. */
#pragma once

/* The ignore file that applies: `<dockerfile>.dockerignore` beside the Dockerfile
 * when it exists, else `<context>/.dockerignore`. The caller frees the result. */
char *context_ignore_path (const char *context_dir, const char *dockerfile);
