#include "services/backups/pg_dump_runner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <string_view>
#include <utility>

#include "common/db/db.h"
#include "common/process/process.h"
#include "common/text/utf8.h"
#include "services/backups/archive_rows.h"
#include "services/backups/pg_connection.h"

extern char** environ;

namespace flightdeck::backups {
namespace {

// pg_dump's output goes to the sink in pieces of this size (the last may be shorter).
constexpr size_t kPieceSize = 64 * 1024;
// The data pipe holds this much (Linux's default is 64 KiB). With the default, pg_dump stopped
// whenever the pipe was full, i.e. every time we compressed a piece, and the two took turns
// instead of running side by side. 1 MiB is the most an unprivileged process may ask for
// (/proc/sys/fs/pipe-max-size); a refusal keeps the default.
constexpr int kDataPipeSize = 1 << 20;
// How much of a failing tool's stderr a status message carries.
constexpr size_t kStderrKept = 8192;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Keeps the last few KiB of a tool's stderr, whatever it prints: pg_dump and pg_restore
// (--exit-on-error) end with the error that stopped them, after any number of warnings.
class BoundedText {
 public:
  void Append(const char* data, size_t n) {
    text_.append(data, n);
    if (text_.size() > 2 * kStderrKept) Drop(text_.size() - kStderrKept);
  }

  // Cut at a whole UTF-8 character, as storable text: it ends up in a manifest column and a
  // proto string, which reject a NUL and bytes that are not UTF-8 (an object's name in a
  // SQL_ASCII database, say).
  std::string Text() {
    if (text_.size() > kStderrKept) Drop(text_.size() - kStderrKept);
    size_t skip = 0;
    while (dropped_ > 0 && skip < text_.size() && (text_[skip] & 0xC0) == 0x80) ++skip;
    std::string out = text::ToStorableText(Trim(std::string_view(text_).substr(skip)));
    if (dropped_ + skip == 0) return out;
    return "[... " + std::to_string(dropped_ + skip) + " bytes omitted ...] " + out;
  }

 private:
  void Drop(size_t n) {
    text_.erase(0, n);
    dropped_ += n;
  }

  std::string text_;
  uint64_t dropped_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Child processes (pg_dump, pg_restore), run directly: no shell to quote for.

using process::ErrnoText;
using process::Fd;

// Only async-signal-safe calls from fork to execve: another thread may have held a lock (malloc,
// the logger) at fork time, and nobody would ever release it in the child.
[[noreturn]] void ExecChild(const char* path, char* const argv[], char* const envp[], int in_fd,
                            int out_fd, int err_fd, int report_fd, long max_fd) {
  setpgid(0, 0);  // its own group, so that a kill reaches anything it starts
  // The services block SIGTERM/SIGINT in every thread and sigwait for them, and may ignore
  // SIGPIPE; mask and ignored dispositions survive execve and would make the tool unkillable
  // or blind to a closed pipe.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
    int err = errno;
    (void)!write(report_fd, &err, sizeof err);
    _exit(127);
  }
  // Nothing else of ours reaches the tool (the snapshot connection's socket in particular);
  // report_fd is closed by execve itself, which tells the parent the exec worked.
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    for (long fd = 3; fd < max_fd; ++fd) fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  }
  execve(path, argv, envp);
  int err = errno;
  (void)!write(report_fd, &err, sizeof err);
  _exit(127);
}

// Follows the tool's name: "pg_dump exited with status 1", "pg_dump was killed by signal 9 ...".
std::string ExitText(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was " + process::DescribeWaitStatus(status);
  return "ended with " + process::DescribeWaitStatus(status);
}

struct Child {
  std::string name;  // "pg_dump", for messages
  pid_t pid = -1;
  Fd in;   // write end of its stdin (restore)
  Fd out;  // read end of its stdout (dump)
  Fd err;  // read end of its stderr (with stdout, for restore)

  ~Child() { Kill(); }  // every early return leaves nothing running
  int Wait() {
    if (pid <= 0) return -1;  // waitpid(-1) would reap someone else's child
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
    return status;
  }
  void Kill() {
    if (pid <= 0) return;  // kill(-1) would signal every process we may signal
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    Wait();
  }
};

// Which way the data flows: out of pg_dump's stdout (its stdin is /dev/null), or into
// pg_restore's stdin (its stdout joins stderr). Stderr is always captured.
enum class DataPipe { kFromStdout, kToStdin };

// Starts `args` with PGPASSWORD set to `password` (when not empty).
grpc::Status Spawn(const std::vector<std::string>& args, const std::string& password, DataPipe data,
                   Child* child) {
  child->name = args[0].substr(args[0].rfind('/') + 1);
  // Everything the child needs is built before fork: it may not allocate.
  std::vector<std::string> env_strings = ToolEnvironment(environ, password);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = args;
  std::vector<char*> argv;
  for (std::string& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  long max_fd = sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;

  const std::string what = "cannot run " + args[0] + ": ";
  Fd child_in, child_out, err_write, report_read, report_write;
  bool piped = process::MakePipe(&child->err, &err_write) &&
               process::MakePipe(&report_read, &report_write);
  if (data == DataPipe::kToStdin) {
    piped = piped && process::MakePipe(&child_in, &child->in);
  } else {
    piped = piped && process::MakePipe(&child->out, &child_out);
    child_in.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
    piped = piped && child_in.is_open() && process::MoveAboveStdio(&child_in);
  }
  if (!piped) return grpc::Status(grpc::StatusCode::INTERNAL, what + ErrnoText(errno));
  (void)fcntl(data == DataPipe::kToStdin ? child->in.get() : child->out.get(), F_SETPIPE_SZ, kDataPipeSize);
  int out_fd = data == DataPipe::kToStdin ? err_write.get() : child_out.get();

  pid_t pid = fork();
  if (pid < 0) return grpc::Status(grpc::StatusCode::INTERNAL, what + "fork: " + ErrnoText(errno));
  if (pid == 0) {
    ExecChild(argv[0], argv.data(), envp.data(), child_in.get(), out_fd, err_write.get(),
              report_write.get(), max_fd);
  }
  setpgid(pid, pid);  // also here: the parent may kill the group before the child ran setpgid
  child->pid = pid;
  child_in.Reset();
  child_out.Reset();
  err_write.Reset();
  report_write.Reset();
  int exec_errno = 0;
  ssize_t n;
  while ((n = read(report_read.get(), &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    child->Wait();
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, what + ErrnoText(exec_errno));
  }
  return grpc::Status::OK;
}

// Reads what is there; closes fd at end of file or on an error.
void ReadInto(Fd* fd, BoundedText* text) {
  char buf[4096];
  ssize_t n = read(fd->get(), buf, sizeof buf);
  if (n > 0) {
    text->Append(buf, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    fd->Reset();
  }
}

grpc::Status ToolFailed(const Child& child, int status, BoundedText* stderr_text,
                        const std::vector<std::string>& secrets) {
  std::string message = child.name + " " + ExitText(status);
  std::string text = Scrub(stderr_text->Text(), secrets);
  if (!text.empty()) message += ": " + text;
  return grpc::Status(grpc::StatusCode::INTERNAL, message);
}

// Streams pg_dump's stdout to the sink in full pieces while keeping its stderr.
grpc::Status StreamDump(Child* child, const ByteSink& sink, uint64_t* bytes, BoundedText* err) {
  std::vector<uint8_t> piece(kPieceSize);
  size_t filled = 0;
  auto deliver = [&]() -> grpc::Status {
    bool accepted = false;
    try {
      accepted = sink(piece.data(), filled);
    } catch (const std::exception&) {
      accepted = false;
    }
    if (!accepted) {
      child->Kill();
      return grpc::Status(grpc::StatusCode::ABORTED, "the backup stream refused data after " +
                                                         std::to_string(*bytes) +
                                                         " bytes; pg_dump was stopped");
    }
    *bytes += filled;
    filled = 0;
    return grpc::Status::OK;
  };
  while (child->out.is_open() || child->err.is_open()) {
    pollfd fds[2];
    nfds_t count = 0;
    if (child->out.is_open()) fds[count++] = {child->out.get(), POLLIN, 0};
    if (child->err.is_open()) fds[count++] = {child->err.get(), POLLIN, 0};
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return grpc::Status(grpc::StatusCode::INTERNAL, "poll: " + ErrnoText(errno));
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == child->err.get()) {
        ReadInto(&child->err, err);
        continue;
      }
      ssize_t n = read(child->out.get(), piece.data() + filled, kPieceSize - filled);
      if (n > 0) {
        filled += static_cast<size_t>(n);
        if (filled == kPieceSize) {
          grpc::Status delivered = deliver();
          if (!delivered.ok()) return delivered;
        }
      } else if (n == 0) {
        child->out.Reset();
      } else if (errno != EINTR && errno != EAGAIN) {
        return grpc::Status(grpc::StatusCode::INTERNAL, "reading pg_dump: " + ErrnoText(errno));
      }
    }
  }
  return filled > 0 ? deliver() : grpc::Status::OK;
}

// Writing to a pg_restore that already exited raises SIGPIPE in the writing thread. Blocked for
// the duration of a restore and consumed afterwards, it cannot end a process that left SIGPIPE
// at its default.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

// ---------------------------------------------------------------------------------------------
// SQL side.

grpc::Status FromException(const std::string& what, const std::exception& e,
                           const std::vector<std::string>& secrets) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    code = grpc::StatusCode::UNAVAILABLE;
  } else if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
      code = grpc::StatusCode::UNAVAILABLE;  // connection exceptions, admin shutdown
    } else if (state == "42501" || state.rfind("28", 0) == 0) {
      code = grpc::StatusCode::PERMISSION_DENIED;
    } else if (state == "42P04") {
      code = grpc::StatusCode::ALREADY_EXISTS;
    } else if (state == "3D000") {
      code = grpc::StatusCode::NOT_FOUND;
    } else if (state == "55006") {
      code = grpc::StatusCode::FAILED_PRECONDITION;
    }
  }
  return grpc::Status(code, what + ": " + Scrub(Trim(e.what()), secrets));
}

long long CountTable(pqxx::transaction_base& tx, const std::string& schema, const std::string& table) {
  pqxx::row count = tx.exec1("SELECT count(*) FROM " + tx.quote_name(schema) + "." + tx.quote_name(table));
  return count[0].as<long long>();
}

// Every user table, ordinary and partitioned (their partitions are ordinary tables too), as
// pg_dump sees them (other sessions' temporary tables are neither dumped nor readable), each with
// what its count(*) reads: itself and every table that inherits from it, at any depth.
constexpr char kListTablesWithDescendants[] =
    "WITH RECURSIVE tables AS ("
    "  SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c "
    "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "  WHERE c.relkind IN ('r', 'p') "
    "  AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'), "
    "members(root, member) AS ("
    "  SELECT oid, oid FROM tables "
    "  UNION SELECT m.root, i.inhrelid FROM members m "
    "  JOIN pg_catalog.pg_inherits i ON i.inhparent = m.member) "
    "SELECT t.nspname, t.relname, m.member::bigint, c.relkind::text FROM tables t "
    "JOIN members m ON m.root = t.oid JOIN pg_catalog.pg_class c ON c.oid = m.member "
    "ORDER BY 1, 2";

struct TableToCount {
  std::string schema;
  std::string name;
  std::vector<uint32_t> stored;  // itself and its descendants that hold rows of their own
  bool countable_from_archive = true;  // false: a foreign table among them (pg_dump dumps no rows)
};

std::vector<TableToCount> TablesToCount(pqxx::transaction_base& tx) {
  std::vector<TableToCount> tables;
  for (const pqxx::row& row : tx.exec(kListTablesWithDescendants)) {
    std::string schema = row[0].as<std::string>();
    std::string name = row[1].as<std::string>();
    if (tables.empty() || tables.back().schema != schema || tables.back().name != name) {
      tables.push_back({std::move(schema), std::move(name), {}, true});
    }
    const std::string kind = row[3].as<std::string>();
    if (kind == "r") {
      tables.back().stored.push_back(static_cast<uint32_t>(row[2].as<long long>()));
    } else if (kind != "p") {  // a partitioned table holds no rows itself
      tables.back().countable_from_archive = false;
    }
  }
  return tables;
}

void CountTables(pqxx::transaction_base& tx, std::map<std::string, long long>* out) {
  out->clear();
  for (const TableToCount& t : TablesToCount(tx)) {
    (*out)[t.schema + "." + t.name] = CountTable(tx, t.schema, t.name);
  }
}

// Each table's rows in the snapshot: from the archive where it holds all of them, else count(*)
// in the snapshot (the dump is done by then, so this is the slow path for odd tables only).
void CountRowsOfDump(pqxx::transaction_base& tx, const std::vector<TableToCount>& tables,
                     const std::map<uint32_t, long long>* archived, DumpManifest* manifest) {
  manifest->row_counts.clear();
  manifest->counted_by_query.clear();
  for (const TableToCount& t : tables) {
    const std::string name = t.schema + "." + t.name;
    bool from_archive = archived != nullptr && t.countable_from_archive;
    long long rows = 0;
    for (size_t i = 0; from_archive && i < t.stored.size(); ++i) {
      auto it = archived->find(t.stored[i]);
      from_archive = it != archived->end();
      if (from_archive) rows += it->second;
    }
    if (!from_archive) {
      rows = CountTable(tx, t.schema, t.name);
      manifest->counted_by_query.push_back(name);
    }
    manifest->row_counts[name] = rows;
  }
}

using RepeatableReadOnly = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

bool ValidDatabaseName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

grpc::Status InvalidName(const std::string& name) {
  std::string shown = name.size() > 80 ? name.substr(0, 80) + "..." : name;
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      "database name \"" + shown + "\" is invalid: use 1-63 lower-case letters, digits and '_'");
}

// A session on the server that is not inside `name` (a database cannot be dropped from
// within): the URL's own database, or "postgres" when the URL names `name` itself.
std::unique_ptr<pqxx::connection> MaintenanceConnection(const std::string& server_url,
                                                        const std::string& name) {
  auto conn = std::make_unique<pqxx::connection>(server_url);
  if (conn->dbname() == name) {
    conn = std::make_unique<pqxx::connection>(db::WithDatabase(server_url, "postgres"));
  }
  return conn;
}

// Runs fn against the server with the URL parsed (for scrubbing) and exceptions mapped.
template <typename Fn>
grpc::Status OnServer(const std::string& server_url, const std::string& what, Fn&& fn) {
  PgConnection connection;
  std::string error;
  if (!ParseConnection(server_url, &connection, &error)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "database_url: " + error);
  }
  try {
    return fn();
  } catch (const std::exception& e) {
    return FromException(what + " on " + db::RedactUrl(server_url), e, connection.secrets);
  }
}

}  // namespace

std::vector<std::string> ToolEnvironment(const char* const* inherited, const std::string& password) {
  auto is_passed_on = [](const std::string& entry) {
    const std::string name = entry.substr(0, entry.find('='));
    return name == "PATH" || name == "TZ" || name == "LANG" || name.rfind("LC_", 0) == 0;
  };
  std::vector<std::string> env;
  for (const char* const* e = inherited; e != nullptr && *e != nullptr; ++e) {
    if (is_passed_on(*e)) env.emplace_back(*e);
  }
  if (!password.empty()) env.push_back("PGPASSWORD=" + password);
  return env;
}

grpc::Status DumpDatabase(const std::string& database_url, const ByteSink& sink,
                          DumpManifest* manifest, const std::string& pg_dump_path) {
  if (manifest == nullptr || !sink) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "DumpDatabase needs a sink and a manifest");
  }
  *manifest = DumpManifest{};
  PgConnection connection;
  std::string error;
  if (!ParseConnection(database_url, &connection, &error)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "database_url: " + error);
  }
  const std::string where = db::RedactUrl(database_url);
  std::string stage = "cannot connect to " + where;
  try {
    pqxx::connection conn(database_url);
    stage = "cannot take a snapshot of " + where;
    RepeatableReadOnly tx(conn);
    // The snapshot has to outlive the whole pg_dump run, however long a server lets sessions
    // sit idle in a transaction.
    tx.exec0("SET LOCAL idle_in_transaction_session_timeout = 0");
    pqxx::row snapshot = tx.exec1(
        "SELECT pg_export_snapshot(), (extract(epoch FROM now()) * 1000000)::bigint, "
        "current_setting('server_version')");
    manifest->snapshot_id = snapshot[0].as<std::string>();
    manifest->snapshot_time = std::chrono::system_clock::time_point(
        std::chrono::microseconds(snapshot[1].as<long long>()));
    manifest->server_version = snapshot[2].as<std::string>();

    const std::vector<TableToCount> tables = TablesToCount(tx);
    Child child;
    grpc::Status started = Spawn({pg_dump_path, "--snapshot=" + manifest->snapshot_id, "-Fc", "-Z0",
                                  "--no-password", "--dbname=" + connection.conninfo},
                                 connection.password, DataPipe::kFromStdout, &child);
    if (!started.ok()) return started;
    // The rows are counted in the archive as it streams past: counting with SQL scanned every
    // table once more, beside pg_dump's own scan, on the same cores.
    ArchiveRowCounter counter;
    ByteSink counted_sink = [&](const uint8_t* data, size_t size) {
      counter.Feed(data, size);
      return sink(data, size);
    };
    BoundedText stderr_text;
    grpc::Status streamed = StreamDump(&child, counted_sink, &manifest->bytes_dumped, &stderr_text);
    if (!streamed.ok()) return streamed;
    int status = child.Wait();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return ToolFailed(child, status, &stderr_text, connection.secrets);
    }
    stage = "cannot count the rows of " + where;
    const bool archive_read = counter.Finish();
    if (!archive_read) manifest->archive_unread = counter.error();
    CountRowsOfDump(tx, tables, archive_read ? &counter.rows() : nullptr, manifest);
    // pg_dump holds its own copy of the snapshot once started, so this commit only ends ours;
    // a failure still means the source connection broke mid-run, which deserves a look.
    stage = "the snapshot connection to " + where + " failed during pg_dump";
    tx.commit();
    return grpc::Status::OK;
  } catch (const std::exception& e) {
    return FromException(stage, e, connection.secrets);
  }
}

grpc::Status RestoreDatabase(const std::string& database_url, const ByteSource& source,
                             const std::string& pg_restore_path) {
  if (!source)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "RestoreDatabase needs a source");
  PgConnection connection;
  std::string error;
  if (!ParseConnection(database_url, &connection, &error)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "database_url: " + error);
  }
  SigpipeBlock sigpipe_block;
  Child child;
  grpc::Status started = Spawn({pg_restore_path, "--no-owner", "--no-privileges", "--exit-on-error",
                                "--no-password", "--dbname=" + connection.conninfo},
                               connection.password, DataPipe::kToStdin, &child);
  if (!started.ok()) return started;
  if (fcntl(child.in.get(), F_SETFL, O_NONBLOCK) != 0) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "fcntl: " + ErrnoText(errno));
  }
  uint64_t fed = 0;
  bool stopped_reading = false;  // pg_restore closed its stdin before the end
  BoundedText stderr_text;
  int poll_errno = 0;
  // Waits until stdin takes more (while stdin is open) or stderr has something, reading stderr
  // meanwhile so that a chatty pg_restore never blocks on it. False on a poll failure.
  auto wait = [&]() {
    pollfd fds[2];
    nfds_t count = 0;
    if (child.in.is_open()) fds[count++] = {child.in.get(), POLLOUT, 0};
    if (child.err.is_open()) fds[count++] = {child.err.get(), POLLIN, 0};
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) return true;
      poll_errno = errno;
      return false;
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].fd == child.err.get() && fds[i].revents != 0) ReadInto(&child.err, &stderr_text);
    }
    return true;
  };
  // The source's bytes go straight into the pipe: no copy of ours, and a poll only when the pipe
  // is full.
  ByteSink write_stdin = [&](const uint8_t* data, size_t size) {
    while (size > 0 && child.in.is_open()) {
      ssize_t n = write(child.in.get(), data, size);
      if (n >= 0) {
        data += n;
        size -= static_cast<size_t>(n);
        fed += static_cast<uint64_t>(n);
      } else if (errno == EAGAIN) {
        if (!wait()) return false;
      } else if (errno != EINTR) {
        // EPIPE: pg_restore exited (its error comes from stderr and the exit status below).
        stopped_reading = true;
        child.in.Reset();
      }
    }
    return child.in.is_open();
  };
  bool read = false;
  try {
    read = source(write_stdin);
  } catch (const std::exception&) {
    read = false;
  }
  if (!read) {
    child.Kill();
    return grpc::Status(grpc::StatusCode::ABORTED, "reading the backup failed after " +
                                                       std::to_string(fed) +
                                                       " bytes; pg_restore was stopped");
  }
  child.in.Reset();  // end of input for pg_restore
  while (child.err.is_open() && poll_errno == 0) wait();
  if (poll_errno != 0) return grpc::Status(grpc::StatusCode::INTERNAL, "poll: " + ErrnoText(poll_errno));
  int status = child.Wait();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ToolFailed(child, status, &stderr_text, connection.secrets);
  }
  if (stopped_reading) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "pg_restore stopped reading after " +
                                                        std::to_string(fed) +
                                                        " bytes of the backup without an error");
  }
  return grpc::Status::OK;
}

grpc::Status CountRows(const std::string& database_url, std::map<std::string, long long>* out) {
  if (out == nullptr)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "CountRows needs an output");
  return OnServer(database_url, "cannot count rows", [&] {
    pqxx::connection conn(database_url);
    RepeatableReadOnly tx(conn);  // one snapshot for all tables
    CountTables(tx, out);
    tx.commit();
    return grpc::Status::OK;
  });
}

grpc::Status CreateDatabase(const std::string& server_url, const std::string& name) {
  if (!ValidDatabaseName(name)) return InvalidName(name);
  return OnServer(server_url, "cannot create database " + name, [&] {
    auto conn = MaintenanceConnection(server_url, name);
    pqxx::nontransaction tx(*conn);
    // template0: objects someone added to template1 would collide with a restored dump.
    tx.exec0("CREATE DATABASE " + tx.quote_name(name) + " TEMPLATE template0");
    return grpc::Status::OK;
  });
}

grpc::Status DropDatabase(const std::string& server_url, const std::string& name) {
  if (!ValidDatabaseName(name)) return InvalidName(name);
  if (name == "postgres" || name == "template0" || name == "template1") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "refusing to drop the system database " + name);
  }
  return OnServer(server_url, "cannot drop database " + name, [&] {
    auto conn = MaintenanceConnection(server_url, name);
    pqxx::nontransaction tx(*conn);
    tx.exec0("DROP DATABASE " + tx.quote_name(name) + " WITH (FORCE)");
    return grpc::Status::OK;
  });
}

grpc::Status DatabaseExists(const std::string& server_url, const std::string& name, bool* exists) {
  if (exists == nullptr)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "DatabaseExists needs an output");
  if (!ValidDatabaseName(name)) return InvalidName(name);
  return OnServer(server_url, "cannot look up database " + name, [&] {
    pqxx::connection conn(server_url);
    pqxx::nontransaction tx(conn);
    *exists =
        !tx.exec_params("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", name).empty();
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::backups
