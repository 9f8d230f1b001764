// SPDX-License-Identifier: Apache-2.0

#include "server/domain/store.h"

#include <future>
#include <utility>

namespace trygg::domain {

absl::Status Store::WriteAndWait(WriteFn write) {
  std::promise<absl::Status> result;
  std::future<absl::Status> future = result.get_future();
  Write(std::move(write), [&result](absl::Status status) { result.set_value(std::move(status)); });
  return future.get();
}

}  // namespace trygg::domain
