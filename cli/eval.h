// `recd eval`: offline evaluation of the real ranking code on a public
// dataset. The dataset is split (global time cut, per-user leave-last-N, or
// per-user stratified random), a model is trained on the train part with
// the same code as `recd train`, loaded into a real Engine in a temporary
// data dir, the train events are replayed through Track and the fold-in,
// and every evaluated user is ranked by Engine::Recommend — per source alone
// and blended (the surfaces the server would serve) — then scored with
// recd_eval's metrics. Output: a table on stdout, report.json, report.md
// with SVG charts (recd_eval/report.h).
#pragma once

#include <string>
#include <vector>

namespace recd::cli {

// Returns the process exit code. args excludes "recd eval".
int RunEval(const std::vector<std::string>& args);

}  // namespace recd::cli
