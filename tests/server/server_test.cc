// End-to-end tests: the real server on 127.0.0.1 port 0 over a real RocksDB
// in a temp dir, called with a real gRPC client.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/model_files.h"
#include "core/train.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "recd/v1/recd.grpc.pb.h"
#include "server/server.h"
#include "tests/core/planted_model.h"
#include "tests/test_util.h"

namespace recd::server {
namespace {

namespace fs = std::filesystem;
using recd::v1::Event;
using recd::v1::Item;

constexpr int kDim = 8;

// Plain HTTP/1.0 GET on 127.0.0.1:port; returns the body ("" on failure).
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) resp.append(buf, n);
  close(fd);
  auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

// Value of one sample line of the Prometheus text format; -1 when absent.
double MetricValue(const std::string& text, const std::string& sample) {
  auto pos = text.find("\n" + sample + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + sample.size() + 2));
}

Item MakeItem(const std::string& id, const std::string& category, float axis) {
  Item item;
  item.set_id(id);
  item.add_categories(category);
  item.add_tags("tag-" + category);
  for (int i = 0; i < kDim; ++i) item.add_vector(i == 0 ? axis : 0.1f * i);
  return item;
}

Event MakeEvent(const std::string& user, const std::string& item, const std::string& type) {
  Event e;
  e.set_user_id(user);
  e.set_item_id(item);
  e.set_type(type);
  return e;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recd-server-test-" + std::to_string(std::random_device{}()));
    options_.data_dir = dir_.string();
    options_.dimension = kDim;
    options_.limits.max_k = 50;
    options_.limits.max_events_per_call = 10;
    options_.limits.max_items_per_call = 10;
    options_.limits.max_id_bytes = 32;
    // Deterministic slates; exploration has its own test.
    options_.surfaces["default"].explore_epsilon = 0;
    Start();
  }
  void TearDown() override {
    Stop();
    fs::remove_all(dir_);
  }

  void Start() {
    auto engine = core::Engine::Open(options_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
    ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.metrics_listen = "127.0.0.1:0";
    so.shutdown_grace_seconds = 5;
    auto server = Server::Start(engine_.get(), so);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials());
    recommender_ = recd::v1::Recommender::NewStub(channel);
    catalog_ = recd::v1::Catalog::NewStub(channel);
    health_ = grpc::health::v1::Health::NewStub(channel);
  }
  void Stop() {
    recommender_.reset();
    catalog_.reset();
    health_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
    if (engine_) engine_->Shutdown();
    engine_.reset();
  }
  void Restart() {
    Stop();
    Start();
  }

  // Upserts items as a client stream of one message per item.
  grpc::Status Upsert(const std::vector<Item>& items, recd::v1::UpsertItemsResponse* resp = nullptr) {
    grpc::ClientContext ctx;
    recd::v1::UpsertItemsResponse local;
    auto writer = catalog_->UpsertItems(&ctx, resp ? resp : &local);
    for (const auto& item : items) {
      recd::v1::UpsertItemsRequest req;
      *req.add_items() = item;
      if (!writer->Write(req)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  grpc::Status Track(const std::vector<Event>& events, recd::v1::TrackResponse* resp) {
    grpc::ClientContext ctx;
    recd::v1::TrackRequest req;
    for (const auto& e : events) *req.add_events() = e;
    return recommender_->Track(&ctx, req, resp);
  }

  struct Result {
    grpc::Status status;
    std::vector<recd::v1::RecommendResponse> pages;
    std::vector<std::string> ids() const {
      std::vector<std::string> out;
      for (const auto& p : pages) {
        for (const auto& i : p.items()) out.push_back(i.item_id());
      }
      return out;
    }
  };
  Result Recommend(const recd::v1::RecommendRequest& req) {
    Result r;
    grpc::ClientContext ctx;
    auto reader = recommender_->Recommend(&ctx, req);
    recd::v1::RecommendResponse resp;
    while (reader->Read(&resp)) r.pages.push_back(resp);
    r.status = reader->Finish();
    return r;
  }
  Result RecommendFor(const std::string& user, int k) {
    recd::v1::RecommendRequest req;
    req.set_user_id(user);
    req.set_k(k);
    return Recommend(req);
  }

  fs::path dir_;
  core::EngineOptions options_;
  std::unique_ptr<core::Engine> engine_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<recd::v1::Recommender::Stub> recommender_;
  std::unique_ptr<recd::v1::Catalog::Stub> catalog_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(ServerTest, UpsertedItemIsRecommendedAtOnce) {
  ASSERT_TRUE(Upsert({MakeItem("a", "shoes", 1), MakeItem("b", "hats", -1)}).ok());
  auto r = RecommendFor("new-user", 10);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_FALSE(r.pages.empty());
  EXPECT_FALSE(r.pages.front().recommendation_id().empty());
  EXPECT_TRUE(r.pages.back().last_page());
  auto ids = r.ids();
  EXPECT_TRUE(Contains(ids, "a"));
  EXPECT_TRUE(Contains(ids, "b"));
  for (const auto& p : r.pages) {
    for (const auto& i : p.items()) EXPECT_GT(i.reasons_size(), 0) << i.item_id();
  }
}

TEST_F(ServerTest, RecommendStreamsPagesOfOneSlate) {
  std::vector<Item> items;
  for (int i = 0; i < 7; ++i) items.push_back(MakeItem("i" + std::to_string(i), "c", i));
  ASSERT_TRUE(Upsert(items).ok());
  recd::v1::RecommendRequest req;
  req.set_session_id("anon-1");
  req.set_k(5);
  req.set_page_size(2);
  auto r = Recommend(req);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.pages.size(), 3u);
  EXPECT_FALSE(r.pages[0].recommendation_id().empty());
  EXPECT_TRUE(r.pages[1].recommendation_id().empty());
  std::set<std::string> unique;
  int position = 0;
  for (size_t p = 0; p < r.pages.size(); ++p) {
    EXPECT_EQ(r.pages[p].page(), static_cast<int>(p));
    EXPECT_EQ(r.pages[p].last_page(), p + 1 == r.pages.size());
    EXPECT_EQ(r.pages[p].items_size(), p < 2 ? 2 : 1);
    for (const auto& i : r.pages[p].items()) {
      EXPECT_EQ(i.position(), position++);
      unique.insert(i.item_id());
    }
  }
  EXPECT_EQ(unique.size(), 5u);
}

TEST_F(ServerTest, TrackedStateAndCatalogSurviveRestart) {
  ASSERT_TRUE(Upsert({MakeItem("seen", "c", 1), MakeItem("other", "c", 0.9f)}).ok());
  recd::v1::TrackResponse tr;
  ASSERT_TRUE(Track({MakeEvent("alice", "seen", "purchase")}, &tr).ok());
  EXPECT_EQ(tr.accepted(), 1u);
  ASSERT_GT(tr.last_sequence(), 0u);
  Restart();
  // Catalog.
  grpc::ClientContext ctx;
  recd::v1::GetItemRequest get;
  get.set_item_id("seen");
  Item item;
  ASSERT_TRUE(catalog_->GetItem(&ctx, get, &item).ok());
  EXPECT_EQ(item.categories(0), "c");
  EXPECT_EQ(item.vector_size(), kDim);
  // Events: the log still holds the event and the state reflects it.
  EXPECT_EQ(engine_->Stats().last_seq, tr.last_sequence());
  ASSERT_TRUE(engine_->WaitFolded(tr.last_sequence(), 10));
  auto r = RecommendFor("alice", 10);
  ASSERT_TRUE(r.status.ok());
  EXPECT_GE(r.pages.front().folded_sequence(), tr.last_sequence());
  EXPECT_FALSE(Contains(r.ids(), "seen"));
  EXPECT_TRUE(Contains(r.ids(), "other"));
}

TEST_F(ServerTest, SeenItemsAreFilteredAndSimilarOnesComeFromAnn) {
  ASSERT_TRUE(Upsert({MakeItem("x1", "c", 5), MakeItem("x2", "c", 4.9f), MakeItem("y", "d", -5)})
                  .ok());
  recd::v1::TrackResponse tr;
  ASSERT_TRUE(Track({MakeEvent("bob", "x1", "click")}, &tr).ok());
  ASSERT_TRUE(engine_->WaitFolded(tr.last_sequence(), 10));
  auto r = RecommendFor("bob", 2);
  ASSERT_TRUE(r.status.ok());
  auto ids = r.ids();
  ASSERT_FALSE(ids.empty());
  EXPECT_FALSE(Contains(ids, "x1"));
  EXPECT_EQ(ids.front(), "x2");
  EXPECT_EQ(r.pages[0].items(0).reasons(0).source(), "ann");
}

TEST_F(ServerTest, DeletedItemIsNeverRecommendedAgain) {
  ASSERT_TRUE(Upsert({MakeItem("keep", "c", 1), MakeItem("gone", "c", 1)}).ok());
  grpc::ClientContext ctx;
  recd::v1::DeleteItemsRequest del;
  del.add_item_ids("gone");
  del.add_item_ids("never-existed");
  recd::v1::DeleteItemsResponse resp;
  ASSERT_TRUE(catalog_->DeleteItems(&ctx, del, &resp).ok());
  EXPECT_EQ(resp.deleted(), 1u);
  EXPECT_EQ(resp.not_found(), 1u);
  EXPECT_FALSE(Contains(RecommendFor("u", 10).ids(), "gone"));
  Restart();
  EXPECT_FALSE(Contains(RecommendFor("u", 10).ids(), "gone"));
  EXPECT_TRUE(Contains(RecommendFor("u", 10).ids(), "keep"));
  grpc::ClientContext ctx2;
  recd::v1::GetItemRequest get;
  get.set_item_id("gone");
  Item item;
  EXPECT_EQ(catalog_->GetItem(&ctx2, get, &item).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, TrackStreamCommitsAllMessagesAndDedupesEventIds) {
  grpc::ClientContext ctx;
  recd::v1::TrackResponse resp;
  auto writer = recommender_->TrackStream(&ctx, &resp);
  for (int m = 0; m < 3; ++m) {
    recd::v1::TrackRequest req;
    auto e = MakeEvent("carol", "item-" + std::to_string(m), "view");
    e.set_event_id("ev-" + std::to_string(m % 2));  // ev-0 twice
    *req.add_events() = e;
    ASSERT_TRUE(writer->Write(req));
  }
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(resp.accepted(), 2u);
  EXPECT_EQ(resp.duplicates(), 1u);
  // A retry of the same ids later is acknowledged but not stored again.
  recd::v1::TrackResponse again;
  auto e = MakeEvent("carol", "item-0", "view");
  e.set_event_id("ev-0");
  ASSERT_TRUE(Track({e}, &again).ok());
  EXPECT_EQ(again.accepted(), 0u);
  EXPECT_EQ(again.duplicates(), 1u);
  EXPECT_EQ(engine_->Stats().last_seq, resp.last_sequence());
}

struct BadCase {
  const char* name;
  const char* field;  // must appear in the error message
};

TEST_F(ServerTest, BadTrackInputIsRejectedNamingTheFieldAndWritesNothing) {
  const uint64_t before = engine_->Stats().last_seq;
  auto good = MakeEvent("u1", "i1", "view");
  std::vector<std::pair<std::vector<Event>, std::string>> cases;
  {
    auto e = good;
    e.clear_user_id();
    cases.push_back({{good, e}, "events[1].user_id"});
  }
  {
    auto e = good;
    e.set_item_id(std::string(33, 'x'));
    cases.push_back({{e}, "events[0].item_id"});
  }
  {
    auto e = good;
    e.clear_item_id();
    cases.push_back({{e}, "events[0].item_id"});
  }
  {
    auto e = good;
    e.set_type("like");
    cases.push_back({{good, good, e}, "events[2].type"});
  }
  {
    auto e = good;
    e.mutable_occurred_at()->set_seconds(1700000000);
    e.mutable_occurred_at()->set_nanos(-1);
    cases.push_back({{e}, "events[0].occurred_at"});
  }
  {
    auto e = good;
    e.mutable_occurred_at()->set_seconds(4102444800);  // 2100
    cases.push_back({{e}, "events[0].occurred_at"});
  }
  cases.push_back({std::vector<Event>(11, good), "events"});
  cases.push_back({{}, "events"});
  for (const auto& [events, field] : cases) {
    recd::v1::TrackResponse resp;
    auto st = Track(events, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(st.error_message().rfind(field, 0), 0u) << st.error_message();
  }
  EXPECT_EQ(engine_->Stats().last_seq, before);
}

TEST_F(ServerTest, BadUpsertIsRejectedNamingTheFieldAndWritesNothing) {
  auto wrong_dim = MakeItem("w", "c", 1);
  wrong_dim.add_vector(1);
  auto st = Upsert({MakeItem("ok-1", "c", 1), wrong_dim});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("items[1].vector", 0), 0u) << st.error_message();
  Item empty_id = MakeItem("", "c", 1);
  st = Upsert({empty_id});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("items[0].id", 0), 0u) << st.error_message();
  std::vector<Item> too_many;
  for (int i = 0; i < 11; ++i) too_many.push_back(MakeItem("m" + std::to_string(i), "c", 1));
  st = Upsert(too_many);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("items", 0), 0u) << st.error_message();
  // Nothing from those calls was written: not "ok-1", not "m0".
  EXPECT_EQ(engine_->Stats().items, 0u);
  for (const char* id : {"ok-1", "m0"}) {
    grpc::ClientContext ctx;
    recd::v1::GetItemRequest get;
    get.set_item_id(id);
    Item item;
    EXPECT_EQ(catalog_->GetItem(&ctx, get, &item).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(ServerTest, BadRecommendIsRejectedNamingTheField) {
  const std::vector<std::pair<std::function<void(recd::v1::RecommendRequest*)>, std::string>>
      cases = {
          {[](auto* r) { r->set_user_id("u"); r->set_k(-1); }, "k"},
          {[](auto* r) { r->set_user_id("u"); r->set_k(51); }, "k"},
          {[](auto* r) { r->set_user_id("u"); r->set_page_size(-2); }, "page_size"},
          {[](auto* r) { r->set_k(5); }, "user_id"},
          {[](auto* r) { r->set_user_id(std::string(33, 'u')); }, "user_id"},
          {[](auto* r) { r->set_user_id("u"); r->set_surface("nope"); }, "surface"},
          {[](auto* r) { r->set_user_id("u"); r->add_exclude_item_ids(""); }, "exclude_item_ids[0]"},
      };
  for (const auto& [fill, field] : cases) {
    recd::v1::RecommendRequest req;
    fill(&req);
    auto r = Recommend(req);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(r.status.error_message().rfind(field + ":", 0), 0u) << r.status.error_message();
  }
}

TEST_F(ServerTest, MetricsAreScrapedOverHttpAndMove) {
  std::string before = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_NE(before.find("recd_rpc_requests_total"), std::string::npos) << before.substr(0, 500);
  const std::string ok = "recd_rpc_requests_total{code=\"OK\",method=\"Track\"}";
  const std::string bad = "recd_rpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"Track\"}";
  const std::string clicks = "recd_events_ingested_total{type=\"click\"}";
  EXPECT_EQ(MetricValue(before, ok), 0);
  EXPECT_EQ(MetricValue(before, clicks), 0);

  recd::v1::TrackResponse tr;
  ASSERT_TRUE(Track({MakeEvent("m", "i", "click"), MakeEvent("m", "j", "click")}, &tr).ok());
  EXPECT_FALSE(Track({MakeEvent("m", "i", "nope")}, &tr).ok());
  ASSERT_TRUE(Upsert({MakeItem("i", "c", 1)}).ok());

  std::string after = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_EQ(MetricValue(after, ok), 1);
  EXPECT_EQ(MetricValue(after, bad), 1);
  EXPECT_EQ(MetricValue(after, clicks), 2);
  EXPECT_EQ(MetricValue(after, "recd_catalog_items"), 1);
  EXPECT_EQ(MetricValue(after, "recd_index_vectors"), 1);
  EXPECT_EQ(MetricValue(after, "recd_rpc_latency_seconds_count{method=\"Track\"}"), 2);

  // The fold-in's writer persists behind it: the persisted sequence reaches
  // the last event and nothing stays queued.
  ASSERT_TRUE(engine_->WaitFolded(tr.last_sequence(), 10));
  std::string persisted;
  for (int i = 0; i < 200; ++i) {
    persisted = HttpGet(server_->metrics_port(), "/metrics");
    if (MetricValue(persisted, "recd_fold_persisted_sequence") >=
        static_cast<double>(tr.last_sequence())) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(MetricValue(persisted, "recd_fold_persisted_sequence"),
            static_cast<double>(tr.last_sequence()));
  EXPECT_EQ(MetricValue(persisted, "recd_fold_sequence"), static_cast<double>(tr.last_sequence()));
  EXPECT_EQ(MetricValue(persisted, "recd_fold_unpersisted_events"), 0);
  // Both events' lag, from the ack and from the receipt: the ack comes
  // after the receipt (the commit's fsync between), so that sum is smaller.
  EXPECT_EQ(MetricValue(persisted, "recd_fold_lag_seconds_count"), 2);
  EXPECT_EQ(MetricValue(persisted, "recd_event_visible_seconds_count"), 2);
  EXPECT_LT(MetricValue(persisted, "recd_fold_lag_seconds_sum"),
            MetricValue(persisted, "recd_event_visible_seconds_sum"));
  EXPECT_GT(MetricValue(persisted, "recd_event_visible_seconds_sum"), 0);
}

TEST_F(ServerTest, RelatedItemsStreamsCovisitedAndSimilarItems) {
  ASSERT_TRUE(Upsert({MakeItem("anchor", "c", 3), MakeItem("near", "c", 2.9f),
                      MakeItem("together", "d", -3), MakeItem("other", "e", -3)})
                  .ok());
  // Sessions that view "anchor" then "together".
  std::vector<Event> events;
  for (int s = 0; s < 3; ++s) {
    for (const char* item : {"anchor", "together"}) {
      auto e = MakeEvent("viewer-" + std::to_string(s), item, "view");
      e.set_session_id("sess-" + std::to_string(s));
      events.push_back(e);
    }
  }
  recd::v1::TrackResponse tr;
  ASSERT_TRUE(Track(events, &tr).ok());
  ASSERT_TRUE(engine_->WaitFolded(tr.last_sequence(), 10));

  recd::v1::RelatedItemsRequest req;
  req.set_item_id("anchor");
  req.set_k(3);
  req.set_page_size(2);
  Result r;
  {
    grpc::ClientContext ctx;
    auto reader = recommender_->RelatedItems(&ctx, req);
    recd::v1::RecommendResponse resp;
    while (reader->Read(&resp)) r.pages.push_back(resp);
    r.status = reader->Finish();
  }
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  // Two related items (one page of 2); "other" shares nothing with the
  // anchor (another category, an opposite vector, never viewed with it).
  ASSERT_EQ(r.pages.size(), 1u);
  EXPECT_TRUE(r.pages[0].last_page());
  EXPECT_FALSE(r.pages[0].recommendation_id().empty());
  auto ids = r.ids();
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_FALSE(Contains(ids, "other"));
  EXPECT_FALSE(Contains(ids, "anchor"));
  EXPECT_TRUE(Contains(ids, "together"));
  EXPECT_TRUE(Contains(ids, "near"));
  std::set<std::string> sources;
  for (const auto& p : r.pages) {
    for (const auto& i : p.items()) {
      for (const auto& reason : i.reasons()) sources.insert(reason.source());
    }
  }
  EXPECT_TRUE(sources.count("covisit"));
  EXPECT_TRUE(sources.count("ann"));

  // Unknown anchor: NOT_FOUND naming the field.
  req.set_item_id("missing");
  grpc::ClientContext ctx;
  auto reader = recommender_->RelatedItems(&ctx, req);
  recd::v1::RecommendResponse resp;
  while (reader->Read(&resp)) {
  }
  auto st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message().rfind("item_id", 0), 0u) << st.error_message();
}

// Two categories whose vectors point in opposite directions; a user who
// clicks several items of one gets recommendations shifted toward it.
TEST_F(ServerTest, ClicksShiftTheNextRecommendationTowardTheirCategory) {
  std::vector<Item> items;
  for (int i = 0; i < 10; ++i) {
    items.push_back(MakeItem("a" + std::to_string(i), "alpha", 1 + 0.1f * i));
    items.push_back(MakeItem("b" + std::to_string(i), "beta", -1 - 0.1f * i));
  }
  ASSERT_TRUE(Upsert(std::vector<Item>(items.begin(), items.begin() + 10)).ok());
  ASSERT_TRUE(Upsert(std::vector<Item>(items.begin() + 10, items.end())).ok());
  auto share_alpha = [&](const std::vector<std::string>& ids) {
    int a = 0;
    for (const auto& id : ids) a += id[0] == 'a';
    return ids.empty() ? 0.0 : static_cast<double>(a) / ids.size();
  };
  recd::v1::TrackResponse tr;
  auto e = MakeEvent("dana", "b0", "view");
  e.set_session_id("dana-1");
  ASSERT_TRUE(Track({e}, &tr).ok());
  ASSERT_TRUE(engine_->WaitFolded(tr.last_sequence(), 10));
  auto before = RecommendFor("dana", 6);
  ASSERT_TRUE(before.status.ok());
  EXPECT_GE(before.pages[0].folded_sequence(), tr.last_sequence());
  const double alpha_before = share_alpha(before.ids());

  std::vector<Event> clicks;
  for (int i = 1; i < 6; ++i) {
    auto c = MakeEvent("dana", "a" + std::to_string(i), "click");
    c.set_session_id("dana-1");
    clicks.push_back(c);
  }
  ASSERT_TRUE(Track(clicks, &tr).ok());
  ASSERT_TRUE(engine_->WaitFolded(tr.last_sequence(), 10));
  auto after = RecommendFor("dana", 6);
  ASSERT_TRUE(after.status.ok());
  EXPECT_GE(after.pages[0].folded_sequence(), tr.last_sequence());
  const double alpha_after = share_alpha(after.ids());
  EXPECT_LT(alpha_before, 0.5) << ::testing::PrintToString(before.ids());
  EXPECT_GT(alpha_after, 0.5) << ::testing::PrintToString(after.ids());
  EXPECT_GT(alpha_after, alpha_before);
  // The clicked items themselves are seen and not shown again.
  for (int i = 1; i < 6; ++i) EXPECT_FALSE(Contains(after.ids(), "a" + std::to_string(i)));
}

TEST_F(ServerTest, HealthServiceReportsServing) {
  for (const char* service : {"", "recd.v1.Recommender", "recd.v1.Catalog"}) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health_->Check(&ctx, req, &resp).ok()) << service;
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
}

// ---- Admin: model load ----------------------------------------------------

// Trains the planted model (clusters A and B, items "a0".."b9") and writes
// it to <parent>/<version>; returns the directory ("" on failure).
std::string WritePlantedSnapshot(const fs::path& parent,
                                 const std::map<std::string, double>& weights) {
  core::TrainingSet set(weights);
  core::test::PlantedOptions po;
  po.clusters = 2;
  core::test::AddPlanted(po, &set);
  auto model = core::TrainModel(set, core::test::PlantedTrainOptions(kDim));
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return "";
  fs::create_directories(parent);
  const std::string dir = (parent / model->data.manifest.version()).string();
  const absl::Status st = core::WriteModelSnapshot(&model->data, *model->index, dir);
  EXPECT_TRUE(st.ok()) << st;
  return st.ok() ? dir : "";
}

TEST_F(ServerTest, AdminLoadModelRejectsAnEmptyPathNamingIt) {
  auto admin = recd::v1::Admin::NewStub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  recd::v1::LoadModelRequest req;
  recd::v1::LoadModelResponse resp;
  const grpc::Status s = admin->LoadModel(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("path"), std::string::npos) << s.error_message();
  EXPECT_EQ(engine_->model_version(), core::kCatalogModelVersion);
}

TEST_F(ServerTest, AdminLoadModelOfAMissingPathIsNotFound) {
  auto admin = recd::v1::Admin::NewStub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  recd::v1::LoadModelRequest req;
  req.set_path((dir_ / "no-such-model").string());
  recd::v1::LoadModelResponse resp;
  const grpc::Status s = admin->LoadModel(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_NE(s.error_message().find("no-such-model"), std::string::npos) << s.error_message();
  EXPECT_EQ(engine_->model_version(), core::kCatalogModelVersion);
}

TEST_F(ServerTest, AdminLoadModelSwapsInATrainedModel) {
  auto admin = recd::v1::Admin::NewStub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  std::vector<Item> items;
  for (int c = 0; c < 2; ++c) {
    for (int i = 0; i < 10; ++i) {
      items.push_back(MakeItem(core::test::PlantedItem(c, i), core::test::PlantedCategory(c),
                               c == 0 ? 1.f : -1.f));
    }
  }
  ASSERT_TRUE(Upsert(std::vector<Item>(items.begin(), items.begin() + 10)).ok());
  ASSERT_TRUE(Upsert(std::vector<Item>(items.begin() + 10, items.end())).ok());
  // In the catalog, not in the model: gets a vector from the label map.
  ASSERT_TRUE(Upsert({MakeItem("a-new", "A", 1.f)}).ok());
  {
    grpc::ClientContext ctx;
    recd::v1::ModelInfo info;
    ASSERT_TRUE(admin->GetModel(&ctx, recd::v1::GetModelRequest(), &info).ok());
    EXPECT_EQ(info.version(), "catalog");
    EXPECT_FALSE(info.trained());
  }

  recd::testing::TempDir out("recd-admin-snapshots");
  const std::string snap = WritePlantedSnapshot(out.path(), options_.event_weights);
  ASSERT_FALSE(snap.empty());
  const std::string version = fs::path(snap).filename().string();
  recd::v1::LoadModelRequest req;
  req.set_path(snap);
  recd::v1::LoadModelResponse resp;
  {
    grpc::ClientContext ctx;
    const grpc::Status s = admin->LoadModel(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(resp.version(), version);
  EXPECT_EQ(resp.items(), 20u);
  EXPECT_EQ(resp.cold_items(), 1u);
  EXPECT_GE(resp.gate_recall(), core::Engine::kModelGateRecall);
  EXPECT_GT(resp.seconds(), 0);
  EXPECT_FALSE(resp.already_loaded());
  {
    grpc::ClientContext ctx;
    recd::v1::ModelInfo info;
    ASSERT_TRUE(admin->GetModel(&ctx, recd::v1::GetModelRequest(), &info).ok());
    EXPECT_EQ(info.version(), version);
    EXPECT_TRUE(info.trained());
    EXPECT_EQ(info.vectors(), 21u);
  }
  recd::v1::TrackResponse tr;
  ASSERT_TRUE(Track({MakeEvent("erin", "a0", "view"), MakeEvent("erin", "a1", "view")}, &tr).ok());
  ASSERT_TRUE(engine_->WaitFolded(tr.last_sequence(), 10));
  auto r = RecommendFor("erin", 5);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_FALSE(r.pages.empty());
  EXPECT_EQ(r.pages.front().model_version(), version);
  EXPECT_FALSE(r.ids().empty());

  // The same snapshot again: nothing changes.
  {
    grpc::ClientContext ctx;
    recd::v1::LoadModelResponse again;
    ASSERT_TRUE(admin->LoadModel(&ctx, req, &again).ok());
    EXPECT_TRUE(again.already_loaded());
    EXPECT_EQ(again.version(), version);
  }
  // A restart serves the same model.
  Restart();
  admin = recd::v1::Admin::NewStub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    recd::v1::ModelInfo info;
    ASSERT_TRUE(admin->GetModel(&ctx, recd::v1::GetModelRequest(), &info).ok());
    EXPECT_EQ(info.version(), version);
    EXPECT_TRUE(info.trained());
  }
}

}  // namespace
}  // namespace recd::server
