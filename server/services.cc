#include "server/services.h"

#include <chrono>
#include <string>
#include <vector>

#include "server/status_util.h"

namespace recd::server {

using recd::v1::Item;
using recd::v1::RecommendRequest;
using recd::v1::RecommendResponse;
using recd::v1::TrackRequest;
using recd::v1::TrackResponse;
using recd::v1::UpsertItemsRequest;
using recd::v1::UpsertItemsResponse;
using Clock = std::chrono::steady_clock;

namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Measures one call and records it once, with its final status.
class CallTimer {
 public:
  CallTimer(Metrics* metrics, Method method)
      : metrics_(metrics), method_(method), start_(Clock::now()) {}
  void Record(const grpc::Status& s) const {
    metrics_->Record(method_, s.error_code(),
                     std::chrono::duration<double>(Clock::now() - start_).count());
  }

 private:
  Metrics* metrics_;
  Method method_;
  Clock::time_point start_;
};

void FinishUnary(grpc::ServerUnaryReactor* reactor, const CallTimer& timer,
                 const grpc::Status& status) {
  timer.Record(status);
  reactor->Finish(status);
}

grpc::Status Invalid(const std::string& msg) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, msg);
}

// One slate as pages of page_size items; the first carries the ids.
std::vector<RecommendResponse> ToPages(const core::RecommendResult& result, int page_size) {
  std::vector<RecommendResponse> pages;
  const auto& items = result.slate.items;
  const size_t size = static_cast<size_t>(std::max(1, page_size));
  for (size_t start = 0; start == 0 || start < items.size(); start += size) {
    RecommendResponse& page = pages.emplace_back();
    page.set_page(static_cast<int32_t>(pages.size() - 1));
    if (start == 0) {
      page.set_recommendation_id(result.recommendation_id);
      page.set_model_version(result.model_version);
      page.set_folded_sequence(result.folded_seq);
    }
    for (size_t i = start; i < std::min(items.size(), start + size); ++i) {
      auto* out = page.add_items();
      out->set_item_id(items[i].item_id);
      out->set_score(items[i].score);
      out->set_position(static_cast<int32_t>(i));
      out->set_explored(items[i].explored);
      out->set_propensity(items[i].propensity);
      for (const auto& r : items[i].reasons) {
        auto* reason = out->add_reasons();
        reason->set_source(r.source);
        reason->set_contribution(r.value);
        reason->set_detail(r.detail);
      }
    }
  }
  pages.back().set_last_page(true);
  return pages;
}

// Streams precomputed pages (or finishes at once with an error).
class PagesReactor : public grpc::ServerWriteReactor<RecommendResponse> {
 public:
  // `timer` started when the call arrived, so the latency covers the
  // ranking as well as the streaming.
  PagesReactor(CallTimer timer, std::vector<RecommendResponse> pages, grpc::Status error)
      : timer_(timer), pages_(std::move(pages)) {
    if (!error.ok()) {
      status_ = error;
      Finish(error);
      return;
    }
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      status_ = grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      Finish(status_);
      return;
    }
    Next();
  }
  void OnDone() override {
    timer_.Record(status_);
    delete this;
  }

 private:
  // Pages before the last are buffered (they are all ranked already); the
  // last goes out with the status in one operation, so a one-page slate
  // costs one write and no OnWriteDone round trip.
  void Next() {
    if (pages_.empty()) {
      Finish(grpc::Status::OK);
    } else if (next_ + 1 < pages_.size()) {
      StartWrite(&pages_[next_++], grpc::WriteOptions().set_buffer_hint());
    } else {
      StartWriteAndFinish(&pages_[next_++], grpc::WriteOptions(), grpc::Status::OK);
    }
  }
  CallTimer timer_;
  std::vector<RecommendResponse> pages_;
  size_t next_ = 0;
  grpc::Status status_;
};

// Reads a client stream of batches, validating each as it arrives, then
// submits everything at once (all-or-nothing) and finishes from the
// engine's callback. Derived classes say how to check and submit.
template <typename Request, typename Response>
class CollectingReactor : public grpc::ServerReadReactor<Request> {
 public:
  CollectingReactor(Metrics* metrics, Method method, Response* response)
      : timer_(metrics, method), response_(response) {}
  void Begin() { this->StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // client half-closed: submit
      grpc::Status st = Submit(response_);
      if (!st.ok()) Done(st);
      return;
    }
    grpc::Status st = Accept(request_);
    if (!st.ok()) {
      Done(st);
      return;
    }
    this->StartRead(&request_);
  }
  void OnDone() override { delete this; }

  // Finishes the call once (from a gRPC or the commit thread).
  void Done(const grpc::Status& st) {
    timer_.Record(st);
    this->Finish(st);
  }

 protected:
  virtual grpc::Status Accept(const Request& request) = 0;
  virtual grpc::Status Submit(Response* response) = 0;

 private:
  CallTimer timer_;
  Response* response_;
  Request request_;
};

class TrackStreamReactor : public CollectingReactor<TrackRequest, TrackResponse> {
 public:
  TrackStreamReactor(core::Engine* engine, Metrics* metrics, TrackResponse* response)
      : CollectingReactor(metrics, Method::kTrackStream, response), engine_(engine) {}

 protected:
  grpc::Status Accept(const TrackRequest& request) override {
    const auto& limits = engine_->options().limits;
    if (static_cast<int>(events_.size()) + request.events_size() > limits.max_events_per_call) {
      return Invalid("events: the stream carries more than limits.max_events_per_call (" +
                     std::to_string(limits.max_events_per_call) + ") events");
    }
    return ToGrpcStatus(core::ConvertEvents(request.events(), static_cast<int>(events_.size()),
                                            engine_->options(), NowUs(), &events_));
  }
  grpc::Status Submit(TrackResponse* response) override {
    if (events_.empty()) {
      Done(grpc::Status::OK);
      return grpc::Status::OK;
    }
    return ToGrpcStatus(engine_->TrackAsync(
        std::move(events_), [this, response](const absl::Status& s, const core::CommitResult& r) {
          response->set_accepted(r.accepted);
          response->set_duplicates(r.duplicates);
          response->set_last_sequence(r.last_seq);
          Done(ToGrpcStatus(s));
        }));
  }

 private:
  core::Engine* engine_;
  std::vector<recd::v1::records::StoredEvent> events_;
};

class UpsertReactor : public CollectingReactor<UpsertItemsRequest, UpsertItemsResponse> {
 public:
  UpsertReactor(core::Engine* engine, Metrics* metrics, UpsertItemsResponse* response)
      : CollectingReactor(metrics, Method::kUpsertItems, response), engine_(engine) {}

 protected:
  grpc::Status Accept(const UpsertItemsRequest& request) override {
    const auto& options = engine_->options();
    if (static_cast<int>(items_.size()) + request.items_size() >
        options.limits.max_items_per_call) {
      return Invalid("items: the call carries more than limits.max_items_per_call (" +
                     std::to_string(options.limits.max_items_per_call) + ") items");
    }
    for (const Item& item : request.items()) {
      auto st = core::ValidateItem(item, "items[" + std::to_string(items_.size()) + "]", options);
      if (!st.ok()) return ToGrpcStatus(st);
      items_.push_back(item);
    }
    return grpc::Status::OK;
  }
  grpc::Status Submit(UpsertItemsResponse* response) override {
    if (items_.empty()) {
      Done(grpc::Status::OK);
      return grpc::Status::OK;
    }
    return ToGrpcStatus(engine_->UpsertItemsAsync(
        std::move(items_), [this, response](const absl::Status& s, uint64_t n, uint64_t) {
          response->set_upserted(n);
          Done(ToGrpcStatus(s));
        }));
  }

 private:
  core::Engine* engine_;
  std::vector<Item> items_;
};

}  // namespace

grpc::ServerWriteReactor<RecommendResponse>* RecommenderService::Recommend(
    grpc::CallbackServerContext* ctx, const RecommendRequest* request) {
  CallTimer timer(metrics_, Method::kRecommend);
  auto query = core::ConvertRecommendRequest(*request, engine_->options(), NowUs());
  if (!query.ok()) return new PagesReactor(timer, {}, ToGrpcStatus(query.status()));
  auto result = engine_->Recommend(*query);
  if (!result.ok()) return new PagesReactor(timer, {}, ToGrpcStatus(result.status()));
  return new PagesReactor(timer, ToPages(*result, query->page_size),
                          grpc::Status::OK);
}

grpc::ServerWriteReactor<RecommendResponse>* RecommenderService::RelatedItems(
    grpc::CallbackServerContext* ctx, const recd::v1::RelatedItemsRequest* request) {
  CallTimer timer(metrics_, Method::kRelatedItems);
  auto query = core::ConvertRelatedRequest(*request, engine_->options(), NowUs());
  if (!query.ok()) return new PagesReactor(timer, {}, ToGrpcStatus(query.status()));
  auto result = engine_->Related(*query, request->item_id());
  if (!result.ok()) return new PagesReactor(timer, {}, ToGrpcStatus(result.status()));
  return new PagesReactor(timer, ToPages(*result, query->page_size),
                          grpc::Status::OK);
}

grpc::ServerUnaryReactor* RecommenderService::Track(grpc::CallbackServerContext* ctx,
                                                    const TrackRequest* request,
                                                    TrackResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  CallTimer timer(metrics_, Method::kTrack);
  const auto& limits = engine_->options().limits;
  if (request->events_size() == 0) {
    FinishUnary(reactor, timer, Invalid("events: must not be empty"));
    return reactor;
  }
  if (request->events_size() > limits.max_events_per_call) {
    FinishUnary(reactor, timer,
                Invalid("events: " + std::to_string(request->events_size()) +
                        " events, more than limits.max_events_per_call (" +
                        std::to_string(limits.max_events_per_call) + ")"));
    return reactor;
  }
  std::vector<recd::v1::records::StoredEvent> events;
  events.reserve(request->events_size());
  if (auto st = core::ConvertEvents(request->events(), 0, engine_->options(), NowUs(), &events);
      !st.ok()) {
    FinishUnary(reactor, timer, ToGrpcStatus(st));
    return reactor;
  }
  auto st = engine_->TrackAsync(
      std::move(events),
      [reactor, response, timer](const absl::Status& s, const core::CommitResult& r) {
        response->set_accepted(r.accepted);
        response->set_duplicates(r.duplicates);
        response->set_last_sequence(r.last_seq);
        FinishUnary(reactor, timer, ToGrpcStatus(s));
      });
  if (!st.ok()) FinishUnary(reactor, timer, ToGrpcStatus(st));
  return reactor;
}

grpc::ServerReadReactor<TrackRequest>* RecommenderService::TrackStream(
    grpc::CallbackServerContext* ctx, TrackResponse* response) {
  auto* r = new TrackStreamReactor(engine_, metrics_, response);
  r->Begin();
  return r;
}

grpc::ServerReadReactor<UpsertItemsRequest>* CatalogService::UpsertItems(
    grpc::CallbackServerContext* ctx, UpsertItemsResponse* response) {
  auto* r = new UpsertReactor(engine_, metrics_, response);
  r->Begin();
  return r;
}

grpc::ServerUnaryReactor* CatalogService::GetItem(grpc::CallbackServerContext* ctx,
                                                  const recd::v1::GetItemRequest* request,
                                                  Item* response) {
  auto* reactor = ctx->DefaultReactor();
  CallTimer timer(metrics_, Method::kGetItem);
  if (auto st = core::ValidateId(request->item_id(), "item_id", engine_->options().limits);
      !st.ok()) {
    FinishUnary(reactor, timer, ToGrpcStatus(st));
    return reactor;
  }
  auto item = engine_->GetItem(request->item_id());
  if (!item.ok()) {
    FinishUnary(reactor, timer, ToGrpcStatus(item.status()));
  } else if (!item->has_value()) {
    FinishUnary(reactor, timer,
                grpc::Status(grpc::StatusCode::NOT_FOUND,
                             "item_id: no item \"" + request->item_id() + "\""));
  } else {
    *response = std::move(**item);
    FinishUnary(reactor, timer, grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerUnaryReactor* CatalogService::DeleteItems(grpc::CallbackServerContext* ctx,
                                                      const recd::v1::DeleteItemsRequest* request,
                                                      recd::v1::DeleteItemsResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  CallTimer timer(metrics_, Method::kDeleteItems);
  const auto& limits = engine_->options().limits;
  if (request->item_ids_size() == 0) {
    FinishUnary(reactor, timer, Invalid("item_ids: must not be empty"));
    return reactor;
  }
  if (request->item_ids_size() > limits.max_items_per_call) {
    FinishUnary(reactor, timer,
                Invalid("item_ids: more than limits.max_items_per_call (" +
                        std::to_string(limits.max_items_per_call) + ")"));
    return reactor;
  }
  for (int i = 0; i < request->item_ids_size(); ++i) {
    auto st = core::ValidateId(request->item_ids(i), "item_ids[" + std::to_string(i) + "]", limits);
    if (!st.ok()) {
      FinishUnary(reactor, timer, ToGrpcStatus(st));
      return reactor;
    }
  }
  std::vector<std::string> ids(request->item_ids().begin(), request->item_ids().end());
  auto st = engine_->DeleteItemsAsync(
      std::move(ids),
      [reactor, response, timer](const absl::Status& s, uint64_t deleted, uint64_t missing) {
        response->set_deleted(deleted);
        response->set_not_found(missing);
        FinishUnary(reactor, timer, ToGrpcStatus(s));
      });
  if (!st.ok()) FinishUnary(reactor, timer, ToGrpcStatus(st));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::LoadModel(grpc::CallbackServerContext* ctx,
                                                  const recd::v1::LoadModelRequest* request,
                                                  recd::v1::LoadModelResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  CallTimer timer(metrics_, Method::kLoadModel);
  if (request->path().empty()) {
    FinishUnary(reactor, timer, Invalid("path: required (a model snapshot directory)"));
    return reactor;
  }
  auto st = engine_->LoadModelAsync(
      request->path(), [reactor, response, timer](absl::StatusOr<core::ModelLoadResult> r) {
        if (!r.ok()) {
          FinishUnary(reactor, timer, ToGrpcStatus(r.status()));
          return;
        }
        response->set_version(r->version);
        response->set_items(r->items);
        response->set_cold_items(r->cold_items);
        response->set_gate_recall(r->gate_recall);
        response->set_seconds(r->seconds);
        response->set_already_loaded(r->already_loaded);
        FinishUnary(reactor, timer, grpc::Status::OK);
      });
  if (!st.ok()) FinishUnary(reactor, timer, ToGrpcStatus(st));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetModel(grpc::CallbackServerContext* ctx,
                                                 const recd::v1::GetModelRequest* request,
                                                 recd::v1::ModelInfo* response) {
  auto* reactor = ctx->DefaultReactor();
  CallTimer timer(metrics_, Method::kGetModel);
  core::EngineStats s = engine_->Stats();
  response->set_version(s.model_version);
  response->set_trained(s.model_trained);
  response->set_vectors(s.vectors);
  response->set_fresh_vectors(s.fresh_vectors);
  FinishUnary(reactor, timer, grpc::Status::OK);
  return reactor;
}

}  // namespace recd::server
