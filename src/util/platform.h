/* util/platform.h — the platform this process runs on, in OCI's words. */
#pragma once

/* The host platform, e.g. "linux/amd64" or "linux/arm/v7" (a static string). */
const char *host_platform (void);
