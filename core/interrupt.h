// Stopping at a step boundary: SIGINT or SIGTERM asks the training loop to
// checkpoint after the step in progress and end with Interrupted (exit code
// 130), so at most one step is lost; a second signal ends the process at once.
#pragma once

namespace r1lab {

// Installs the SIGINT and SIGTERM handlers (main() calls it once).
void InstallStopHandlers();
// True once a stop was asked for (by a signal or RequestStop).
bool StopRequested();
// What the handlers do; ClearStopRequest undoes it (tests).
void RequestStop();
void ClearStopRequest();

}  // namespace r1lab
