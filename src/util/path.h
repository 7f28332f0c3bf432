/* util/path.h — lexical operations on '/'-separated paths (no file system access). */
#pragma once

/* Cleans a '/'-separated path lexically, as Go's path.Clean; the caller frees. */
char *path_clean (const char *path);
