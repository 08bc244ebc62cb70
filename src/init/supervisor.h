// hearth-init's top level: wires the channel, the Runtime API server, the runtime process, its
// log pipes and child reaping into one event loop, and decides when init exits.
//
// Lifecycle: listen on AWS_LAMBDA_RUNTIME_API → start BOOTSTRAP → serve until the runtime exits
// (send its remaining logs and an Exit frame, then exit 0) or the channel closes (kill the
// runtime, exit 0). As PID 1 it reaps every orphan. The contract with the worker is in
// docs/formats/channel.md.
#pragma once

namespace hearth::init {

// Runs hearth-init: `argv` = {"hearth-init", BOOTSTRAP, ARGS..., nullptr}; the channel is fd 3.
// Returns the process exit status: 0 after an orderly end, 1 on an internal failure or a
// worker protocol violation, 2 on bad usage.
int runHearthInit(int argc, char** argv);

}  // namespace hearth::init
