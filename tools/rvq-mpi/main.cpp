// rvq-mpi: rvq's commands over the ranks of an MPI job, with the flags of rvq's own:
//
//   mpirun -np 4 rvq-mpi encode --model m.rvq --input x.npy --output codes.npy
//
// Each rank reads its shard of the input's rows at their offset (rvq::mpi::shard_of), encodes it
// with the in-process parallel policy, and writes its rows at their offset into one output file
// (rvq::io::npy_shared_file), which rank 0 creates beside the target and renames over it only
// once every rank has reported success. The codes are those of `rvq encode`, bit for bit.
//
// Only rank 0 prints. When a rank fails (an unreadable shard, bad data, a write error), the ranks
// agree on it at the next step (rvq::mpi::communicator::agree), every rank exits 1, rank 0 prints
// the error with the rank that met it, and the temporary file is removed: no output is left. A
// rank killed outright ends the job through mpirun, which names the rank and the signal; rank 0
// removes the temporary file when mpirun stops it (SIGTERM, SIGINT).
//
// Exit codes: 0 success, 1 bad file or data (on any rank), 2 usage error.
#include "../rvq/common.hpp"

#include <rvq/parallel/mpi.hpp>

#include <csignal>
#include <cstring>
#include <memory>

namespace {

using namespace rvq_cli;

/// The error every rank agreed on: stops the command on every rank.
struct stop {
  std::string message;
};

/// The temporary file rank 0 created, removed on failure, at exit and on SIGTERM/SIGINT (mpirun
/// stops the other ranks that way when one dies).
char g_temp[4096] = {0};

extern "C" void remove_temp_and_exit(int sig) {
  if (g_temp[0]) ::unlink(g_temp);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

struct temp_file {
  std::string path;
  bool kept = false;
  void hold(const std::string& p) {
    path = p;
    if (p.size() < sizeof g_temp) std::memcpy(g_temp, p.c_str(), p.size() + 1);
  }
  ~temp_file() {
    g_temp[0] = 0;
    if (!path.empty() && !kept) ::unlink(path.c_str());
  }
};

/// `rvq-mpi encode`: the options of `rvq encode`.
int encode(const args& a, const rvq::mpi::communicator& comm) {
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  if (out == "-")
    throw usage_error{"encode: rvq-mpi writes each rank's rows at their offset into one file: give --output a file"};
  auto sync = [&](const std::string& local) {
    const std::string agreed = comm.agree(local);
    if (!agreed.empty()) throw stop{agreed};
  };
  temp_file temp;
  auto body = [&](const auto& q) {
    const std::size_t beam = beam_option(a, q), icm = a.number("icm", 0, 1000);
    rvq::io::npy_rows x;
    {
      struct stat st;
      if (::stat(in.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        throw data_error{in +
                         ": rvq-mpi reads each rank's rows at their offset: the input must be a regular .npy "
                         "file (not a pipe or a device)"};
    }
    const rvq::status os = x.open(in);
    if (!os) fail_file(in, os);
    if (x.header().shape.size() != 2)
      throw data_error{in + ": expected a 2-D array (N x D), found " + std::to_string(x.header().shape.size()) + "-D"};
    if (x.rows() == 0 || x.cols() == 0) throw data_error{in + ": the array is empty"};
    if (x.cols() != q.dim())
      throw data_error{in + ": vectors have " + std::to_string(x.cols()) + " dimensions, the model has " +
                       std::to_string(q.dim())};
    sync("");  // 1: every rank has the model and the input
    const std::size_t n = x.rows(), nl = q.layers(), bytes = rvq::packed_bytes(q), tile = tile_rows(x.cols());
    const bool packed = a.flag("packed");
    const rvq::mpi::shard mine = comm.rows(n);
    auto write_as = [&](auto code) {
      using code_t = std::decay_t<decltype(code)>;
      // The file holds bytes (packed codes) or code_t.
      auto run = [&](auto elem) {
        using elem_t = std::decay_t<decltype(elem)>;
        const std::size_t cols = packed ? bytes : nl;
        if (comm.root()) {
          auto t = rvq::io::npy_shared_file<elem_t>::create(out, n, cols);
          if (!t) fail_file(out, t.error());
          temp.hold(*t);
        }
        sync("");  // 2: the file exists
        const std::string path = comm.broadcast(temp.path);
        rvq::io::npy_shared_file<elem_t> part;
        rvq::status s = part.open_rows(path, n, cols, mine.begin);
        if (!s) fail_file(out, s);
        const std::string what = "encode, rank 0 of " + std::to_string(comm.size());
        progress_meter progress(comm.root() && !a.flag("quiet") && RVQ_CLI_ISATTY(2), mine.size(), what.c_str());
        std::vector<float> rows;
        std::vector<code_t> codes;
        std::vector<std::uint8_t> pk;
        for (std::size_t first = mine.begin; first < mine.end; first += tile) {
          const std::size_t m = std::min(tile, mine.end - first);
          rows.resize(m * x.cols());
          s = x.read(first, m, rows.data());
          if (!s) fail_file(in, s);
          codes.resize(m * nl);
          s = q.encode_batch(rvq::matrix_view<const float>(rows.data(), m, x.cols()),
                             rvq::matrix_view<code_t>(codes.data(), m, nl), rvq::encode_options{beam, icm});
          if (!s) progress.clear(), fail_file(in, at_row(s, first));
          if constexpr (std::is_same<elem_t, code_t>::value) {
            if (!packed) s = part.write(codes.data(), m);
          }
          if constexpr (std::is_same<elem_t, std::uint8_t>::value) {
            if (packed) {
              pk.resize(m * bytes);
              s = rvq::pack_codes_batch(q, rvq::matrix_view<const code_t>(codes.data(), m, nl),
                                        rvq::matrix_view<std::uint8_t>(pk.data(), m, bytes));
              if (!s) progress.clear(), fail_file(in, at_row(s, first));
              s = part.write(pk.data(), m);
            }
          }
          if (!s) progress.clear(), fail_file(out, s);
          progress.update(first + m - mine.begin);
        }
        progress.clear();
        s = part.close();
        if (!s) fail_file(out, s);
        sync("");  // 3: every rank's rows are in
        if (comm.root()) {
          s = rvq::io::npy_shared_file<elem_t>::publish(temp.path, out);
          temp.kept = true;  // renamed, or removed by publish()
          if (!s) fail_file(out, s);
        }
        sync("");  // 4: in place
      };
      if (packed)
        run(std::uint8_t{});
      else
        run(code_t{});
    };
    // The narrowest code type that holds every layer's K (as rvq encode).
    if (q.max_codewords() <= 256)
      write_as(std::uint8_t{});
    else
      write_as(std::uint16_t{});
    return 0;
  };
  return a.flag("mmap") ? with_mapped(mp, body) : with_model_or_pipeline(mp, body);
}

/// The commands rvq-mpi runs, with the options of rvq's (declared once, in tools/rvq/commands/).
const command& mpi_encode() {
  static const command c{"encode",
                         "encode vectors into codes over the ranks of an MPI job: each rank its shard of the rows, "
                         "into one output file",
                         nullptr, encode_command.options};
  return c;
}

const command* find(const std::string& name) { return name == "encode" ? &mpi_encode() : nullptr; }

std::string overview() {
  return "usage: mpirun -np N rvq-mpi <command> [options]\n"
         "       rvq-mpi help <command>   (its options, which are those of `rvq <command>`)\n\n"
         "commands:\n"
         "  rvq-mpi encode --model M.rvq --input X.npy --output C.npy [options]\n"
         "      " +
         mpi_encode().summary +
         "\n\n"
         "Each rank reads its rows of X.npy (a regular file every rank can read) at their offset; only rank 0 "
         "prints.\n"
         "exit codes: 0 ok, 1 bad file or data (on any rank; the message names the rank), 2 usage error\n";
}

/// `rvq help <command>`'s text, as rvq-mpi runs the command.
std::string mpi_help(const command& c) {
  return "usage: mpirun -np N rvq-mpi " + command_help(c).substr(std::strlen("usage: rvq "));
}

int run(int argc, char** argv, const rvq::mpi::communicator& comm) {
  const bool root = comm.root();
  auto usage = [&](const std::string& msg, const command* c) {
    if (root) {
      if (!msg.empty()) std::fprintf(stderr, "rvq-mpi: %s\n\n", msg.c_str());
      std::fputs((c ? mpi_help(*c) : overview()).c_str(), stderr);
    }
    return 2;
  };
  if (argc < 2) return usage("no command given", nullptr);
  const std::string cmd = argv[1];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    const command* h = argc > 2 ? find(argv[2]) : nullptr;
    if (argc > 2 && !h) return usage("help: unknown command '" + std::string(argv[2]) + "'", nullptr);
    if (root) std::fputs(h ? mpi_help(*h).c_str() : overview().c_str(), stdout);
    return 0;
  }
  if (cmd == "--version") {
    if (root) std::printf("rvq-mpi %s\n", RVQ_VERSION_STRING);
    return 0;
  }
  const command* c = find(cmd);
  if (!c) return usage("unknown command '" + cmd + "'", nullptr);
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      if (root) std::fputs(mpi_help(*c).c_str(), stdout);
      return 0;
    }
  args a;
  try {
    a = parse(argc, argv, *c);  // the same on every rank: no agreement needed
    refuse_overwriting_inputs(a);
  } catch (const usage_error& e) {
    return usage(e.message, c);
  } catch (const data_error& e) {
    if (root) std::fprintf(stderr, "rvq-mpi %s: %s\n", cmd.c_str(), e.message.c_str());
    return 1;
  }
  if (root) {
    std::signal(SIGTERM, remove_temp_and_exit);
    std::signal(SIGINT, remove_temp_and_exit);
  }
  std::string failed;
  try {
    try {
      return encode(a, comm);
    } catch (const stop&) {
      throw;
    } catch (const usage_error& e) {  // a bad value: the same on every rank
      return usage(e.message, c);
    } catch (const data_error& e) {
      throw stop{comm.agree(e.message)};  // never empty: this rank failed
    } catch (const std::bad_alloc&) {
      throw stop{comm.agree(std::string("out of memory"))};
    }
  } catch (const stop& s) {
    failed = s.message;
  }
  if (root) std::fprintf(stderr, "rvq-mpi %s: %s\n", cmd.c_str(), failed.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  rvq_cli::ignore_write_signals();
  MPI_Init(&argc, &argv);
  int rc = 0;
  {
    const rvq::mpi::communicator comm(MPI_COMM_WORLD);
    rc = run(argc, argv, comm);
  }
  MPI_Finalize();
  return rc;
}
