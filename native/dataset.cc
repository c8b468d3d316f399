// Numeric datasets, read as float64 (any integer or float type, layout and
// filter libhdf5 reads) and written as contiguous little-endian float64
// (optionally chunked with h5py's LZF filter).
#include "binding.h"
#include "errors.h"
#include "file.h"
#include "worker.h"

#include <limits>

namespace h5n {

namespace {

constexpr H5Z_filter_t kLzf = 32000;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

struct Shape {
  std::vector<hsize_t> dims;
  size_t elements = 1;
};

// The contiguous data a read takes (the bytes the shape and type need; like
// libhdf5, not the stored size) must lie inside the file: a damaged address
// makes libhdf5 read gigabytes of nothing, for minutes.
void checkStorageInFile(hid_t dset, const std::string& path, hsize_t needed) {
  haddr_t offset = H5Dget_offset(dset);
  if (offset == HADDR_UNDEF) {
    H5Eclear2(H5E_DEFAULT);
    return;  // chunked, compact, or not allocated
  }
  Hid file = own(H5Iget_file_id(dset), "cannot read the file of " + quoted(path));
  hsize_t fileSize = 0;
  check(H5Fget_filesize(file, &fileSize), "cannot read the size of the file of " + quoted(path));
  if (offset > fileSize || needed > fileSize - offset) {
    fail("ECORRUPT", "dataset " + quoted(path) + " is damaged: its " + std::to_string(needed) + " bytes at address " +
                         std::to_string(offset) + " lie past the end of the file (" + std::to_string(fileSize) + " bytes)");
  }
}

// The shape of a numeric dataset of at most `maxElements` elements.
Shape numericShape(hid_t dset, const std::string& path, size_t maxElements) {
  Hid type = own(H5Dget_type(dset), "cannot read the type of " + quoted(path));
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
    fail("EDTYPE", "dataset " + quoted(path) + " holds " + className(cls) + " data, not numbers");
  }
  size_t typeSize = H5Tget_size(type);
  if (typeSize == 0 || typeSize > 16) {  // no number is wider; a damaged size makes conversion crawl
    fail("ECORRUPT", "dataset " + quoted(path) + " is damaged: it declares numbers of " + std::to_string(typeSize) + " bytes");
  }
  Hid space = own(H5Dget_space(dset), "cannot read the shape of " + quoted(path));
  Shape shape;
  if (H5Sget_simple_extent_type(space) == H5S_NULL) {
    shape.elements = 0;
    shape.dims = {0};
    return shape;
  }
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) throwStack("cannot read the shape of " + quoted(path));
  shape.dims.resize(static_cast<size_t>(rank));
  std::vector<hsize_t> maxDims(static_cast<size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(space, shape.dims.data(), maxDims.data()), "cannot read the shape of " + quoted(path));
  for (size_t i = 0; i < shape.dims.size(); ++i) {
    // Beyond the declared maximum is damage (libhdf5 would read missing chunks of fill values for minutes).
    if (maxDims[i] != H5S_UNLIMITED && shape.dims[i] > maxDims[i]) {
      fail("ECORRUPT", "dataset " + quoted(path) + " is damaged: its dimension " + std::to_string(i) + " is " +
                           std::to_string(shape.dims[i]) + ", more than its maximum " + std::to_string(maxDims[i]));
    }
  }
  for (hsize_t d : shape.dims) {
    if (d != 0 && shape.elements > maxElements / d) {
      fail("ETOOBIG", "dataset " + quoted(path) + " declares more than " + std::to_string(maxElements) + " elements");
    }
    shape.elements *= static_cast<size_t>(d);
  }
  if (shape.elements > maxElements) {
    fail("ETOOBIG", "dataset " + quoted(path) + " declares more than " + std::to_string(maxElements) + " elements");
  }
  if (shape.elements > 0) {
    hsize_t elements = static_cast<hsize_t>(shape.elements);
    hsize_t needed = elements > std::numeric_limits<hsize_t>::max() / typeSize ? std::numeric_limits<hsize_t>::max() : elements * typeSize;
    checkStorageInFile(dset, path, needed);
  }
  return shape;
}

Hid openDataset(hid_t file, const std::string& path) {
  return own(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "cannot open dataset " + quoted(path));
}

void readInto(hid_t dset, const std::string& path, double* dst, const Shape& shape) {
  if (shape.elements == 0) return;
  check(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst), "cannot read dataset " + quoted(path));
}

// datasetShape(file, path) -> dims
Napi::Value DatasetShape(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  Shape shape = guard(info.Env(), handle->path, [&] {
    Hid dset = openDataset(handle->fid, path);
    return numericShape(dset, path, static_cast<size_t>(-1));
  });
  return shapeValue(info.Env(), shape.dims);
}

Napi::Value dataAndShape(Napi::Env env, Napi::Value data, const std::vector<hsize_t>& dims) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, data);
  out.Set(1u, shapeValue(env, dims));
  return out;
}

// datasetRead(file, path, maxElements) -> [Float64Array, dims]: H5Dread straight into the array
Napi::Value DatasetRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  size_t maxElements = sizeArg(info, 2, "maxElements");
  Napi::Float64Array data;
  Shape shape = guard(env, handle->path, [&] {
    Hid dset = openDataset(handle->fid, path);
    Shape s = numericShape(dset, path, maxElements);
    data = Napi::Float64Array::New(env, s.elements);
    readInto(dset, path, data.Data(), s);
    return s;
  });
  return dataAndShape(env, data, shape.dims);
}

struct Read {
  std::unique_ptr<double[]> data;
  Shape shape;
};

// datasetReadManyAsync(file, paths, maxElements) -> Promise<[Float64Array, dims][]>: one trip to
// the pool; each array is the memory libhdf5 read into, handed over as an external buffer.
Napi::Value DatasetReadManyAsync(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::vector<std::string> paths = stringsArg(info, 1, "paths");
  size_t maxElements = sizeArg(info, 2, "maxElements");
  return Worker<std::vector<Read>>::Queue(
      info.Env(), handle, info[0], handle->path,
      [=] {
        std::vector<Read> reads;
        reads.reserve(paths.size());
        for (const std::string& p : paths) {
          Hid dset = openDataset(handle->fid, p);
          Shape shape = numericShape(dset, p, maxElements);
          reads.push_back(Read{std::unique_ptr<double[]>(new double[shape.elements > 0 ? shape.elements : 1]), shape});
          readInto(dset, p, reads.back().data.get(), shape);
        }
        return reads;
      },
      [](Napi::Env env, std::vector<Read>& reads) -> Napi::Value {
        Napi::Array out = Napi::Array::New(env, reads.size());
        for (uint32_t i = 0; i < reads.size(); ++i) {
          size_t n = reads[i].shape.elements;
          Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, reads[i].data.get(), n * sizeof(double),
                                                            [](Napi::Env, void* p) { delete[] static_cast<double*>(p); });
          reads[i].data.release();  // owned by the buffer now
          out.Set(i, dataAndShape(env, Napi::Float64Array::New(env, n, buffer, 0), reads[i].shape.dims));
        }
        return out;
      });
}

// datasetCreate(file, path, data, dims[, chunks]): contiguous little-endian float64, or, with
// chunk dims, chunked and compressed with h5py's LZF filter.
Napi::Value DatasetCreate(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  Napi::Float64Array data = float64Arg(info, 2, "data");
  std::vector<hsize_t> dims = shapeArg(info, 3, data.ElementLength());
  std::vector<hsize_t> chunks;
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    if (!info[4].IsArray() || info[4].As<Napi::Array>().Length() != dims.size()) {
      throw Napi::TypeError::New(info.Env(), "expected chunk dims of the data's rank");
    }
    Napi::Array array = info[4].As<Napi::Array>();
    size_t product = 1;
    for (uint32_t k = 0; k < array.Length(); ++k) {
      Napi::Value v = array.Get(k);
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
      if (!(d >= 1) || d > 1e9 || d != static_cast<double>(static_cast<uint64_t>(d))) {
        throw Napi::RangeError::New(info.Env(), "chunk dims are positive integers");
      }
      chunks.push_back(static_cast<hsize_t>(d));
      product *= static_cast<size_t>(d);
    }
    if (product > (size_t(1) << 29) / sizeof(double)) throw Napi::RangeError::New(info.Env(), "a chunk holds at most 512 MiB");
  }
  guard(info.Env(), handle->path, [&] {
    Hid space = own(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "cannot make a dataspace for " + quoted(path));
    Hid dcpl = own(H5Pcreate(H5P_DATASET_CREATE), "cannot make a dataset creation property list");
    if (!chunks.empty()) {
      check(H5Pset_chunk(dcpl, static_cast<int>(chunks.size()), chunks.data()), "cannot chunk " + quoted(path));
      check(H5Pset_filter(dcpl, kLzf, H5Z_FLAG_OPTIONAL, 0, nullptr), "cannot compress " + quoted(path));
    }
    Hid dset = own(H5Dcreate2(handle->fid, path.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                   "cannot create dataset " + quoted(path));
    if (data.ElementLength() > 0) {
      check(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.Data()), "cannot write dataset " + quoted(path));
    }
  });
  return info.Env().Undefined();
}

// datasetWrite(file, path, data, dims): overwrites the whole dataset; dims must equal its shape
Napi::Value DatasetWrite(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  Napi::Float64Array data = float64Arg(info, 2, "data");
  std::vector<hsize_t> dims = shapeArg(info, 3, data.ElementLength());
  guard(info.Env(), handle->path, [&] {
    Hid dset = openDataset(handle->fid, path);
    Shape shape = numericShape(dset, path, static_cast<size_t>(-1));
    if (shape.dims != dims) fail("ESHAPE", "dataset " + quoted(path) + " has another shape than the data to write");
    if (shape.elements > 0) {
      check(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.Data()), "cannot write dataset " + quoted(path));
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void RegisterDataset(Napi::Env env, Napi::Object exports) {
  exports.Set("datasetShape", Napi::Function::New(env, DatasetShape, "datasetShape"));
  exports.Set("datasetRead", Napi::Function::New(env, DatasetRead, "datasetRead"));
  exports.Set("datasetReadManyAsync", Napi::Function::New(env, DatasetReadManyAsync, "datasetReadManyAsync"));
  exports.Set("datasetCreate", Napi::Function::New(env, DatasetCreate, "datasetCreate"));
  exports.Set("datasetWrite", Napi::Function::New(env, DatasetWrite, "datasetWrite"));
}

}  // namespace h5n
