// Promise-returning (thread-pool) counterparts of the binding's file operations.
#pragma once

#include <napi.h>

namespace h5n_async {

void Register(Napi::Env env, Napi::Object exports);

}  // namespace h5n_async
