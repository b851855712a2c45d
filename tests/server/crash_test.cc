// kill -9 of a real `recd serve` process after acknowledged Tracks: on
// restart the event log and the folded state hold every acknowledged event.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "recd/v1/recd.grpc.pb.h"
#include "recd/v1/records.pb.h"
#include "storage/keys.h"
#include "storage/store.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

class RecdProcess {
 public:
  RecdProcess(const fs::path& dir, const fs::path& config) {
    ready_ = dir / "ready.json";
    fs::remove(ready_);
    std::vector<std::string> args = {RECD_BINARY,     "serve",
                                     "--config",      config.string(),
                                     "--data-dir",    (dir / "data").string(),
                                     "--listen",      "127.0.0.1:0",
                                     "--metrics-listen", "127.0.0.1:0",
                                     "--ready-file",  ready_.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string log = (dir / "recd.log").string();
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    EXPECT_EQ(posix_spawn(&pid_, RECD_BINARY, &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  // Waits (bounded) until the server wrote its ready file; returns its gRPC
  // address or "" on timeout / early exit.
  std::string WaitReady() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "";
      }
      std::ifstream in(ready_);
      std::string text((std::istreambuf_iterator<char>(in)), {});
      std::smatch m;
      if (std::regex_search(text, m, std::regex("\"grpc\": \"([^\"]+)\""))) return m[1];
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a process, not syncing threads
    }
    return "";
  }
  void Kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM; returns the exit code (or -1).
  int Terminate() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~RecdProcess() { Kill9(); }

 private:
  pid_t pid_ = -1;
  fs::path ready_;
};

TEST(CrashRecovery, KillNineKeepsEveryAcknowledgedEvent) {
  const fs::path dir =
      fs::temp_directory_path() / ("recd-crash-" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  const fs::path config = dir / "recd.yaml";
  std::ofstream(config) << "demo: {enabled: false}\n"
                           "model: {dimension: 4}\n"
                           "surfaces:\n  default: {explore_epsilon: 0}\n";

  constexpr int kItems = 30, kBought = 24;
  uint64_t acked = 0;
  {
    RecdProcess recd(dir, config);
    const std::string addr = recd.WaitReady();
    ASSERT_FALSE(addr.empty()) << "server did not start; see " << dir / "recd.log";
    auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
    auto catalog = recd::v1::Catalog::NewStub(channel);
    auto rec = recd::v1::Recommender::NewStub(channel);
    {
      grpc::ClientContext ctx;
      recd::v1::UpsertItemsResponse resp;
      auto w = catalog->UpsertItems(&ctx, &resp);
      recd::v1::UpsertItemsRequest req;
      for (int i = 0; i < kItems; ++i) {
        auto* item = req.add_items();
        item->set_id("item-" + std::to_string(i));
        for (int d = 0; d < 4; ++d) item->add_vector(d == i % 4 ? 1.f : 0.1f);
      }
      ASSERT_TRUE(w->Write(req));
      w->WritesDone();
      ASSERT_TRUE(w->Finish().ok());
    }
    // One acknowledged Track per purchase, then kill -9 right after the last ack.
    for (int i = 0; i < kBought; ++i) {
      grpc::ClientContext ctx;
      recd::v1::TrackRequest req;
      auto* e = req.add_events();
      e->set_user_id("crash-user");
      e->set_session_id("s");
      e->set_item_id("item-" + std::to_string(i));
      e->set_type("purchase");
      recd::v1::TrackResponse resp;
      ASSERT_TRUE(rec->Track(&ctx, req, &resp).ok());
      acked = resp.last_sequence();
    }
    recd.Kill9();
  }
  ASSERT_EQ(acked, static_cast<uint64_t>(kBought));

  RecdProcess recd(dir, config);
  const std::string addr = recd.WaitReady();
  ASSERT_FALSE(addr.empty()) << "server did not restart; see " << dir / "recd.log";
  auto rec = recd::v1::Recommender::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  // The fold-in replays the log tail after the restart; poll the server
  // (another process) until its state reaches the last acknowledged event.
  std::set<std::string> ids;
  uint64_t folded = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (folded < acked && std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext ctx;
    recd::v1::RecommendRequest req;
    req.set_user_id("crash-user");
    req.set_k(kItems);
    auto reader = rec->Recommend(&ctx, req);
    recd::v1::RecommendResponse resp;
    ids.clear();
    bool first = true;
    while (reader->Read(&resp)) {
      if (first) folded = resp.folded_sequence();
      first = false;
      for (const auto& i : resp.items()) ids.insert(i.item_id());
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  ASSERT_GE(folded, acked);
  // Every purchase is in the state: exactly the unbought items remain.
  std::set<std::string> expected;
  for (int i = kBought; i < kItems; ++i) expected.insert("item-" + std::to_string(i));
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(recd.Terminate(), 0);

  // The persisted derived state holds each purchase exactly once: the
  // fold-in's writer persists behind what readers see, and a replay from
  // its watermark must not apply an event twice.
  {
    recd::storage::StoreOptions so;
    so.path = (dir / "data").string();
    so.create_if_missing = false;
    so.read_only = true;
    auto store = recd::storage::Store::Open(so);
    ASSERT_TRUE(store.ok()) << store.status();
    auto mark = (*store)->Get(recd::storage::Cf::kMeta, recd::storage::kMetaFoldWatermark);
    ASSERT_TRUE(mark.ok() && mark->has_value());
    EXPECT_EQ(recd::storage::DecodeU64(**mark), acked);
    auto raw = (*store)->Get(recd::storage::Cf::kUsers, "u/crash-user");
    ASSERT_TRUE(raw.ok() && raw->has_value());
    recd::v1::records::UserState state;
    ASSERT_TRUE(state.ParseFromString(**raw));
    EXPECT_EQ(state.folded_seq(), acked);
    ASSERT_EQ(state.items_size(), kBought);
    for (const auto& item : state.items()) {
      EXPECT_DOUBLE_EQ(item.weight(), state.items(0).weight()) << item.item_id();
    }
    EXPECT_EQ(state.type_counts().at("purchase"), static_cast<uint64_t>(kBought));
  }
  fs::remove_all(dir);
}

}  // namespace
