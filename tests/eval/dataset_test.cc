#include "eval/dataset.h"

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "eval/timestamp.h"
#include "gtest/gtest.h"
#include "tests/eval/file_util.h"
#include "tests/test_util.h"

namespace recd::eval {
namespace {

using recd::eval::testing::WriteGz;
using recd::eval::testing::WriteText;
using recd::testing::TempDir;

constexpr int64_t kS = 1000000;

void ExpectErrorAt(const absl::StatusOr<Dataset>& ds, absl::StatusCode code,
                   const std::string& where) {
  ASSERT_FALSE(ds.ok()) << "expected an error at " << where;
  EXPECT_EQ(ds.status().code(), code) << ds.status();
  EXPECT_NE(ds.status().message().find(where), std::string::npos) << ds.status();
}

// The dataset, or an empty one after recording a failure.
Dataset Ok(absl::StatusOr<Dataset> ds) {
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? *std::move(ds) : Dataset{};
}

// 19 genres as in u.genre (index order), and a u.item line with `flags`.
std::string Genres() {
  const char* names[] = {"unknown",   "Action",   "Adventure",   "Animation", "Children's",
                         "Comedy",    "Crime",    "Documentary", "Drama",     "Fantasy",
                         "Film-Noir", "Horror",   "Musical",     "Mystery",   "Romance",
                         "Sci-Fi",    "Thriller", "War",         "Western"};
  std::string out;
  for (int i = 0; i < 19; ++i) out += absl::StrCat(names[i], "|", i, "\n");
  return out + "\n";  // u.genre ends with a blank line
}

std::string ItemLine(const std::string& head, std::initializer_list<int> on) {
  std::string flags;
  for (int g = 0; g < 19; ++g) {
    bool set = std::find(on.begin(), on.end(), g) != on.end();
    flags += set ? "|1" : "|0";
  }
  return head + flags + "\n";
}

TEST(LoadDataset, MovieLens100k) {
  TempDir dir;
  WriteText(dir.Sub("u.genre"), Genres());
  WriteText(dir.Sub("u.item"),
            ItemLine("1|Toy Story (1995)|01-Jan-1995||http://x", {3, 4, 5}) +
                ItemLine("2|Caf\xe9 (1971)|4-Feb-1971||", {8}) +  // ISO-8859-1 e-acute
                ItemLine("267|unknown|||", {0}));
  WriteText(dir.Sub("u.data"),
            "196\t1\t3\t881250949\n186\t2\t5\t891717742\n196\t99\t4\t881250950\n");
  const Dataset ds = Ok(LoadDataset("movielens-100k", dir.path()));
  ASSERT_EQ(ds.events.size(), 3u);
  EXPECT_TRUE(ds.has_timestamps);
  EXPECT_EQ(ds.events[1].user, "186");
  EXPECT_EQ(ds.events[1].item, "2");
  EXPECT_EQ(ds.events[1].type, "rating");
  EXPECT_TRUE(ds.events[1].has_value);
  EXPECT_EQ(ds.events[1].value, 5);
  EXPECT_EQ(ds.events[1].ts_us, 891717742 * kS);
  EXPECT_TRUE(ds.events[1].session.empty());
  // u.item's three movies, then item 99 which only u.data names.
  ASSERT_EQ(ds.items.size(), 4u);
  EXPECT_EQ(ds.items[0].categories,
            (std::vector<std::string>{"Animation", "Children's", "Comedy"}));
  EXPECT_EQ(ds.items[0].created_us, 788918400 * kS);
  EXPECT_EQ(ds.items[1].title, "Caf\xc3\xa9 (1971)");  // UTF-8
  EXPECT_EQ(ds.items[1].created_us, DaysFromCivil(1971, 2, 4) * 86400 * kS);
  EXPECT_EQ(ds.items[2].created_us, 0);  // no date
  EXPECT_EQ(ds.items[3].id, "99");
  EXPECT_TRUE(ds.items[3].categories.empty());
  EXPECT_EQ(ds.name, std::filesystem::path(dir.path()).filename().string());
}

TEST(LoadDataset, MovieLens100kBadLinesNameFileAndLine) {
  TempDir dir;
  WriteText(dir.Sub("u.data"), "1\t2\t3\t4\n1\t2\t3\n");
  ExpectErrorAt(LoadDataset("movielens-100k", dir.path()), absl::StatusCode::kInvalidArgument,
                "u.data:2");
  WriteText(dir.Sub("u.data"), "1\t2\tfive\t4\n");
  ExpectErrorAt(LoadDataset("movielens-100k", dir.path()), absl::StatusCode::kInvalidArgument,
                "u.data:1: bad rating");
  WriteText(dir.Sub("u.data"), "1\t2\t3\t4\n");
  WriteText(dir.Sub("u.genre"), Genres());
  WriteText(dir.Sub("u.item"), ItemLine("1|A|01-Jan-1995||", {1}) + "2|B|01-Jan-1995||\n");
  ExpectErrorAt(LoadDataset("movielens-100k", dir.path()), absl::StatusCode::kInvalidArgument,
                "u.item:2");
  ExpectErrorAt(LoadDataset("movielens-100k", dir.Sub("missing")), absl::StatusCode::kNotFound,
                "missing");
  std::filesystem::remove(dir.Sub("u.item"));
  std::filesystem::remove(dir.Sub("u.data"));
  ExpectErrorAt(LoadDataset("movielens-100k", dir.path()), absl::StatusCode::kNotFound, "u.data");
}

TEST(LoadDataset, MovieLens1mGzipWithoutTimestamps) {
  TempDir dir;
  WriteGz(dir.Sub("ratings.dat.gz"), "1::1193::5\n1::661::3\n6040::1097::4\n");
  WriteText(dir.Sub("movies.dat"),
            "1::Toy Story (1995)::Animation|Children's|Comedy\n"
            "2::Jumanji (1995)::Adventure|Children's|Fantasy\n");
  const Dataset ds = Ok(LoadDataset("movielens-1m", dir.path()));
  EXPECT_FALSE(ds.has_timestamps);
  ASSERT_EQ(ds.events.size(), 3u);
  EXPECT_EQ(ds.events[2].user, "6040");
  EXPECT_EQ(ds.events[2].item, "1097");
  EXPECT_EQ(ds.events[2].value, 4);
  EXPECT_EQ(ds.events[2].ts_us, 0);
  // movies.dat's two, then 1193, 661, 1097 from the ratings.
  ASSERT_EQ(ds.items.size(), 5u);
  EXPECT_EQ(ds.items[1].title, "Jumanji (1995)");
  EXPECT_EQ(ds.items[1].categories,
            (std::vector<std::string>{"Adventure", "Children's", "Fantasy"}));
  EXPECT_EQ(ds.items[1].created_us, 0);
}

TEST(LoadDataset, MovieLens1mWithTimestampsAndMixedLinesRejected) {
  TempDir dir;
  WriteText(dir.Sub("ratings.dat"), "1::1193::5::978300760\n2::661::3::978302109\n");
  const Dataset ds = Ok(LoadDataset("movielens-1m", dir.path()));
  EXPECT_TRUE(ds.has_timestamps);
  ASSERT_EQ(ds.events.size(), 2u);
  EXPECT_EQ(ds.events[0].ts_us, 978300760 * kS);
  EXPECT_EQ(ds.items.size(), 2u);  // no movies.dat: bare ids

  TempDir mixed;
  WriteGz(mixed.Sub("ratings.dat.gz"), "1::1193::5::978300760\n1::661::3\n");
  ExpectErrorAt(LoadDataset("movielens-1m", mixed.path()), absl::StatusCode::kInvalidArgument,
                "ratings.dat.gz:2");
  TempDir none;
  ExpectErrorAt(LoadDataset("movielens-1m", none.path()), absl::StatusCode::kNotFound,
                "ratings.dat");
}

constexpr char kTrivagoHeader[] =
    "user_id,session_id,timestamp,step,action_type,reference,platform,city,device,"
    "current_filters,impressions,prices\n";

TEST(LoadDataset, TrivagoKeepsItemActionsWithQuotedCommas) {
  TempDir dir;
  WriteText(dir.Sub("events.csv"),
            std::string(kTrivagoHeader) +
                "U1,s1,1541548939,1,search for destination,\"Marseille, France\",FR,"
                "\"Marseille, France\",desktop,,,\n"
                "U1,s1,1541548950,2,interaction item image,5967314,FR,\"Marseille, France\","
                "desktop,,,\n"
                "U1,s1,1541548960,3,filter selection,Sort By Price,FR,\"Marseille, France\","
                "desktop,\"Focus on Rating|3 Star\",,\n"
                "U1,s1,1541548970,4,clickout item,111,FR,\"Marseille, France\",mobile,,"
                "111|222|5967314,80|90|100\n"
                "U2,s2,1541549000,1,interaction item info,unknown,JP,\"Taipei City, Taiwan\","
                "desktop,,,\n"
                "U2,s2,1541549010,2,search for item,333,JP,\"Taipei City, Taiwan\",desktop,,,\n");
  const Dataset ds = Ok(LoadDataset("trivago", dir.path()));
  EXPECT_TRUE(ds.has_timestamps);
  // Kept: image (5967314), clickout (111), search for item (333). Dropped: destination
  // search, filter selection, and the info row whose reference is "unknown".
  ASSERT_EQ(ds.events.size(), 3u);
  EXPECT_EQ(ds.events[0].type, "interaction_item_image");
  EXPECT_EQ(ds.events[0].item, "5967314");
  EXPECT_EQ(ds.events[0].session, "s1");
  EXPECT_EQ(ds.events[0].ts_us, 1541548950 * kS);
  EXPECT_FALSE(ds.events[0].has_value);
  EXPECT_EQ(ds.events[1].type, "clickout_item");
  EXPECT_EQ(ds.events[1].item, "111");
  EXPECT_EQ(ds.events[2].user, "U2");
  EXPECT_EQ(ds.events[2].type, "search_for_item");
  // Items: referenced 5967314, then impressed 111, 222 (5967314 again), then 333.
  std::vector<std::string> ids;
  for (const ItemMeta& m : ds.items) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"5967314", "111", "222", "333"}));
}

TEST(LoadDataset, TrivagoGzipAndBadRow) {
  TempDir dir;
  WriteGz(dir.Sub("events.csv.gz"),
          std::string(kTrivagoHeader) +
              "U1,s1,1541548970,4,clickout item,111,FR,\"Paris, France\",mobile,,111|222,1|2\n");
  const Dataset ds = Ok(LoadDataset("trivago", dir.path()));
  ASSERT_EQ(ds.events.size(), 1u);
  EXPECT_EQ(ds.items.size(), 2u);

  TempDir bad;
  WriteText(bad.Sub("events.csv"),
            std::string(kTrivagoHeader) +
                "U1,s1,1541548970,4,clickout item,111,FR,Paris, France,mobile,,111|222,1|2\n");
  ExpectErrorAt(LoadDataset("trivago", bad.path()), absl::StatusCode::kInvalidArgument,
                "events.csv:2");
  WriteText(bad.Sub("events.csv"), "a,b,c\n");
  ExpectErrorAt(LoadDataset("trivago", bad.Sub("events.csv")), absl::StatusCode::kInvalidArgument,
                "user_id");
}

TEST(LoadDataset, CsvWithHeaderMixedTimeFormatsAndValues) {
  TempDir dir;
  WriteText(dir.Sub("events.csv"),
            "user,item,type,timestamp,value\n"
            "u1,i1,view,1541548939,\n"
            "u1,\"i,2\",purchase,1541548939123,19.5\n"
            "u2,i1,click,1541548939123456\n"
            "u2,i3,view,2018-11-07T00:02:19Z,2\n");
  const Dataset ds = Ok(LoadDataset("csv", dir.Sub("events.csv")));
  ASSERT_EQ(ds.events.size(), 4u);
  EXPECT_EQ(ds.name, "events");
  EXPECT_EQ(ds.events[0].ts_us, 1541548939 * kS);
  EXPECT_FALSE(ds.events[0].has_value);
  EXPECT_EQ(ds.events[1].item, "i,2");
  EXPECT_EQ(ds.events[1].type, "purchase");
  EXPECT_EQ(ds.events[1].ts_us, 1541548939123 * 1000);
  EXPECT_TRUE(ds.events[1].has_value);
  EXPECT_EQ(ds.events[1].value, 19.5);
  EXPECT_EQ(ds.events[2].ts_us, 1541548939123456);
  EXPECT_EQ(ds.events[3].ts_us, 1541548939 * kS);
  EXPECT_EQ(ds.items.size(), 3u);
}

TEST(LoadDataset, CsvTabSeparatedGzipWithoutHeader) {
  TempDir dir;
  WriteGz(dir.Sub("e.tsv.gz"), "u1\ti1\tview\t100\nu2\ti2\tclick\t200\t1.5\n");
  const Dataset ds = Ok(LoadDataset("csv", dir.Sub("e.tsv.gz")));
  ASSERT_EQ(ds.events.size(), 2u);  // the first line is data, not a header
  EXPECT_EQ(ds.events[0].user, "u1");
  EXPECT_EQ(ds.events[0].ts_us, 100 * kS);
  EXPECT_EQ(ds.events[1].value, 1.5);
  EXPECT_EQ(ds.name, "e");
}

TEST(LoadDataset, CsvMalformedLinesNameFileAndLine) {
  TempDir dir;
  WriteText(dir.Sub("e.csv"), "user,item,type,timestamp\nu1,i1,view,100\nu1,i2,view,soon\n");
  ExpectErrorAt(LoadDataset("csv", dir.Sub("e.csv")), absl::StatusCode::kInvalidArgument,
                "e.csv:3: bad timestamp");
  WriteText(dir.Sub("e.csv"), "u1,i1,view,100\nu1,i2\n");
  ExpectErrorAt(LoadDataset("csv", dir.Sub("e.csv")), absl::StatusCode::kInvalidArgument,
                "e.csv:2");
  WriteText(dir.Sub("e.csv"), "u1,i1,view,100,lots\n");
  ExpectErrorAt(LoadDataset("csv", dir.Sub("e.csv")), absl::StatusCode::kInvalidArgument,
                "e.csv:1: bad value");
  WriteText(dir.Sub("e.csv"), "u1,,view,100\n");
  ExpectErrorAt(LoadDataset("csv", dir.Sub("e.csv")), absl::StatusCode::kInvalidArgument,
                "e.csv:1: empty item");
  ExpectErrorAt(LoadDataset("csv", dir.Sub("none.csv")), absl::StatusCode::kNotFound, "none.csv");
}

TEST(LoadDataset, UnknownFormatListsTheKnownOnes) {
  auto ds = LoadDataset("netflix", "/tmp");
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ds.status().message().find("movielens-100k"), std::string::npos);
}

}  // namespace
}  // namespace recd::eval
