// Advisory file locks compatible with libhdf5's own (BSD flock), with a
// short-poll wait and a writer-intent marker so that readers can let a
// waiting writer in. Generic: nothing here knows what the file holds.
#pragma once

#include <napi.h>

namespace h5n_lock {

void Register(Napi::Env env, Napi::Object exports);

}  // namespace h5n_lock
