// The gRPC front-end: thin callback services over core::Engine. Handlers
// validate, hand work to the engine, and finish from the engine's callback;
// they never wait for disk on a gRPC thread (except GetItem's point read and
// a user-state cache miss, see DESIGN.md "Read path").
#pragma once

#include "core/engine.h"
#include "recd/v1/recd.grpc.pb.h"
#include "server/metrics.h"

namespace recd::server {

class RecommenderService final : public recd::v1::Recommender::CallbackService {
 public:
  RecommenderService(core::Engine* engine, Metrics* metrics) : engine_(engine), metrics_(metrics) {}

  grpc::ServerWriteReactor<recd::v1::RecommendResponse>* Recommend(
      grpc::CallbackServerContext* ctx, const recd::v1::RecommendRequest* request) override;
  grpc::ServerWriteReactor<recd::v1::RecommendResponse>* RelatedItems(
      grpc::CallbackServerContext* ctx, const recd::v1::RelatedItemsRequest* request) override;
  grpc::ServerUnaryReactor* Track(grpc::CallbackServerContext* ctx,
                                  const recd::v1::TrackRequest* request,
                                  recd::v1::TrackResponse* response) override;
  grpc::ServerReadReactor<recd::v1::TrackRequest>* TrackStream(
      grpc::CallbackServerContext* ctx, recd::v1::TrackResponse* response) override;

 private:
  core::Engine* engine_;
  Metrics* metrics_;
};

class CatalogService final : public recd::v1::Catalog::CallbackService {
 public:
  CatalogService(core::Engine* engine, Metrics* metrics) : engine_(engine), metrics_(metrics) {}

  grpc::ServerReadReactor<recd::v1::UpsertItemsRequest>* UpsertItems(
      grpc::CallbackServerContext* ctx, recd::v1::UpsertItemsResponse* response) override;
  grpc::ServerUnaryReactor* GetItem(grpc::CallbackServerContext* ctx,
                                    const recd::v1::GetItemRequest* request,
                                    recd::v1::Item* response) override;
  grpc::ServerUnaryReactor* DeleteItems(grpc::CallbackServerContext* ctx,
                                        const recd::v1::DeleteItemsRequest* request,
                                        recd::v1::DeleteItemsResponse* response) override;

 private:
  core::Engine* engine_;
  Metrics* metrics_;
};

// Model lifecycle. LoadModel finishes from the engine's loader thread.
class AdminService final : public recd::v1::Admin::CallbackService {
 public:
  AdminService(core::Engine* engine, Metrics* metrics) : engine_(engine), metrics_(metrics) {}

  grpc::ServerUnaryReactor* LoadModel(grpc::CallbackServerContext* ctx,
                                      const recd::v1::LoadModelRequest* request,
                                      recd::v1::LoadModelResponse* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* ctx,
                                     const recd::v1::GetModelRequest* request,
                                     recd::v1::ModelInfo* response) override;

 private:
  core::Engine* engine_;
  Metrics* metrics_;
};

}  // namespace recd::server
