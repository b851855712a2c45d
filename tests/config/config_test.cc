#include "config/config.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace recd::config {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The source tree root: RECD_SOURCE_DIR when the build defines it, else
// derived from this file's path. Ninja passes __FILE__ relative to the build
// directory (e.g. "../tests/config/config_test.cc"), which only resolves when
// run from there (not from ctest's tests/ directory or the source root), so
// fall back to the nearest ancestor of the working directory or of the test
// binary that holds config/recd.yaml and proto/recd/v1/config.proto.
std::string SourceDir() {
#ifdef RECD_SOURCE_DIR
  return RECD_SOURCE_DIR;
#else
  namespace fs = std::filesystem;
  const auto is_root = [](const fs::path& p) {
    std::error_code ec;
    return fs::exists(p / "config" / "recd.yaml", ec) &&
           fs::exists(p / "proto" / "recd" / "v1" / "config.proto", ec);
  };
  const std::string file = __FILE__;
  const std::string suffix = "/tests/config/config_test.cc";
  if (file.size() > suffix.size() &&
      file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0) {
    const std::string dir = file.substr(0, file.size() - suffix.size());
    if (is_root(dir)) return dir;
  }
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& start : {cwd, exe.parent_path()}) {
    for (fs::path p = start; !p.empty(); p = p.parent_path()) {
      if (is_root(p)) return p.string();
      if (p == p.parent_path()) break;
    }
  }
  return ".";
#endif
}

// absl::string_view is not std::string_view in Debian's abseil; gMock's
// string matchers want a std::string.
std::string Msg(const absl::Status& s) { return std::string(s.message()); }

std::string Diff(const Config& a, const Config& b) {
  std::string report;
  MessageDifferencer d;
  d.ReportDifferencesToString(&report);
  d.Compare(a, b);
  return report;
}

TEST(DefaultConfig, PassesValidate) { EXPECT_TRUE(Validate(DefaultConfig()).ok()); }

TEST(DefaultConfig, HasDocumentedEventTypesAndSurface) {
  const Config c = DefaultConfig();
  ASSERT_EQ(c.event_types_size(), 5);
  EXPECT_EQ(c.event_types().at("view").weight(), 1);
  EXPECT_EQ(c.event_types().at("click").weight(), 2);
  EXPECT_EQ(c.event_types().at("save").weight(), 4);
  EXPECT_EQ(c.event_types().at("cart").weight(), 6);
  EXPECT_EQ(c.event_types().at("purchase").weight(), 10);
  ASSERT_EQ(c.surfaces_size(), 1);
  const auto& s = c.surfaces().at("default");
  EXPECT_EQ(s.source_weights_size(), 6);
  EXPECT_EQ(s.source_weights().at("ann"), 1.0);
  EXPECT_EQ(s.source_weights().at("covisit"), 0.8);
  EXPECT_EQ(s.source_weights().at("content"), 0.4);
  EXPECT_EQ(s.source_weights().at("trending"), 0.3);
  EXPECT_EQ(s.source_weights().at("popular"), 0.1);
  EXPECT_EQ(s.source_weights().at("continuation"), 0.6);
  EXPECT_THAT(s.seen_event_types(), ::testing::ElementsAre("view", "click", "purchase"));
  EXPECT_EQ(s.max_item_age_seconds(), 0);
  EXPECT_EQ(s.freshness_weight(), 0.05);
  EXPECT_EQ(s.freshness_half_life_seconds(), 259200);
  EXPECT_EQ(s.popularity_weight(), 0.05);
  EXPECT_EQ(s.diversity().mode(), "mmr");
  EXPECT_EQ(s.diversity().mmr_lambda(), 0.8);
  EXPECT_EQ(s.diversity().max_per_category(), 3);
  EXPECT_EQ(s.explore_epsilon(), 0.05);
  EXPECT_EQ(s.explore_pool_size(), 100);
  EXPECT_EQ(s.session_intent(), 0.5);
  EXPECT_THAT(s.continuation_event_types(), ::testing::ElementsAre("save", "cart"));
  EXPECT_THAT(s.finish_event_types(), ::testing::ElementsAre("purchase"));
}

// Every source a surface may blend is one of kKnownSources, and the default
// surface uses each of them.
TEST(DefaultConfig, DefaultSurfaceWeighsEveryKnownSource) {
  const Config c = DefaultConfig();
  const auto& weights = c.surfaces().at("default").source_weights();
  EXPECT_EQ(weights.size(), kKnownSources.size());
  for (std::string_view src : kKnownSources) {
    EXPECT_TRUE(weights.contains(std::string(src))) << src;
  }
}

TEST(DefaultConfig, HasDocumentedModelRecommendAndIngestValues) {
  const Config c = DefaultConfig();
  EXPECT_EQ(c.model().als_alpha(), 10);
  EXPECT_EQ(c.model().als_lambda(), 0.1);
  const auto& r = c.recommend();
  EXPECT_EQ(r.popular_half_life_seconds(), 2592000);
  EXPECT_EQ(r.trending_prior(), 5);
  EXPECT_EQ(r.affinity_half_life_seconds(), 1209600);
  EXPECT_EQ(r.max_affinities(), 32);
  EXPECT_EQ(r.session_items(), 20);
  EXPECT_EQ(r.content_max_age_seconds(), 604800);
  EXPECT_EQ(r.content_items_per_label(), 200);
  EXPECT_EQ(r.covisit().window_items(), 5);
  EXPECT_EQ(r.covisit().window_seconds(), 1800);
  EXPECT_EQ(r.covisit().slots_per_item(), 100);
  EXPECT_EQ(r.covisit().top_per_item(), 50);
  EXPECT_EQ(r.covisit().half_life_seconds(), 604800);
  EXPECT_EQ(r.covisit().max_mb(), 700);
  EXPECT_EQ(c.ingest().max_fold_lag_events(), 200000);
}

// Keeps config/recd.yaml and DefaultConfig() in sync.
TEST(RecdYaml, ParsesToExactlyDefaultConfig) {
  const std::string path = SourceDir() + "/config/recd.yaml";
  absl::StatusOr<Config> c = LoadFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*c, DefaultConfig())) << Diff(*c, DefaultConfig());
}

// recd.yaml must list every field. The test above cannot notice a missing
// line (the default fills in), so check that every field name of the schema
// appears in the file as a key.
TEST(RecdYaml, MentionsEveryField) {
  std::ifstream in(SourceDir() + "/config/recd.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<const google::protobuf::Descriptor*> todo = {Config::descriptor()};
  while (!todo.empty()) {
    const google::protobuf::Descriptor* d = todo.back();
    todo.pop_back();
    for (int i = 0; i < d->field_count(); ++i) {
      const auto* f = d->field(i);
      EXPECT_TRUE(std::regex_search(text, std::regex("(^|[\\s{,])" + f->name() + ":")))
          << d->full_name() << "." << f->name() << " is missing from recd.yaml";
      if (f->is_map()) f = f->message_type()->map_value();
      if (f->message_type() != nullptr) todo.push_back(f->message_type());
    }
  }
}

TEST(ParseYaml, EmptyAndNullDocumentsGiveDefaults) {
  for (const char* text : {"", "~", "# only a comment\n", "---\n"}) {
    absl::StatusOr<Config> c = ParseYaml(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    EXPECT_TRUE(MessageDifferencer::Equals(*c, DefaultConfig())) << text;
  }
}

TEST(ParseYaml, OverlayChangesOnlyTheGivenKey) {
  absl::StatusOr<Config> c = ParseYaml("limits:\n  max_k: 100\n");
  ASSERT_TRUE(c.ok()) << c.status();
  Config want = DefaultConfig();
  want.mutable_limits()->set_max_k(100);
  EXPECT_TRUE(MessageDifferencer::Equals(*c, want)) << Diff(*c, want);
}

TEST(ParseYaml, ScalarTypes) {
  absl::StatusOr<Config> c = ParseYaml(
      "demo: {enabled: false, seed: -9000000000}\n"
      "server: {shutdown_grace_seconds: 2.5, listen: '127.0.0.1:0'}\n"
      "recommend: {trending_half_life_seconds: 1e3}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->demo().enabled());
  EXPECT_EQ(c->demo().seed(), -9000000000);
  EXPECT_EQ(c->server().shutdown_grace_seconds(), 2.5);
  EXPECT_EQ(c->server().listen(), "127.0.0.1:0");
  EXPECT_EQ(c->server().metrics_listen(), "0.0.0.0:9464");  // merged, not replaced
  EXPECT_EQ(c->recommend().trending_half_life_seconds(), 1000);
}

TEST(ParseYaml, MapReplacesDefaultMap) {
  // Dropping "save" also needs the default surface's continuation list
  // (default [save, cart]) to stop naming it.
  absl::StatusOr<Config> c = ParseYaml(
      "event_types:\n  view: {weight: 1}\n  click: {weight: 3}\n  cart: {weight: 6}\n"
      "  purchase: {weight: 5}\n"
      "surfaces: {default: {continuation_event_types: [cart]}}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->event_types_size(), 4);
  EXPECT_FALSE(c->event_types().contains("save"));
  EXPECT_EQ(c->event_types().at("click").weight(), 3);
}

TEST(ParseYaml, NestedMapReplacesAndNewSurfaceStartsFromSurfaceDefaults) {
  absl::StatusOr<Config> c = ParseYaml(
      "surfaces:\n"
      "  default: {source_weights: {ann: 2}}\n"
      "  home: {max_item_age_seconds: 3600}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->surfaces_size(), 2);
  const auto& def = c->surfaces().at("default");
  EXPECT_EQ(def.source_weights_size(), 1);
  EXPECT_EQ(def.source_weights().at("ann"), 2);
  EXPECT_THAT(def.seen_event_types(), ::testing::ElementsAre("view", "click", "purchase"));
  const auto& home = c->surfaces().at("home");
  EXPECT_EQ(home.max_item_age_seconds(), 3600);
  EXPECT_EQ(home.source_weights().at("ann"), 1.0);
  EXPECT_EQ(home.source_weights().at("trending"), 0.3);
  EXPECT_EQ(home.seen_event_types_size(), 3);
}

// A surface given with one field gets every other surface default, the
// nested diversity message included.
TEST(ParseYaml, NewSurfaceWithOneFieldGetsAllOtherSurfaceDefaults) {
  absl::StatusOr<Config> c =
      ParseYaml("surfaces:\n  default: {}\n  news:\n    explore_epsilon: 0.2\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->surfaces_size(), 2);
  Config want = DefaultConfig();
  auto& news = (*want.mutable_surfaces())["news"];
  news = want.surfaces().at("default");
  news.set_explore_epsilon(0.2);
  EXPECT_TRUE(MessageDifferencer::Equals(*c, want)) << Diff(*c, want);
  const auto& got = c->surfaces().at("news");
  EXPECT_EQ(got.explore_epsilon(), 0.2);
  EXPECT_EQ(got.source_weights_size(), 6);
  EXPECT_EQ(got.source_weights().at("covisit"), 0.8);
  EXPECT_EQ(got.freshness_weight(), 0.05);
  EXPECT_EQ(got.freshness_half_life_seconds(), 259200);
  EXPECT_EQ(got.popularity_weight(), 0.05);
  EXPECT_EQ(got.diversity().mode(), "mmr");
  EXPECT_EQ(got.diversity().mmr_lambda(), 0.8);
  EXPECT_EQ(got.diversity().max_per_category(), 3);
  EXPECT_EQ(got.explore_pool_size(), 100);
  EXPECT_THAT(got.continuation_event_types(), ::testing::ElementsAre("save", "cart"));
  EXPECT_THAT(got.finish_event_types(), ::testing::ElementsAre("purchase"));
}

// A surface's diversity given in the file merges key by key into the
// default diversity; an empty one keeps it.
TEST(ParseYaml, DiversityMergesIntoDefaultDiversity) {
  absl::StatusOr<Config> c = ParseYaml(
      "surfaces:\n"
      "  default: {diversity: {mode: category_cap}}\n"
      "  shop: {diversity: {max_per_category: 1}}\n"
      "  feed: {diversity: ~}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  const auto& def = c->surfaces().at("default").diversity();
  EXPECT_EQ(def.mode(), "category_cap");
  EXPECT_EQ(def.mmr_lambda(), 0.8);
  EXPECT_EQ(def.max_per_category(), 3);
  const auto& shop = c->surfaces().at("shop").diversity();
  EXPECT_EQ(shop.mode(), "mmr");
  EXPECT_EQ(shop.mmr_lambda(), 0.8);
  EXPECT_EQ(shop.max_per_category(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(c->surfaces().at("feed"),
                                         DefaultConfig().surfaces().at("default")));
}

TEST(ParseYaml, CovisitMergesIntoDefaultCovisit) {
  absl::StatusOr<Config> c = ParseYaml("recommend:\n  covisit:\n    window_items: 10\n");
  ASSERT_TRUE(c.ok()) << c.status();
  Config want = DefaultConfig();
  want.mutable_recommend()->mutable_covisit()->set_window_items(10);
  EXPECT_TRUE(MessageDifferencer::Equals(*c, want)) << Diff(*c, want);
}

TEST(ParseYaml, AcceptsEveryKnownSource) {
  absl::StatusOr<Config> c = ParseYaml(
      "surfaces: {default: {source_weights: "
      "{ann: 0, covisit: 1, content: 0, trending: 0, popular: 0, continuation: 0}}}");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->surfaces().at("default").source_weights().at("covisit"), 1);
}

TEST(ParseYaml, ListReplacesDefaultList) {
  absl::StatusOr<Config> c = ParseYaml("surfaces: {default: {seen_event_types: [cart]}}");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->surfaces().at("default").seen_event_types(), ::testing::ElementsAre("cart"));
  c = ParseYaml("surfaces: {default: {seen_event_types: []}}");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->surfaces().at("default").seen_event_types_size(), 0);
}

TEST(ParseYaml, UnknownKeyListsKnownKeys) {
  absl::StatusOr<Config> c = ParseYaml("server:\n  lisen: x\n");
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(c.status()),
              StartsWith("server.lisen: unknown key (known: listen, metrics_listen, "
                         "shutdown_grace_seconds, max_message_bytes)"));
  EXPECT_THAT(Msg(c.status()), HasSubstr("line 2, column 3"));
}

TEST(ParseYaml, WrongTypeNamesPathAndValue) {
  absl::StatusOr<Config> c = ParseYaml("limits:\n  max_k: abc\n");
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(c.status()), StartsWith("limits.max_k: expected an integer, got \"abc\""));
}

TEST(ParseYaml, SyntaxErrorHasLineAndColumn) {
  absl::StatusOr<Config> c = ParseYaml("server:\n  listen: [1, 2\n");
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(c.status()), HasSubstr("line "));
  EXPECT_THAT(Msg(c.status()), HasSubstr("column "));
}

TEST(Validate, ReportsEveryViolation) {
  Config c = DefaultConfig();
  c.mutable_limits()->set_max_k(0);
  c.mutable_logging()->set_level("loud");
  const absl::Status s = Validate(c);
  EXPECT_THAT(Msg(s), HasSubstr("limits.max_k: "));
  EXPECT_THAT(Msg(s), HasSubstr("logging.level: "));
}

TEST(LoadFile, MissingFileIsNotFoundAndNamesTheFile) {
  const std::string path = ::testing::TempDir() + "/no-such-recd.yaml";
  absl::StatusOr<Config> c = LoadFile(path);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(c.status()), HasSubstr(path));
}

TEST(LoadFile, BadFileIsInvalidArgumentAndNamesFileAndField) {
  const std::string path = ::testing::TempDir() + "/bad-recd.yaml";
  std::ofstream(path) << "model:\n  dimension: 0\n";
  absl::StatusOr<Config> c = LoadFile(path);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(c.status()), StartsWith(path + ": model.dimension: "));
  std::remove(path.c_str());
}

TEST(LoadFile, DirectoryIsInvalidArgument) {
  absl::StatusOr<Config> c = LoadFile(::testing::TempDir());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

// One row per error kind and per validation rule: the YAML overlay and the
// field path the error message must start with.
struct BadCase {
  const char* name;
  const char* yaml;
  const char* path;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name << ": " << c.yaml; }

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, IsInvalidArgumentNamingTheField) {
  absl::StatusOr<Config> c = ParseYaml(GetParam().yaml);
  ASSERT_FALSE(c.ok()) << GetParam().yaml;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(c.status()), StartsWith(std::string(GetParam().path) + ": "));
}

// Event types and surfaces that keep the rest valid, for map-level cases.
#define RECD_EVENTS                                                                             \
  "event_types: {view: {weight: 1}, click: {weight: 1}, save: {weight: 1}, cart: {weight: 1}, " \
  "purchase: {weight: 1}, "

INSTANTIATE_TEST_SUITE_P(
    All, BadConfigTest,
    ::testing::Values(
        // Structure and types.
        BadCase{"UnknownTopKey", "bogus: 1", "bogus"},
        BadCase{"UnknownNestedKey", "server: {lisen: x}", "server.lisen"},
        BadCase{"DuplicateKey", "limits:\n  max_k: 1\n  max_k: 2\n", "limits.max_k"},
        BadCase{"RootNotMapping", "- 1\n- 2\n", "(root)"}, BadCase{"RootScalar", "hello", "(root)"},
        BadCase{"MultipleDocuments", "limits: {}\n---\nlimits: {}\n", "(root)"},
        BadCase{"SyntaxError", "server: {listen: [1, 2}\n", "(root)"},
        BadCase{"MessageGotScalar", "server: 5", "server"},
        BadCase{"MessageGotList", "limits: [1, 2]", "limits"},
        BadCase{"IntGotString", "limits: {max_k: abc}", "limits.max_k"},
        BadCase{"IntGotFloat", "limits: {max_k: 1.5}", "limits.max_k"},
        BadCase{"IntGotQuoted", "limits: {max_k: '5'}", "limits.max_k"},
        BadCase{"IntGotNull", "limits: {max_k: ~}", "limits.max_k"},
        BadCase{"IntGotMapping", "limits: {max_k: {a: 1}}", "limits.max_k"},
        BadCase{"IntGotList", "limits: {max_k: [1]}", "limits.max_k"},
        BadCase{"Int32Overflow", "limits: {max_k: 3000000000}", "limits.max_k"},
        BadCase{"Int64Overflow", "demo: {seed: 99999999999999999999}", "demo.seed"},
        BadCase{"BoolGotYes", "demo: {enabled: yes}", "demo.enabled"},
        BadCase{"BoolGotQuoted", "demo: {enabled: 'true'}", "demo.enabled"},
        BadCase{"DoubleGotString", "server: {shutdown_grace_seconds: soon}",
                "server.shutdown_grace_seconds"},
        BadCase{"StringGotMapping", "server: {listen: {a: 1}}", "server.listen"},
        BadCase{"StringGotNull", "logging: {level: ~}", "logging.level"},
        BadCase{"MapGotList", "event_types: [view]", "event_types"},
        BadCase{"MapEntryGotScalar", "event_types: {like: 3}", "event_types.like"},
        BadCase{"MapEntryUnknownKey", "event_types: {like: {weigth: 1}}",
                "event_types.like.weigth"},
        BadCase{"DuplicateMapKey", "event_types:\n  view: {weight: 1}\n  view: {weight: 2}\n",
                "event_types.view"},
        BadCase{"MapDoubleGotString", "surfaces: {default: {source_weights: {ann: high}}}",
                "surfaces.default.source_weights.ann"},
        BadCase{"ListGotScalar", "surfaces: {default: {seen_event_types: view}}",
                "surfaces.default.seen_event_types"},
        BadCase{"ListItemGotList", "surfaces: {default: {seen_event_types: [[view]]}}",
                "surfaces.default.seen_event_types[0]"},
        // server
        BadCase{"ListenEmpty", "server: {listen: ''}", "server.listen"},
        BadCase{"ListenNoPort", "server: {listen: localhost}", "server.listen"},
        BadCase{"ListenNoHost", "server: {listen: ':50051'}", "server.listen"},
        BadCase{"ListenPortTooBig", "server: {listen: 'localhost:65536'}", "server.listen"},
        BadCase{"ListenPortNotNumber", "server: {listen: 'localhost:http'}", "server.listen"},
        BadCase{"ListenBareIpv6", "server: {listen: '::1:50051'}", "server.listen"},
        BadCase{"MetricsListenEmpty", "server: {metrics_listen: ''}", "server.metrics_listen"},
        BadCase{"GraceZero", "server: {shutdown_grace_seconds: 0}",
                "server.shutdown_grace_seconds"},
        BadCase{"GraceNan", "server: {shutdown_grace_seconds: .nan}",
                "server.shutdown_grace_seconds"},
        BadCase{"MaxMessageZero", "server: {max_message_bytes: 0}", "server.max_message_bytes"},
        // storage
        BadCase{"DataDirEmpty", "storage: {data_dir: ''}", "storage.data_dir"},
        BadCase{"DurabilityUnknown", "storage: {durability: sometimes}", "storage.durability"},
        BadCase{"BlockCacheZero", "storage: {block_cache_mb: 0}", "storage.block_cache_mb"},
        // limits
        BadCase{"MaxIdBytesZero", "limits: {max_id_bytes: 0}", "limits.max_id_bytes"},
        BadCase{"MaxIdBytesTooBig", "limits: {max_id_bytes: 4097}", "limits.max_id_bytes"},
        BadCase{"MaxLabelBytesZero", "limits: {max_label_bytes: 0}", "limits.max_label_bytes"},
        BadCase{"MaxLabelsZero", "limits: {max_labels: 0}", "limits.max_labels"},
        BadCase{"MaxLabelsTooMany", "limits: {max_labels: 10001}", "limits.max_labels"},
        BadCase{"MaxPropertiesZero", "limits: {max_properties: 0}", "limits.max_properties"},
        BadCase{"MaxKZero", "limits: {max_k: 0}", "limits.max_k"},
        BadCase{"MaxExclusionsZero", "limits: {max_exclusions: 0}", "limits.max_exclusions"},
        BadCase{"MaxEventsPerCallZero", "limits: {max_events_per_call: 0}",
                "limits.max_events_per_call"},
        BadCase{"MaxItemsPerCallZero", "limits: {max_items_per_call: 0}",
                "limits.max_items_per_call"},
        BadCase{"FutureSkewNegative", "limits: {max_future_skew_seconds: -1}",
                "limits.max_future_skew_seconds"},
        // event_types
        BadCase{"NoEventTypes", "event_types: {}", "event_types"},
        BadCase{"EventTypeUpperCase", RECD_EVENTS "Like: {weight: 1}}", "event_types.Like"},
        BadCase{"EventTypeDash", RECD_EVENTS "add-to-cart: {weight: 1}}",
                "event_types.add-to-cart"},
        BadCase{"EventTypeTooLong", RECD_EVENTS "abcdefghijabcdefghijabcdefghijabc: {weight: 1}}",
                "event_types.abcdefghijabcdefghijabcdefghijabc"},
        BadCase{"EventWeightMissing", RECD_EVENTS "like: {}}", "event_types.like.weight"},
        BadCase{"EventWeightZero", RECD_EVENTS "like: {weight: 0}}", "event_types.like.weight"},
        BadCase{"EventWeightNegative", RECD_EVENTS "like: {weight: -2}}",
                "event_types.like.weight"},
        BadCase{"EventWeightInfinite", RECD_EVENTS "like: {weight: .inf}}",
                "event_types.like.weight"},
        // model
        BadCase{"DimensionZero", "model: {dimension: 0}", "model.dimension"},
        BadCase{"DimensionTooBig", "model: {dimension: 4097}", "model.dimension"},
        BadCase{"HnswMTooSmall", "model: {hnsw_m: 1}", "model.hnsw_m"},
        BadCase{"HnswMTooBig", "model: {hnsw_m: 129, hnsw_ef_construction: 200}", "model.hnsw_m"},
        BadCase{"EfConstructionBelowM", "model: {hnsw_m: 16, hnsw_ef_construction: 15}",
                "model.hnsw_ef_construction"},
        BadCase{"EfSearchZero", "model: {hnsw_ef_search: 0}", "model.hnsw_ef_search"},
        BadCase{"ExactSearchMaxNegative", "model: {exact_search_max_items: -1}",
                "model.exact_search_max_items"},
        BadCase{"FreshTierZero", "model: {fresh_tier_max: 0}", "model.fresh_tier_max"},
        BadCase{"AlsAlphaNegative", "model: {als_alpha: -1}", "model.als_alpha"},
        BadCase{"AlsAlphaInfinite", "model: {als_alpha: .inf}", "model.als_alpha"},
        BadCase{"AlsLambdaZero", "model: {als_lambda: 0}", "model.als_lambda"},
        // recommend
        BadCase{"DefaultKZero", "recommend: {default_k: 0}", "recommend.default_k"},
        BadCase{"DefaultKAboveMaxK", "recommend: {default_k: 501}", "recommend.default_k"},
        BadCase{"HalfLifeZero", "recommend: {trending_half_life_seconds: 0}",
                "recommend.trending_half_life_seconds"},
        BadCase{"UserRecentItemsZero", "recommend: {user_recent_items: 0}",
                "recommend.user_recent_items"},
        BadCase{"CandidateMultiplierZero", "recommend: {candidate_multiplier: 0}",
                "recommend.candidate_multiplier"},
        BadCase{"PopularHalfLifeEqualsTrending", "recommend: {popular_half_life_seconds: 86400}",
                "recommend.popular_half_life_seconds"},
        BadCase{"PopularHalfLifeBelowTrending",
                "recommend: {trending_half_life_seconds: 100, popular_half_life_seconds: 50}",
                "recommend.popular_half_life_seconds"},
        BadCase{"PopularHalfLifeInfinite", "recommend: {popular_half_life_seconds: .inf}",
                "recommend.popular_half_life_seconds"},
        BadCase{"TrendingPriorNegative", "recommend: {trending_prior: -1}",
                "recommend.trending_prior"},
        BadCase{"AffinityHalfLifeZero", "recommend: {affinity_half_life_seconds: 0}",
                "recommend.affinity_half_life_seconds"},
        BadCase{"MaxAffinitiesZero", "recommend: {max_affinities: 0}", "recommend.max_affinities"},
        BadCase{"MaxAffinitiesTooBig", "recommend: {max_affinities: 1001}",
                "recommend.max_affinities"},
        BadCase{"SessionItemsZero", "recommend: {session_items: 0}", "recommend.session_items"},
        BadCase{"SessionItemsTooBig", "recommend: {session_items: 1001}",
                "recommend.session_items"},
        BadCase{"ContentMaxAgeZero", "recommend: {content_max_age_seconds: 0}",
                "recommend.content_max_age_seconds"},
        BadCase{"ContentItemsPerLabelZero", "recommend: {content_items_per_label: 0}",
                "recommend.content_items_per_label"},
        BadCase{"ContentItemsPerLabelTooBig", "recommend: {content_items_per_label: 100001}",
                "recommend.content_items_per_label"},
        // recommend.covisit
        BadCase{"CovisitGotScalar", "recommend: {covisit: 5}", "recommend.covisit"},
        BadCase{"CovisitUnknownKey", "recommend: {covisit: {window: 5}}",
                "recommend.covisit.window"},
        BadCase{"CovisitWindowItemsZero", "recommend: {covisit: {window_items: 0}}",
                "recommend.covisit.window_items"},
        BadCase{"CovisitWindowItemsTooBig", "recommend: {covisit: {window_items: 101}}",
                "recommend.covisit.window_items"},
        BadCase{"CovisitWindowSecondsZero", "recommend: {covisit: {window_seconds: 0}}",
                "recommend.covisit.window_seconds"},
        BadCase{"CovisitSlotsBelowTop", "recommend: {covisit: {slots_per_item: 49}}",
                "recommend.covisit.slots_per_item"},
        BadCase{"CovisitTopPerItemZero", "recommend: {covisit: {top_per_item: 0}}",
                "recommend.covisit.top_per_item"},
        BadCase{"CovisitTopPerItemTooBig",
                "recommend: {covisit: {top_per_item: 1001, slots_per_item: 2000}}",
                "recommend.covisit.top_per_item"},
        BadCase{"CovisitHalfLifeZero", "recommend: {covisit: {half_life_seconds: 0}}",
                "recommend.covisit.half_life_seconds"},
        BadCase{"CovisitMaxMbZero", "recommend: {covisit: {max_mb: 0}}",
                "recommend.covisit.max_mb"},
        BadCase{"CovisitPersistIntervalZero", "recommend: {covisit: {persist_interval_seconds: 0}}",
                "recommend.covisit.persist_interval_seconds"},
        // surfaces
        BadCase{"NoDefaultSurface", "surfaces: {home: {}}", "surfaces"},
        BadCase{"SurfaceBadName", "surfaces: {default: {}, Home: {}}", "surfaces.Home"},
        BadCase{"UnknownSource", "surfaces: {default: {source_weights: {ann: 1, bm25: 1}}}",
                "surfaces.default.source_weights.bm25"},
        BadCase{"SourceWeightNegative",
                "surfaces: {default: {source_weights: {ann: -1, trending: 1}}}",
                "surfaces.default.source_weights.ann"},
        BadCase{"SourceWeightInfinite",
                "surfaces: {default: {}, home: {source_weights: {ann: .inf, trending: 1}}}",
                "surfaces.home.source_weights.ann"},
        BadCase{"AllSourceWeightsZero",
                "surfaces: {default: {source_weights: {ann: 0, trending: 0}}}",
                "surfaces.default.source_weights"},
        BadCase{"NoSourceWeights", "surfaces: {default: {source_weights: {}}}",
                "surfaces.default.source_weights"},
        BadCase{"SeenTypeUnknown", "surfaces: {default: {seen_event_types: [view, like]}}",
                "surfaces.default.seen_event_types[1]"},
        BadCase{"SeenTypeDuplicate", "surfaces: {default: {seen_event_types: [view, view]}}",
                "surfaces.default.seen_event_types[1]"},
        BadCase{"SeenTypeRemovedFromEventTypes",
                "event_types: {view: {weight: 1}, click: {weight: 1}}",
                "surfaces.default.seen_event_types[2]"},
        BadCase{"MaxItemAgeNegative", "surfaces: {default: {max_item_age_seconds: -1}}",
                "surfaces.default.max_item_age_seconds"},
        BadCase{"FreshnessWeightNegative", "surfaces: {default: {freshness_weight: -0.1}}",
                "surfaces.default.freshness_weight"},
        BadCase{"FreshnessWeightInfinite", "surfaces: {default: {freshness_weight: .inf}}",
                "surfaces.default.freshness_weight"},
        BadCase{"FreshnessHalfLifeZero", "surfaces: {default: {freshness_half_life_seconds: 0}}",
                "surfaces.default.freshness_half_life_seconds"},
        BadCase{"PopularityWeightNegative", "surfaces: {default: {popularity_weight: -1}}",
                "surfaces.default.popularity_weight"},
        BadCase{"PopularityWeightNan", "surfaces: {default: {popularity_weight: .nan}}",
                "surfaces.default.popularity_weight"},
        BadCase{"DiversityGotScalar", "surfaces: {default: {diversity: mmr}}",
                "surfaces.default.diversity"},
        BadCase{"DiversityUnknownKey", "surfaces: {default: {diversity: {lambda: 0.5}}}",
                "surfaces.default.diversity.lambda"},
        BadCase{"DiversityModeUnknown", "surfaces: {default: {diversity: {mode: random}}}",
                "surfaces.default.diversity.mode"},
        BadCase{"DiversityModeEmpty", "surfaces: {default: {}, home: {diversity: {mode: ''}}}",
                "surfaces.home.diversity.mode"},
        BadCase{"MmrLambdaNegative", "surfaces: {default: {diversity: {mmr_lambda: -0.1}}}",
                "surfaces.default.diversity.mmr_lambda"},
        BadCase{"MmrLambdaAboveOne", "surfaces: {default: {diversity: {mmr_lambda: 1.5}}}",
                "surfaces.default.diversity.mmr_lambda"},
        BadCase{"MmrLambdaNan", "surfaces: {default: {diversity: {mmr_lambda: .nan}}}",
                "surfaces.default.diversity.mmr_lambda"},
        BadCase{"MaxPerCategoryZero",
                "surfaces: {default: {diversity: {mode: category_cap, max_per_category: 0}}}",
                "surfaces.default.diversity.max_per_category"},
        BadCase{"ExploreEpsilonNegative", "surfaces: {default: {explore_epsilon: -0.01}}",
                "surfaces.default.explore_epsilon"},
        BadCase{"ExploreEpsilonAboveOne", "surfaces: {default: {}, news: {explore_epsilon: 1.01}}",
                "surfaces.news.explore_epsilon"},
        BadCase{"SessionIntentAboveOne", "surfaces: {default: {session_intent: 1.5}}",
                "surfaces.default.session_intent"},
        BadCase{"ExplorePoolZero", "surfaces: {default: {explore_pool_size: 0}}",
                "surfaces.default.explore_pool_size"},
        BadCase{"ExplorePoolTooBig", "surfaces: {default: {explore_pool_size: 10001}}",
                "surfaces.default.explore_pool_size"},
        BadCase{"ContinuationTypeUnknown",
                "surfaces: {default: {continuation_event_types: [save, like]}}",
                "surfaces.default.continuation_event_types[1]"},
        BadCase{"ContinuationTypeDuplicate",
                "surfaces: {default: {continuation_event_types: [cart, save, cart]}}",
                "surfaces.default.continuation_event_types[2]"},
        BadCase{"ContinuationTypeRemovedFromEventTypes",
                "event_types: {view: {weight: 1}, click: {weight: 1}, cart: {weight: 1}, "
                "purchase: {weight: 1}}",
                "surfaces.default.continuation_event_types[0]"},
        BadCase{"FinishTypeUnknown", "surfaces: {default: {finish_event_types: [refund]}}",
                "surfaces.default.finish_event_types[0]"},
        BadCase{"FinishTypeDuplicate",
                "surfaces: {default: {finish_event_types: [purchase, purchase]}}",
                "surfaces.default.finish_event_types[1]"},
        // ingest
        BadCase{"QueueCapacityZero", "ingest: {queue_capacity: 0}", "ingest.queue_capacity"},
        BadCase{"QueueCapacityBelowMaxEvents", "ingest: {queue_capacity: 999}",
                "ingest.queue_capacity"},
        BadCase{"MaxBatchEventsZero", "ingest: {max_batch_events: 0}", "ingest.max_batch_events"},
        BadCase{"DedupeWindowZero", "ingest: {dedupe_window_seconds: 0}",
                "ingest.dedupe_window_seconds"},
        BadCase{"MaxFoldLagZero", "ingest: {max_fold_lag_events: 0}", "ingest.max_fold_lag_events"},
        BadCase{"MaxFoldLagBelowMaxEvents", "ingest: {max_fold_lag_events: 999}",
                "ingest.max_fold_lag_events"},
        BadCase{"FoldThreadsZero", "ingest: {fold_threads: 0}", "ingest.fold_threads"},
        BadCase{"FoldThreadsTooMany", "ingest: {fold_threads: 65}", "ingest.fold_threads"},
        BadCase{"DeferSolvesLagNegative", "ingest: {defer_solves_lag_ms: -1}",
                "ingest.defer_solves_lag_ms"},
        BadCase{"MaxUnpersistedZero", "ingest: {max_unpersisted_events: 0}",
                "ingest.max_unpersisted_events"},
        // demo
        BadCase{"DemoItemsNegative", "demo: {items: -1}", "demo.items"},
        BadCase{"DemoItemsTooMany", "demo: {items: 1000001}", "demo.items"},
        BadCase{"DemoUsersNegative", "demo: {users: -1}", "demo.users"},
        // logging
        BadCase{"LogLevelUnknown", "logging: {level: verbose}", "logging.level"},
        BadCase{"LogLevelUpperCase", "logging: {level: INFO}", "logging.level"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

#undef RECD_EVENTS

}  // namespace
}  // namespace recd::config
