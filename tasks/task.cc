#include "task.h"

#include "arith.h"
#include "error.h"

namespace r1lab {

std::unique_ptr<Task> MakeTask(const TaskConfig& cfg) {
  switch (cfg.task_case()) {
    case TaskConfig::kArith: return std::make_unique<ArithTask>(cfg);
    case TaskConfig::TASK_NOT_SET: break;
  }
  throw ConfigError("task: no task set; expected one of: arith");
}

}  // namespace r1lab
