// SPDX-License-Identifier: Apache-2.0

// The two streaming RPCs of CaseService: UploadAttachment (client stream) and
// DownloadAttachment (server stream). Attachments are ciphertext streams made
// on the device (protocol.md section 6); the server stores them in parts as
// they arrive and hashes them (BLAKE2b-256) as it goes, so neither direction
// holds more than about a megabyte of any stream in memory, whatever its size.
// Rules live in server/domain/cases.cc.
//
// Ownership: each reactor deletes itself when gRPC is done with it; the store
// and Cases must outlive the server.
// Thread-safety: one read or write outstanding per reactor; store callbacks
// run on the store's completion thread and only continue the stream from
// there.
// Failure modes: UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND as for the case;
// INVALID_ARGUMENT for a first message without metadata, a part too large or
// past metadata.total_size, an upload shorter than any attachment stream; an
// upload that fails leaves nothing behind.
#ifndef TRYGG_SERVER_API_ATTACHMENT_STREAMS_H_
#define TRYGG_SERVER_API_ATTACHMENT_STREAMS_H_

#include "server/api/authenticator.h"
#include "server/domain/cases.h"
#include "server/domain/store.h"
#include "trygg/v1/case.grpc.pb.h"

namespace trygg::api {

grpc::ServerReadReactor<trygg::v1::UploadAttachmentRequest>* StartUpload(grpc::CallbackServerContext* context,
                                                                         domain::Store& store,
                                                                         const domain::Cases& cases,
                                                                         const Authenticator& auth,
                                                                         trygg::v1::UploadAttachmentResponse* response);

grpc::ServerWriteReactor<trygg::v1::DownloadAttachmentResponse>* StartDownload(
    grpc::CallbackServerContext* context, domain::Store& store, const domain::Cases& cases,
    const Authenticator& auth, const trygg::v1::DownloadAttachmentRequest& request);

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_ATTACHMENT_STREAMS_H_
