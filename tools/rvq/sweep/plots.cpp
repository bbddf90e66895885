// rvq sweep: the plots, drawn by tools/plot_sweep.py (matplotlib).
#include "sweep.hpp"

#include <cstdlib>
#include <filesystem>
#if __has_include(<sys/wait.h>)
#include <sys/wait.h>
#endif

namespace rvq_cli::sweep {
namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

/// Runs tools/plot_sweep.py on DIR; returns "" when the plots were drawn, else the reason.
std::string draw_plots(const std::string& dir) {
  std::vector<std::string> candidates;
  if (const char* e = std::getenv("RVQ_SWEEP_PLOT")) {
    candidates.push_back(e);  // the user's choice, and only it
  } else {
#ifdef RVQ_TOOLS_INSTALL_DIR
    candidates.push_back(std::string(RVQ_TOOLS_INSTALL_DIR) + "/plot_sweep.py");
#endif
#ifdef RVQ_TOOLS_SOURCE_DIR
    candidates.push_back(std::string(RVQ_TOOLS_SOURCE_DIR) + "/plot_sweep.py");
#endif
  }
  std::string script;
  for (const auto& c : candidates)
    if (file_exists(c)) {
      script = c;
      break;
    }
  if (script.empty())
    return "Plots were not drawn: tools/plot_sweep.py was not found" +
           (candidates.empty() ? std::string() : " (" + candidates.front() + ")") + "; set RVQ_SWEEP_PLOT to its path.";
  std::string python = "python3";
  if (const char* e = std::getenv("RVQ_PYTHON"))
    python = e;
  else if (file_exists("/usr/bin/python3"))
    python = "/usr/bin/python3";
  const std::string log = dir + "/plots.log";
  const std::string cmd =
      shell_quote(python) + " " + shell_quote(script) + " " + shell_quote(dir) + " > " + shell_quote(log) + " 2>&1";
  int rc = std::system(cmd.c_str());
#ifdef WEXITSTATUS
  rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
#endif
  const std::string again = "python3 " + script + " " + dir;
  if (rc == 0) return "";
  if (rc == 3)
    return "Plots were not drawn: matplotlib is not installed (Debian: `apt install python3-matplotlib`); the "
           "CSV and this report are complete. Draw them later with `" +
           again + "`.";
  return "Plots were not drawn: the plotting script failed (exit " + std::to_string(rc) + ", see " + log +
         "). Retry with `" + again + "`.";
}

}  // namespace rvq_cli::sweep
