// rvq: the command-line tool. Every arrow of the data flow is one command, declared in its own
// file (tools/rvq/commands/, tools/rvq/sweep/) with its options, their defaults and help; this
// file holds the table of commands and generates the usage text from it.
// Exit codes: 0 success, 1 bad file or bad data (the message names the file and the reason),
// 2 usage error (the usage is printed).
#include "common.hpp"

#include <csignal>

namespace {

using namespace rvq_cli;

/// Every command, in the order the usage lists them.
const command* const commands[] = {&train_command,   &import_command, &encode_command,   &decode_command,
                                   &eval_command,    &info_command,   &quantize_command, &codegen_command,
                                   &compact_command, &sweep_command,  &compress_command, &index_command,
                                   &search_command};

const command* find_command(const std::string& name) {
  for (const command* c : commands)
    if (c->name == name) return c;
  return nullptr;
}

/// `rvq --help`: every command's synopsis and summary.
std::string overview() {
  std::string s =
      "usage: rvq <command> [options]\n"
      "       rvq help <command>   (or rvq <command> --help: its options, their defaults and notes)\n\n"
      "commands:\n";
  for (const command* c : commands) s += "  " + synopsis(*c) + "\n      " + c->summary + "\n";
  s += "  rvq help, --help, --version\n\n"
       "data files (X): .npy (float32, float16, int8, uint8, uint16, int32), .fvecs, .bvecs, .ivecs\n"
       "exit codes: 0 ok, 1 bad file or data, 2 usage error\n";
  return s;
}

/// A usage error: the reason, then the usage of the command (or the overview); exit 2.
int usage(const std::string& msg, const command* c = nullptr) {
  if (!msg.empty()) std::fprintf(stderr, "rvq: %s\n\n", msg.c_str());
  std::fputs((c ? command_help(*c) + "\nexit codes: 0 ok, 1 bad file or data, 2 usage error\n" : overview()).c_str(),
             stderr);
  return 2;
}

/// True when a command line asks for help (`--help` or `-h` among its words).
bool asks_help(int argc, char** argv) {
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  rvq_cli::ignore_write_signals();
  if (argc < 2) return usage("no command given");
  const std::string cmd = argv[1];
  const command* c = find_command(cmd);
  args a;
  try {
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      if (argc > 2) {
        const command* h = find_command(argv[2]);
        if (!h) return usage("help: unknown command '" + std::string(argv[2]) + "'");
        std::fputs(command_help(*h).c_str(), stdout);
        return 0;
      }
      std::fputs(overview().c_str(), stdout);
      return 0;
    }
    if (cmd == "--version") {
      std::printf("rvq %s\n", RVQ_VERSION_STRING);
      return 0;
    }
    if (!c) return usage("unknown command '" + cmd + "'");
    if (const char* note = rvq::isa_env_note()) {  // RVQ_ISA names no target, or one this CPU lacks
      std::fprintf(stderr, "rvq: RVQ_ISA=%s: %s (`rvq info --cpu` lists this CPU's targets)\n", std::getenv("RVQ_ISA"),
                   note);
      return 2;
    }
    if (asks_help(argc, argv)) {
      std::fputs(command_help(*c).c_str(), stdout);
      return 0;
    }
    a = parse(argc, argv, *c);
    refuse_overwriting_inputs(a);
    return c->run(a);
  } catch (const usage_error& e) {
    return usage(e.message, c);
  } catch (const data_error& e) {
    std::fprintf(stderr, "rvq %s: %s\n", cmd.c_str(), e.message.c_str());
    return 1;
  } catch (const std::bad_alloc&) {  // the loaders bound memory by file size: this is data too large for the machine
    std::string files;
    for (const auto& [key, path] : a.opts)
      if (const option* o = c ? c->find(key) : nullptr; o && o->file == file_role::reads) files += " " + path;
    for (const std::string& p : a.positional) files += " " + p;
    std::fprintf(stderr, "rvq %s:%s: out of memory\n", cmd.c_str(), files.c_str());
    return 1;
  }
}
