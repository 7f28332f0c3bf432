/* frontend/to_graph.h — the Dockerfile's stage model as the build's definition
 * (graph/def.h): each stage's name, base, platform, steps as written, the stages it
 * uses and the first step that needs one — what the solver plans its graph from. */
#pragma once
#include "frontend/stages.h"
#include "graph/def.h"

struct graph_def *stages_to_graph (const struct stage_model *m);
