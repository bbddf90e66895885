// A command of the rvq tool, declared once: its name, options with their defaults and help, and
// run. main.cpp holds the table of commands; the usage text and `rvq help <command>` are
// generated from these declarations, and the parsed options read their defaults from them, so
// every default is written in one place.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rvq_cli {

/// A mistake in the command line: exit 2, with the command's usage.
struct usage_error {
  std::string message;
};
/// A bad file or bad data: exit 1, the message names the file.
struct data_error {
  std::string message;
};

/// What a command does with the file an option names: outputs are checked against inputs before
/// any work, so that no command can overwrite the file it reads.
enum class file_role { none, reads, writes };

/// One `--name` option of a command.
struct option {
  std::string name;                  ///< without the leading `--`
  std::string value;                 ///< what the value looks like (`L`, `X.npy`, `l2|ip|cos`); empty for a flag
  std::string def;                   ///< the default, as it would be typed; empty: none (see `required`)
  std::string help;                  ///< one line, without the default
  bool required = false;             ///< the command refuses to run without it
  file_role file = file_role::none;  ///< a file the command reads or writes
  bool flag() const { return value.empty(); }
};

struct args;

/// Options several commands share, declared once (name, placeholder, default and the usual help).
namespace opt {
/// An option naming a file the command reads.
inline option reads(std::string name, std::string value, std::string help, bool required = false) {
  return {std::move(name), std::move(value), "", std::move(help), required, file_role::reads};
}
/// An option naming a file the command writes.
inline option writes(std::string name, std::string value, std::string help, bool required = false) {
  return {std::move(name), std::move(value), "", std::move(help), required, file_role::writes};
}
inline option model(std::string help = "the model (or pipeline)") {
  return reads("model", "M.rvq", std::move(help), true);
}
inline option input(std::string value, std::string help) {
  return reads("input", std::move(value), std::move(help), true);
}
inline option output(std::string value = "M.rvq", std::string help = "the model to write") {
  return writes("output", std::move(value), std::move(help) + " ('-': standard output)", true);
}
inline option calibrate_on(std::string help) { return reads("calibrate-on", "X.npy", std::move(help)); }
inline option metric(std::string help = "what nearest means") { return {"metric", "l2|ip|cos", "l2", std::move(help)}; }
inline option beam(std::string help = "beam width (1: greedy); at most the smallest layer's K") {
  return {"beam", "B", "1", std::move(help)};
}
inline option icm() {
  return {"icm", "N", "0",
          "rounds of ICM refinement after the search: each layer's code picked again given the others, "
          "never raising the error (l2 float models)"};
}
inline option iterations(std::string def, std::string help = "k-means iterations") {
  return {"iterations", "N", std::move(def), std::move(help)};
}
inline option seed() { return {"seed", "S", "1", "random seed"}; }
inline option flag(std::string name, std::string help) { return {std::move(name), "", "", std::move(help)}; }
inline option json() { return flag("json", "print one JSON object"); }
inline option quiet(std::string help = "no summary") { return flag("quiet", std::move(help)); }
inline option mmap() {
  return flag("mmap", "memory-map an f32 model and search it in place, no copy (docs/format.md)");
}
}  // namespace opt

/// A command: `rvq <name> [options]`.
struct command {
  std::string name;                   ///< the word after `rvq`
  std::string summary;                ///< what it does, one line
  int (*run)(const args&) = nullptr;  ///< the command itself: returns the exit code
  std::vector<option> options;        ///< every option it takes
  std::string notes;                  ///< lines printed after the options by `rvq help <name>`
  std::string synopsis;               ///< the usage line after `rvq <name>`; empty: made from the options
  bool positional = false;            ///< it takes arguments that are not options (the synopsis names them)

  command(std::string name_, std::string summary_, int (*run_)(const args&), std::vector<option> options_,
          std::string notes_ = "", std::string synopsis_ = "", bool positional_ = false)
      : name(std::move(name_)),
        summary(std::move(summary_)),
        run(run_),
        options(std::move(options_)),
        notes(std::move(notes_)),
        synopsis(std::move(synopsis_)),
        positional(positional_) {}

  /// The declaration of --name, or nullptr.
  const option* find(const std::string& n) const {
    for (const option& o : options)
      if (o.name == n) return &o;
    return nullptr;
  }
};

/// Parsed `--name value` options, flags and positionals of one command line.
struct args {
  std::string command;                      ///< the command's name
  const rvq_cli::command* spec = nullptr;   ///< its declaration
  std::map<std::string, std::string> opts;  ///< options given, with their values
  std::set<std::string> flags;              ///< flags given
  std::vector<std::string> positional;      ///< everything else, in order
  std::vector<std::string> words;           ///< the command line after the command's name, as given

  bool has(const std::string& k) const { return opts.count(k) != 0; }
  bool flag(const std::string& k) const { return flags.count(k) != 0; }
  /// The value of --k, else its declared default.
  std::string get(const std::string& k) const {
    auto it = opts.find(k);
    return it == opts.end() ? declared(k).def : it->second;
  }
  /// The value of --k, else `fallback` (for defaults that depend on the data, e.g. "all layers").
  std::string get_or(const std::string& k, const std::string& fallback) const {
    auto it = opts.find(k);
    return it == opts.end() ? fallback : it->second;
  }
  /// The value of --k: a required option must be given; another falls back to its default.
  std::string value(const std::string& k) const { return declared(k).required ? need(k) : get(k); }
  /// The value of a required option.
  std::string need(const std::string& k) const {
    if (!has(k)) throw usage_error{command + ": missing --" + k};
    return get(k);
  }
  /// --k as a whole number in [lo, hi]; its declared default when absent.
  std::size_t number(const std::string& k, std::size_t lo, std::size_t hi) const {
    const std::string v = get(k);
    if (v.empty()) throw std::logic_error("rvq: --" + k + " of " + command + " has no declared default");
    return parse_number(k, v, lo, hi);
  }
  /// --k as a whole number in [lo, hi]; `fallback` when absent.
  std::size_t number_or(const std::string& k, std::size_t fallback, std::size_t lo, std::size_t hi) const {
    (void)declared(k);
    return has(k) ? parse_number(k, get(k), lo, hi) : fallback;
  }
  /// A comma-separated list of whole numbers (`--layers 1,2,4`), each in [lo, hi].
  std::vector<std::size_t> number_list(const std::string& k, std::size_t lo, std::size_t hi) const {
    const std::string v = get(k);
    std::vector<std::size_t> out;
    for (std::size_t pos = 0; pos <= v.size();) {
      const std::size_t comma = v.find(',', pos);
      out.push_back(
          parse_number(k, v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos), lo, hi));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    return out;
  }
  std::size_t parse_number(const std::string& k, const std::string& v, std::size_t lo, std::size_t hi) const {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
      throw usage_error{command + ": --" + k + " expects a whole number, got '" + v + "'"};
    const std::size_t digits = v.find_first_not_of('0') == std::string::npos ? 1 : v.size() - v.find_first_not_of('0');
    const unsigned long long n = digits > 19 ? ~0ull : std::strtoull(v.c_str(), nullptr, 10);
    if (n < lo || n > hi)
      throw usage_error{command + ": --" + k + " must be between " + std::to_string(lo) + " and " + std::to_string(hi)};
    return static_cast<std::size_t>(n);
  }

 private:
  const option& declared(const std::string& k) const {
    const option* o = spec ? spec->find(k) : nullptr;
    if (!o) throw std::logic_error("rvq: " + command + " reads --" + k + ", which it does not declare");
    return *o;
  }
};

/// Parses the command line of `c` (argv[1] is its name) against its declared options.
inline args parse(int argc, char** argv, const command& c) {
  args a;
  a.command = c.name;
  a.spec = &c;
  for (int i = 2; i < argc; ++i) a.words.emplace_back(argv[i]);
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s.size() > 2 && s.compare(0, 2, "--") == 0) {
      std::string name = s.substr(2), value;
      const auto eq = name.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const option* o = c.find(name);
      if (!o) throw usage_error{a.command + ": unknown option --" + name};
      if (o->flag()) {
        if (inline_value) throw usage_error{a.command + ": --" + name + " takes no value"};
        a.flags.insert(name);
      } else {
        if (!inline_value) {
          if (i + 1 >= argc) throw usage_error{a.command + ": --" + name + " needs a value"};
          value = argv[++i];
        }
        if (a.opts.count(name)) throw usage_error{a.command + ": --" + name + " given twice"};
        a.opts[name] = value;
      }
    } else {
      a.positional.push_back(s);
    }
  }
  if (!c.positional && !a.positional.empty())
    throw usage_error{a.command + ": unexpected argument '" + a.positional[0] + "'"};
  return a;
}

/// `rvq <name> <synopsis>`: the synopsis given, else the required options then `[options]`.
inline std::string synopsis(const command& c) {
  std::string s = "rvq " + c.name;
  if (!c.synopsis.empty()) return s + " " + c.synopsis;
  for (const option& o : c.options)
    if (o.required) s += " --" + o.name + " " + o.value;
  bool optional = false;
  for (const option& o : c.options) optional |= !o.required;
  return optional ? s + " [options]" : s;
}

/// `rvq help <name>`: the synopsis, the summary, every option with its default, the notes.
inline std::string command_help(const command& c) {
  std::string s = "usage: " + synopsis(c) + "\n\n" + c.summary + "\n";
  if (!c.options.empty()) s += "\noptions:\n";
  for (const option& o : c.options) {
    std::string left = "  --" + o.name + (o.flag() ? "" : " " + o.value);
    left += left.size() < 30 ? std::string(30 - left.size(), ' ') : "\n" + std::string(30, ' ');
    std::string right = o.help;
    if (o.required) right += " (required)";
    if (!o.def.empty()) right += " (default " + o.def + ")";
    s += left + right + "\n";
  }
  if (!c.notes.empty()) s += "\n" + c.notes + (c.notes.back() == '\n' ? "" : "\n");
  return s;
}

// The commands (one file each under tools/rvq/commands/, and tools/rvq/sweep/).
extern const command train_command;
extern const command import_command;
extern const command encode_command;
extern const command decode_command;
extern const command eval_command;
extern const command info_command;
extern const command quantize_command;
extern const command codegen_command;
extern const command compact_command;
extern const command compress_command;
extern const command index_command;
extern const command search_command;
extern const command sweep_command;

}  // namespace rvq_cli
