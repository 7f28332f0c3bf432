/* container/psfmt.h — `kiln ps` rows as docker's ContainerContext shows them
 * (cli/command/formatter/container.go), for util/formatter to print.
 *
 * A container comes in as docker's container.Summary (ID, Names ["/n"], Image, ImageID,
 * Command, Created (Unix s), Ports [{IP, PrivatePort, PublicPort, Type}], SizeRw,
 * SizeRootFs, Labels {}, State, Status, Mounts [{Name, Source, Driver}],
 * NetworkSettings {Networks {}}, Health {Status}, ImageManifestDescriptor {platform})
 * and goes out as one row object whose keys are the fields a --format can name: ID,
 * Image, Command, CreatedAt, RunningFor, Ports, State, Status, Size, Names, Labels,
 * Mounts, LocalVolumes, Networks, Platform, HealthStatus ({{json .}} prints exactly
 * these), plus the method {{.Label "k"}} (psfmt_methods). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/gotemplate.h"

struct psfmt_opts
{
  bool trunc;  /* short ids, commands, images and mount names (not --no-trunc) */
  int64_t now; /* Unix seconds, for RunningFor */
};

/* docker's NewContainerFormat: "" and "table" give the default table (a SIZE column with
 * -s), "raw" the raw listing; -q makes any format {{.ID}}.  Caller frees. */
char *psfmt_format (const char *source, bool quiet, bool size);

/* docker's rule for when ps computes sizes: -s, or a format that names .Size. */
bool psfmt_need_size (const char *format, bool size);

/* One row from one Summary. */
json_t *psfmt_context (const json_t *summary, const struct psfmt_opts *o);

/* The column titles, by field name (the header map of a table). */
json_t *psfmt_header (void);

/* docker's DisplayablePorts: ports sorted, runs of consecutive ports of one address and
 * protocol joined as ranges, mappings to another public port last ("0.0.0.0:80->8080/tcp,
 * 9000-9001/udp"). */
void psfmt_ports (const json_t *ports, struct buf *out);

/* The row's methods with arguments: {{.Label "k"}}. */
extern const struct gotemplate_method psfmt_methods[];

/* The type docker names in "can't evaluate field X in type ..." for a ps row. */
#define PSFMT_TYPE "*formatter.ContainerContext"
