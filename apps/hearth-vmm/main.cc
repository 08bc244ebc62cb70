// hearth-vmm: one microVM per process (issue 5). So far only `--probe` is implemented; see
// src/vmm/probe.h and docs/vmm.md.
//
// Exit status: 0 when the probe answered (its JSON says whether KVM is usable and fast), 1 when the
// probe guest misbehaved, 2 for usage errors and modes that are not implemented yet.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "vmm/probe.h"

int main(int argc, char** argv) {
  CLI::App app{"hearth-vmm: a KVM microVM monitor"};
  bool probe = false;
  std::string api_sock;
  std::string config_file;
  std::string id;
  hearth::vmm::ProbeOptions options;
  app.add_flag("--probe", probe, "time a short guest loop; print whether KVM is fast, as JSON");
  app.add_option("--kvm-path", options.kvm_path, "the KVM device (for --probe)");
  app.add_option("--api-sock", api_sock, "serve the API on this Unix socket (not implemented yet)");
  app.add_option("--config-file", config_file,
                 "configure from this JSON file (not implemented yet)");
  app.add_option("--id", id, "microVM id");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // CLI11 reports through exceptions; they stop here
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (!probe) {
    std::fprintf(stderr,
                 "hearth-vmm: running a microVM (--api-sock / --config-file) is not implemented "
                 "yet; only --probe is\n");
    return 2;
  }
  auto report = hearth::vmm::runProbe(options);
  if (!report) {
    std::fprintf(stderr, "hearth-vmm: probe failed: %s\n", report.error().toString().c_str());
    return 1;
  }
  std::printf("%s\n", hearth::vmm::probeReportToJson(*report).c_str());
  return 0;
}
