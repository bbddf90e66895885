// rvq-mpi: rvq's commands over the ranks of an MPI job, with the flags of rvq's own:
//
//   mpirun -np 4 rvq-mpi train --input x.npy --layers 8 --codewords 256 --output m.rvq
//   mpirun -np 4 rvq-mpi encode --model m.rvq --input x.npy --output codes.npy
//   mpirun -np 4 rvq-mpi eval   --model m.rvq --input x.npy
//   mpirun -np 4 rvq-mpi index  --model m.rvq --input x.npy --output x.rvqi
//
// train: each rank reads only its shard of the training rows and rvq::mpi::train() trains over
// the ranks with exact sums; rank 0 writes the model, the one `rvq train` writes, bit for bit.
// eval: each rank evaluates its shard; the exact error sums are added over the ranks, and rank 0
// prints `rvq eval`'s figures. index: each rank encodes its shard, rank 0 gathers the codes and
// writes `rvq index`'s file.
//
// encode: each rank reads its shard of the input's rows at their offset (rvq::mpi::shard_of),
// encodes it with the in-process parallel policy, and writes its rows at their offset into one output file
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
#include "../rvq/commands/eval.hpp"
#include "../rvq/commands/index.hpp"
#include "../rvq/commands/train.hpp"

#include <rvq/parallel/dynamic_threads.hpp>
#include <rvq/parallel/mpi.hpp>

#include <algorithm>
#include <csignal>
#include <signal.h>
#include <cstring>
#include <memory>
#include <thread>

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

/// Holds SIGTERM and SIGINT back in this thread while it lives: between the temporary file's
/// creation and temp_file::hold(), a stop from mpirun would leave the file behind (the handler
/// would not know its name yet); a signal that arrives meanwhile is delivered on destruction.
struct signals_held {
  sigset_t old;
  signals_held() noexcept {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
  }
  ~signals_held() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
  signals_held(const signals_held&) = delete;
  signals_held& operator=(const signals_held&) = delete;
};

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

/// Opens `in`, a regular .npy file of rows of `dim` values (0: any), which each rank reads at its
/// rows' offset.
void open_input(const std::string& in, std::size_t dim, rvq::io::npy_rows& x) {
  struct stat st;
  if (::stat(in.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    throw data_error{in +
                     ": rvq-mpi reads each rank's rows at their offset: the input must be a regular .npy "
                     "file (not a pipe or a device)"};
  const rvq::status os = x.open(in);
  if (!os) fail_file(in, os);
  if (x.header().shape.size() != 2)
    throw data_error{in + ": expected a 2-D array (N x D), found " + std::to_string(x.header().shape.size()) + "-D"};
  if (x.rows() == 0 || x.cols() == 0) throw data_error{in + ": the array is empty"};
  if (dim && x.cols() != dim)
    throw data_error{in + ": vectors have " + std::to_string(x.cols()) + " dimensions, the model has " +
                     std::to_string(dim)};
}

/// Throws `stop` on every rank when any rank's `local` error is not empty.
void sync_on(const rvq::mpi::communicator& comm, const std::string& local) {
  const std::string agreed = comm.agree(local);
  if (!agreed.empty()) throw stop{agreed};
}

/// `rvq-mpi encode`: the options of `rvq encode`.
int encode(const args& a, const rvq::mpi::communicator& comm) {
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  if (out == "-")
    throw usage_error{"encode: rvq-mpi writes each rank's rows at their offset into one file: give --output a file"};
  auto sync = [&](const std::string& local) { sync_on(comm, local); };
  temp_file temp;
  auto body = [&](const auto& q) {
    const std::size_t beam = beam_option(a, q), icm = a.number("icm", 0, 1000);
    rvq::io::npy_rows x;
    open_input(in, q.dim(), x);
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
          const signals_held held;  // until the handler knows the file's name
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

/// `rvq-mpi train`: the options of `rvq train`. Each rank reads only its shard of the training
/// rows (of the sample, with --sample), rvq::mpi::train() trains over the ranks, and rank 0
/// writes the model, which is `rvq train`'s bit for bit.
int train(const args& a, const rvq::mpi::communicator& comm) {
  const std::string in = a.need("input"), out = a.need("output");
  train_setup setup = read_train_options(a);
  rvq::train_options& opt = setup.opt;
  auto sync = [&](const std::string& local) { sync_on(comm, local); };
  {
    struct stat st;
    if (::stat(in.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      throw data_error{in + ": rvq-mpi reads each rank's rows at their offset: the input must be a regular .npy file"};
  }
  row_source<float> src(in);
  src.need_matrix();
  if (!src.streaming())
    throw data_error{in + ": rvq-mpi reads each rank's rows at their offset: the input must be a regular .npy file"};
  const std::size_t rows = training_rows(opt, src.rows()), d = src.cols();
  check_codewords(opt, rows, src.rows(), in);
  sync("");  // every rank has the input
  // This rank's training rows: its shard of the file's rows, or of the sample's.
  const rvq::mpi::shard mine = comm.rows(src.rows());
  std::vector<std::size_t> picked;
  if (rows < src.rows()) {
    const std::vector<std::size_t> all = rvq::sample_rows(src.rows(), rows, opt.seed);
    const auto lo = std::lower_bound(all.begin(), all.end(), mine.begin);
    picked.assign(lo, std::lower_bound(lo, all.end(), mine.end));
  } else {
    picked.resize(mine.size());
    for (std::size_t i = 0; i < picked.size(); ++i) picked[i] = mine.begin + i;
  }
  std::vector<float> x;
  src.gather(picked, x);
  for (std::size_t j = 0; j < picked.size(); ++j)  // name the file's row
    if (rvq::detail::first_non_finite(x.data() + j * d, d) != d)
      fail_file(in, rvq::status{rvq::errc::non_finite, rvq::msg::training_non_finite, picked[j], "row"});
  sync("");  // every rank has its rows
  const bool progress = setup.progress && comm.root();
  if (progress) opt.progress = print_train_progress;
  const rvq::matrix_view<const float> shard(x.data(), picked.size(), d);
  return with_metric(setup.metric, [&](auto m) {
    using config = rvq::config<rvq::f32, decltype(m)>;
    const auto t0 = std::chrono::steady_clock::now();
    rvq::train_report report;
    rvq::mpi::traffic cost;
    auto q = rvq::mpi::train<config>(comm, shard, opt, &report, &cost);
    const double seconds = seconds_since(t0);
    if (progress) std::fputs("\r\033[K", stderr);
    if (!q) {
      const std::string why = comm.agree(q.error());
      throw stop{why.empty() ? std::string("training failed") : in + ": " + why};
    }
    if (comm.root()) {
      const rvq::status s = rvq::io::save_model(*q, out);
      sync(s ? std::string() : out + ": " + rvq::describe(s));
    } else {
      sync("");
    }
    const double norm = rvq::detail::exact_total(shard, true, rvq::mpi::row_group(comm, shard.rows())) / double(rows);
    if (comm.root() && !a.flag("quiet")) {
      print_train_summary(*q, report, opt, norm, seconds, out,
                          (" over " + std::to_string(comm.size()) + " rank" + (comm.size() > 1 ? "s" : "")).c_str());
      say("communication (rank 0): %zu collectives, %.1f MB sent, %.2f s including waits (%.1f%% of the training)\n",
          cost.calls, cost.bytes / 1e6, cost.seconds, seconds > 0 ? 100.0 * cost.seconds / seconds : 0.0);
    }
    return 0;
  });
}

/// `rvq-mpi eval`: the options of `rvq eval`. Each rank evaluates its shard of the rows a tile at
/// a time; the exact sums are added over the ranks (rvq::evaluation::gather), so rank 0 prints the
/// figures of `rvq eval` bit for bit (the encode speed is that of all ranks together).
int eval(const args& a, const rvq::mpi::communicator& comm) {
  const std::string mp = a.need("model"), in = a.need("input");
  const rvq::io::model_info info = model_header(mp);
  const auto t_load = std::chrono::steady_clock::now();
  auto body = [&](const auto& q) {
    const double load_s = seconds_since(t_load);
    rvq::eval_options eo;
    eo.beam = beam_option(a, q);
    eo.icm_rounds = a.number("icm", 0, 1000);
    rvq::io::npy_rows x;
    open_input(in, q.dim(), x);
    sync_on(comm, "");  // every rank has the model and the input
    const rvq::mpi::shard mine = comm.rows(x.rows());
    auto ev = rvq::evaluation<std::decay_t<decltype(q)>>::start(q, eo);
    if (!ev) fail_file(in, ev.error());
    {
      const std::string what = "eval, rank 0 of " + std::to_string(comm.size());
      progress_meter progress(comm.root() && !a.flag("quiet") && !a.flag("json") && RVQ_CLI_ISATTY(2), mine.size(),
                              what.c_str());
      const std::size_t tile = tile_rows(x.cols());
      std::vector<float> rows;
      for (std::size_t first = mine.begin; first < mine.end; first += tile) {
        const std::size_t m = std::min(tile, mine.end - first);
        rows.resize(m * x.cols());
        rvq::status s = x.read(first, m, rows.data());
        if (!s) progress.clear(), fail_file(in, s);
        s = ev->add(rvq::matrix_view<const float>(rows.data(), m, x.cols()));
        if (!s) progress.clear(), fail_file(in, at_row(s, mine.begin));
        progress.update(first + m - mine.begin);
      }
    }
    sync_on(comm, "");  // every rank evaluated its rows
    ev->gather(rvq::mpi::row_group(comm, mine.size()));
    if (comm.root()) print_eval(a, q, info, ev->report(), eo, load_s);
    return 0;
  };
  return a.flag("mmap") ? with_mapped(mp, body) : with_model_or_pipeline(mp, body);
}

/// Ranks of `comm` on this node (sharing its memory).
std::size_t ranks_on_this_node(const rvq::mpi::communicator& comm) {
  MPI_Comm node = MPI_COMM_NULL;
  int n = 1;
  if (MPI_Comm_split_type(comm.handle(), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS) return 1;
  MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  return n > 0 ? std::size_t(n) : 1;
}

/// `rvq index`'s options; --threads 0 shares the node's cores among its ranks.
std::vector<option> index_options() {
  std::vector<option> o = index_command.options;
  for (option& x : o)
    if (x.name == "threads") x.help = "threads per rank (0: this node's cores shared among its ranks)";
  return o;
}

/// `rvq-mpi index`: the options of `rvq index`. Each rank encodes its shard of the database; rank
/// 0 gathers the codes, builds the index and writes it: the file of `rvq index`, bit for bit.
int index(const args& a, const rvq::mpi::communicator& comm) {
  if (a.has("from"))
    throw usage_error{
        "index: rvq-mpi index encodes a database over the ranks; import a FAISS index with "
        "`rvq index --from faiss`"};
  if (!a.positional.empty()) throw usage_error{"index: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  if (out == "-") throw usage_error{"index: give --output a file"};
  const auto chosen = index_metric_and_norm(a);  // no structured binding: lambdas capture these
  const rvq::metric_id metric = chosen.first;
  const rvq::norm_encoding norm = chosen.second;
  std::size_t per_rank = a.number("threads", 0, 4096);
  if (per_rank == 0)  // one rank per core runs one thread each; one rank per node, all cores
    per_rank = std::max<std::size_t>(1, std::thread::hardware_concurrency() / ranks_on_this_node(comm));
  rvq::dynamic_threads::scope threads(per_rank);
  refuse_pipeline(mp, model_header(mp));
  return with_index_model(mp, [&](auto& q) {
    using Q = std::decay_t<decltype(q)>;
    rvq::io::npy_rows x;
    open_input(in, q.dim(), x);
    const rvq::index_options o = index_options_of(a, q, metric, norm);
    auto made = rvq::code_index<Q>::create(std::move(q), o);
    if (!made) fail_file(mp, made.error());
    auto& ix = *made;
    sync_on(comm, "");  // every rank has the model and the input
    const rvq::mpi::shard mine = comm.rows(x.rows());
    const std::size_t nl = ix.layers(), width = ix.wide() ? 2 : 1;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<unsigned char> codes(mine.size() * nl * width);
    {
      const std::string what = "encode, rank 0 of " + std::to_string(comm.size());
      progress_meter progress(comm.root() && !a.flag("quiet") && !a.flag("json") && RVQ_CLI_ISATTY(2), mine.size(),
                              what.c_str());
      const std::size_t tile = tile_rows(x.cols());
      std::vector<float> rows;
      for (std::size_t first = mine.begin; first < mine.end; first += tile) {
        const std::size_t m = std::min(tile, mine.end - first), at = (first - mine.begin) * nl;
        rows.resize(m * x.cols());
        rvq::status s = x.read(first, m, rows.data());
        if (!s) progress.clear(), fail_file(in, s);
        const rvq::matrix_view<const float> v(rows.data(), m, x.cols());
        s = ix.wide()
                ? ix.model().encode_batch(
                      v, rvq::matrix_view<std::uint16_t>(reinterpret_cast<std::uint16_t*>(codes.data()) + at, m, nl),
                      o.encode)
                : ix.model().encode_batch(v, rvq::matrix_view<std::uint8_t>(codes.data() + at, m, nl), o.encode);
        if (!s) progress.clear(), fail_file(in, at_row(s, first));
        progress.update(first + m - mine.begin);
      }
    }
    sync_on(comm, "");  // every rank encoded its rows
    const std::vector<unsigned char> all = comm.gather_bytes(codes.data(), codes.size());
    codes = {};
    std::string failed;
    if (comm.root()) {
      const std::size_t n = all.size() / (nl * width);
      const rvq::status added = ix.wide() ? ix.add_codes(rvq::matrix_view<const std::uint16_t>(
                                                reinterpret_cast<const std::uint16_t*>(all.data()), n, nl))
                                          : ix.add_codes(rvq::matrix_view<const std::uint8_t>(all.data(), n, nl));
      rvq::status s = added ? rvq::io::save_index(ix, out) : added;
      if (!s) failed = (added ? out : in) + ": " + rvq::describe(s);
    }
    sync_on(comm, failed);
    if (comm.root()) print_index_summary(a, ix, o, seconds_since(t0), out);
  });
}

/// The commands rvq-mpi runs, with the options of rvq's (declared once, in tools/rvq/commands/),
/// and how each is spelled in the overview.
struct mpi_command {
  command cmd;
  const char* usage;
};

const std::vector<mpi_command>& commands() {
  static const std::vector<mpi_command> all = {
      {{"train",
        "train a model over the ranks of an MPI job, each rank holding its shard of the rows: the model of `rvq "
        "train`, bit for bit",
        nullptr, train_command.options},
       "--input X.npy --output M.rvq"},
      {{"encode",
        "encode vectors into codes over the ranks of an MPI job: each rank its shard of the rows, into one output "
        "file",
        nullptr, encode_command.options},
       "--model M.rvq --input X.npy --output C.npy"},
      {{"eval",
        "measure a model over the ranks of an MPI job, each rank its shard of the rows: the figures of `rvq eval`, "
        "bit for bit",
        nullptr, eval_command.options},
       "--model M.rvq --input X.npy"},
      {{"index",
        "encode a database into an index of codes (.rvqi) over the ranks of an MPI job: the file of `rvq index`, "
        "bit for bit",
        nullptr, index_options()},
       "--model M.rvq --input X.npy --output I.rvqi"},
  };
  return all;
}

const command* find(const std::string& name) {
  for (const mpi_command& c : commands())
    if (c.cmd.name == name) return &c.cmd;
  return nullptr;
}

std::string overview() {
  std::string s =
      "usage: mpirun -np N rvq-mpi <command> [options]\n"
      "       rvq-mpi help <command>   (its options, which are those of `rvq <command>`)\n\n"
      "commands:\n";
  for (const mpi_command& c : commands())
    s += "  rvq-mpi " + c.cmd.name + " " + c.usage + " [options]\n      " + c.cmd.summary + "\n";
  return s +
         "\nEach rank reads its rows of X.npy (a regular file every rank can read) at their offset; only rank 0 "
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
      if (cmd == "train") return train(a, comm);
      if (cmd == "eval") return eval(a, comm);
      if (cmd == "index") return index(a, comm);
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
